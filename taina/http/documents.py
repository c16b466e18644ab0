"""The knowledge base over HTTP, for the dashboard.

GET    /api/documents                 viewer   every document: status (ready, failed), chunks, error, size
POST   /api/documents                 editor   multipart, one or more "files"; one result per file
DELETE /api/documents/{id}            editor   the document, its passages and its original
POST   /api/documents/{id}/reindex    editor   extract, chunk and embed again from the stored original
GET    /api/search?q=&k=              viewer   the passages the assistant would answer from

A file that cannot be taken (an unsafe or unknown name, over the size limit, unreadable) comes back as
"refused" or "failed" with the reason, and changes nothing already stored.

An upload is read as it arrives: the request as a whole is held to its limit by taina/http/security.py (413 as
soon as it passes it), each file keeps at most TAINA_INGEST_MAX_BYTES + 1 bytes (the rest is dropped, and the
file refused), and a field that is not a file may have at most MAX_FIELD_BYTES.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from taina.http.deps import AccountsDep, Editor, LibraryDep, SettingsDep, Viewer
from taina.http.errors import ApiError

DocumentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="document id")]
MAX_FILES = 50
MAX_FIELD_BYTES = 4_096  # a field that is not a file (none is used; kept small so none is held in memory)


class UploadParser(MultiPartParser):
    """Starlette's multipart parser, keeping at most ``max_file_bytes + 1`` bytes of each file."""

    def __init__(self, request: Request, max_file_bytes: int) -> None:
        super().__init__(
            request.headers,
            request.stream(),
            max_files=MAX_FILES,
            max_fields=MAX_FILES,
            max_part_size=MAX_FIELD_BYTES,
        )
        self._keep = max_file_bytes + 1
        self._kept: dict[int, int] = {}  # bytes kept of each file part so far

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current_part
        if part.file is None:
            super().on_part_data(data, start, end)
            return
        kept = self._kept.get(id(part), 0)
        room = max(0, self._keep - kept)
        if room:
            take = min(room, end - start)
            self._kept[id(part)] = kept + take
            super().on_part_data(data, start, start + take)


async def read_upload(request: Request, max_file_bytes: int) -> FormData:
    try:
        return await UploadParser(request, max_file_bytes).parse()
    except MultiPartException as exc:
        raise ApiError(400, f"the upload is not valid: {exc.message}") from None


router = APIRouter(tags=["documents"])


@router.get("/api/documents")
async def documents(_caller: Viewer, library: LibraryDep) -> dict[str, Any]:
    rows = await library.store.documents()
    return {
        "documents": [
            {
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "status": r.status,
                "error": r.error,
                "chunks": r.chunk_count,
                "size_bytes": r.size_bytes,
                "pages": r.pages,
                "updated_at": r.updated_at.isoformat(),
            }
            for r in rows
        ]
    }


@router.post("/api/documents")
async def upload(
    request: Request, caller: Editor, library: LibraryDep, accounts: AccountsDep, settings: SettingsDep
) -> dict[str, Any]:
    max_bytes = settings.ingest.max_bytes
    if request.headers.get("content-type", "").split(";")[0].strip() != "multipart/form-data":
        raise ApiError(415, 'send the files as multipart/form-data, in fields named "files"')
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILES * max_bytes:
        raise ApiError(413, f"the upload is over {MAX_FILES * max_bytes // 1_000_000} MB")
    form = await read_upload(request, max_bytes)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not files:
        raise ApiError(400, 'no files: send them in fields named "files"')
    results: list[dict[str, object]] = []
    try:
        for upload in files:
            name = upload.filename or ""
            data = await upload.read(max_bytes + 1)
            if len(data) > max_bytes:
                results.append(
                    {"name": name, "status": "refused", "error": f"over {max_bytes // 1_000_000} MB"}
                )
                continue
            result = await library.ingest(name, data)
            results.append(result.as_json())
            await accounts.audit("uploaded", caller.user_id, name, {"status": result.status, "id": result.id})
    finally:
        await form.close()
    return {"results": results}


@router.delete("/api/documents/{document_id}", status_code=204, response_class=Response)
async def delete(
    document_id: DocumentId, caller: Editor, library: LibraryDep, accounts: AccountsDep
) -> Response:
    if not await library.delete(document_id):
        raise ApiError(404, f"no document {document_id}")
    await accounts.audit("deleted", caller.user_id, document_id)
    return Response(status_code=204)


@router.post("/api/documents/{document_id}/reindex")
async def reindex(
    document_id: DocumentId, caller: Editor, library: LibraryDep, accounts: AccountsDep
) -> dict[str, Any]:
    result = await library.reindex(document_id)
    if result is None:
        raise ApiError(404, f"no stored document {document_id}")
    await accounts.audit("reindexed", caller.user_id, document_id, {"status": result.status})
    return result.as_json()


@router.get("/api/search")
async def search(
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    *,
    _caller: Viewer,
    library: LibraryDep,
) -> dict[str, Any]:
    passages = await library.search(q, k)
    return {
        "passages": [
            {
                "document_id": p.document_id,
                "title": p.title,
                "heading": p.heading,
                "text": p.text,
                "score": p.score,
                "similarity": p.similarity,
            }
            for p in passages
        ]
    }
