"""Documents in: check, extract, split into passages, embed, keep the original, replace the passages in one transaction.

Whatever goes wrong with one document is recorded on it (or refused before anything is stored), the rest of a
batch goes on, and a document that was already ingested keeps its passages until a good new version replaces
them.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar, Literal

import structlog
from pydantic import model_validator

from adapters.lexicon import expanded
from engine.options import Section, knob
from engine.ports.knowledge import Embedder, NewDocument, Passage, PassageStore, new_document_id
from engine.ports.storage import ObjectStore
from taina.knowledge.extract import ExtractionError, check_name, extract, media_type_of
from taina.knowledge.passages import split_passages


class IngestSettings(Section):
    prefix: ClassVar[str] = "TAINA_INGEST"
    max_bytes: int = knob(50_000_000, "Largest document accepted, in bytes.", ge=1_000, le=2_000_000_000)
    max_unpacked_bytes: int = knob(
        200_000_000, "Most a DOCX may unpack to (zip bombs are refused), in bytes."
    )
    chunk_words: int = knob(90, "Target length of a passage, in words.", ge=20, le=400)
    overlap_sentences: int = knob(1, "Sentences repeated at the start of the next passage.", ge=0, le=5)
    sample_kb: bool = knob(
        True, "Ingest the sample medical centre on first start when there are no documents."
    )

    @model_validator(mode="after")
    def _unpacked_at_least_packed(self) -> IngestSettings:
        if self.max_unpacked_bytes < self.max_bytes:
            raise ValueError("TAINA_INGEST_MAX_UNPACKED_BYTES must be >= MAX_BYTES")
        return self


log = structlog.get_logger("taina.ingest")

Status = Literal["ready", "unchanged", "duplicate", "failed", "refused"]


@dataclass(frozen=True)
class IngestResult:
    name: str
    status: Status
    id: str | None = None
    title: str | None = None
    passages: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """As the API and the CLI say it: the passages are "chunks" there."""
        fields = asdict(self)
        return {("chunks" if name == "passages" else name): value for name, value in fields.items()}


class Library:
    """The organisation's documents: ingestion and deletion for operators, search for the conversation (it is
    the KnowledgeBase the dialogue searches). Documents and passages are in ``store``, originals in ``objects``."""

    def __init__(
        self, store: PassageStore, objects: ObjectStore, embedder: Embedder, settings: IngestSettings
    ) -> None:
        self.store = store
        self.objects = objects
        self.embedder = embedder
        self._settings = settings

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        query = query.strip()
        if not query:
            return []
        query = expanded(query)  # "guasap" also finds WhatsApp
        vector = (await self.embedder.embed_queries([query[:1_000]]))[0]
        return await self.store.search(query, vector, self.embedder.name, k)

    async def ingest_path(self, path: Path) -> IngestResult:
        name = path.name
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except OSError as exc:
            return IngestResult(name, "refused", error=f"cannot read {path}: {exc.strerror}")
        if size > self._settings.max_bytes:
            return IngestResult(
                name,
                "refused",
                error=f"the file is {size // 1_000_000} MB, over the {self._settings.max_bytes // 1_000_000} MB limit",
            )
        return await self.ingest(name, await asyncio.to_thread(path.read_bytes))

    async def reindex(self, document_id: str) -> IngestResult | None:
        """Extract, split and embed a stored document again from its original (None if there is none)."""
        row = await self.store.document(document_id)
        if row is None or not row.object_key:
            return None
        return await self.ingest(row.name, await self.objects.get(row.object_key), force=True)

    async def ingest(self, name: str, data: bytes, force: bool = False) -> IngestResult:
        try:
            check_name(name)
            media_type = media_type_of(name)
        except ExtractionError as exc:
            return IngestResult(name, "refused", error=str(exc))
        if len(data) > self._settings.max_bytes:
            limit = self._settings.max_bytes // 1_000_000
            return IngestResult(name, "refused", error=f"the file is over the {limit} MB limit")

        sha = hashlib.sha256(data).hexdigest()
        existing = await self.store.by_name(name)
        if (
            not force
            and existing is not None
            and existing.status == "ready"
            and existing.content_sha256 == sha
        ):
            return IngestResult(name, "unchanged", existing.id, existing.title, existing.chunk_count)
        twin = await self.store.by_content(sha)
        if twin is not None and twin.name != name:
            return IngestResult(
                name, "duplicate", twin.id, twin.title, twin.chunk_count, f"same content as {twin.name}"
            )

        try:
            extracted = await asyncio.to_thread(extract, name, data, self._settings.max_unpacked_bytes)
        except ExtractionError as exc:
            return await self._failed(name, media_type, len(data), str(exc))
        passages = split_passages(
            extracted.title, extracted.sections, self._settings.chunk_words, self._settings.overlap_sentences
        )
        vectors = await self.embedder.embed_passages([f"{p.heading}. {p.text}" for p in passages])

        document_id = existing.id if existing is not None else new_document_id()
        key = f"documents/{document_id}/{sha[:16]}{PurePosixPath(name).suffix.lower()}"
        await self.objects.put(key, data, media_type)
        document = NewDocument(name, extracted.title, media_type, sha, len(data), key, extracted.pages)
        try:
            document_id = await self.store.replace(
                document_id, document, [(p.heading, p.text) for p in passages], vectors, self.embedder.name
            )
        except BaseException:
            if existing is None or existing.object_key != key:
                await self.objects.delete(key)  # the database never pointed at it
            raise
        if existing is not None and existing.object_key and existing.object_key != key:
            await self.objects.delete(existing.object_key)
        log.info(
            "document.ingested",
            id=document_id,
            name=name,
            chunks=len(passages),
            replaced=existing is not None,
        )
        return IngestResult(name, "ready", document_id, extracted.title, len(passages))

    async def delete(self, document_id: str) -> bool:
        row = await self.store.delete(document_id)
        if row is None:
            return False
        if row.object_key:
            await self.objects.delete(row.object_key)
        log.info("document.deleted", id=document_id, name=row.name)
        return True

    async def _failed(self, name: str, media_type: str, size: int, error: str) -> IngestResult:
        document_id = await self.store.record_failure(name, media_type, size, error)
        log.warning("document.failed", name=name, error=error)
        return IngestResult(name, "failed", document_id or None, error=error)
