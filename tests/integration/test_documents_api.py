"""The knowledge base over HTTP: upload several files at once, statuses and errors, search, reindex, delete,
and roles; over real HTTP against the embedded PostgreSQL and the local embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from adapters.accounts_db import Accounts
from taina.auth import Auth, AuthSettings, Tokens, hash_password
from taina.backend import Backend
from taina.http import deps
from taina.http.auth import router as auth_router
from taina.http.documents import router as documents_router
from taina.http.errors import answer_errors_as_json
from taina.settings import Settings
from tests.support.servers import serving_here

KEY = "d" * 40
PASSWORD = "una-clave-larga-2026"
HOURS = b"""# Horario del centro

El Centro Medico Tainos abre de lunes a viernes de 7:00 a. m. a 7:00 p. m. y los sabados de 8:00 a. m. a 12:00 m.
Los domingos y dias feriados el centro permanece cerrado.
"""


@pytest.fixture
async def api(
    backend: Backend,
) -> AsyncIterator[tuple[httpx.AsyncClient, Accounts, dict[str, dict[str, str]]]]:
    settings = AuthSettings(secret=KEY)
    accounts = backend.accounts
    auth = Auth(accounts, Tokens(KEY, settings), settings)
    app = FastAPI()
    answer_errors_as_json(app)
    app.state.auth = auth
    app.state.library = backend.library
    app.dependency_overrides[deps.settings] = lambda: Settings.from_env({"TAINA_INGEST_MAX_BYTES": "5000"})
    app.include_router(auth_router)
    app.include_router(documents_router)
    headers = {}
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        for role in ("editor", "viewer"):
            await accounts.create_user(f"{role}@clinica.do", hash_password(PASSWORD), role)  # type: ignore[arg-type]
            login = await client.post(
                "/api/auth/login", json={"email": f"{role}@clinica.do", "password": PASSWORD}
            )
            headers[role] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield client, accounts, headers


async def test_upload_search_reindex_and_delete(
    api: tuple[httpx.AsyncClient, Accounts, dict[str, dict[str, str]]],
) -> None:
    client, accounts, headers = api
    files = [
        ("files", ("horario.md", HOURS, "text/markdown")),
        ("files", ("../../etc/passwd.md", b"# x\nroot", "text/markdown")),
        ("files", ("programa.exe", b"MZ\x90\x00", "application/octet-stream")),
        ("files", ("grande.md", b"# Grande\n" + b"palabra " * 2_000, "text/markdown")),
    ]
    assert (await client.post("/api/documents", files=files, headers=headers["viewer"])).status_code == 403
    answer = await client.post("/api/documents", files=files, headers=headers["editor"])
    assert answer.status_code == 200, answer.text
    results = {r["name"]: r for r in answer.json()["results"]}
    assert results["horario.md"]["status"] == "ready" and results["horario.md"]["chunks"] >= 1
    assert results["../../etc/passwd.md"]["status"] == "refused"
    assert results["programa.exe"]["status"] == "refused"
    assert results["grande.md"]["status"] == "refused" and "MB" in results["grande.md"]["error"]

    listed = (await client.get("/api/documents", headers=headers["viewer"])).json()["documents"]
    assert [d["name"] for d in listed] == ["horario.md"]
    document_id = listed[0]["id"]
    found = (
        await client.get("/api/search", params={"q": "¿Abren los domingos?"}, headers=headers["viewer"])
    ).json()
    assert found["passages"][0]["document_id"] == document_id

    again = await client.post(f"/api/documents/{document_id}/reindex", headers=headers["editor"])
    assert again.status_code == 200 and again.json()["status"] == "ready"
    assert (
        await client.post(f"/api/documents/{document_id}/reindex", headers=headers["viewer"])
    ).status_code == 403

    assert (
        await client.delete(f"/api/documents/{document_id}", headers=headers["viewer"])
    ).status_code == 403
    assert (
        await client.delete(f"/api/documents/{document_id}", headers=headers["editor"])
    ).status_code == 204
    assert (
        await client.delete(f"/api/documents/{document_id}", headers=headers["editor"])
    ).status_code == 404
    assert (await client.delete("/api/documents/..%2F..%2Fetc", headers=headers["editor"])).status_code in (
        400,
        404,
    )
    assert (await client.get("/api/documents", headers=headers["viewer"])).json()["documents"] == []
    actions = [e["action"] for e in await accounts.audit_entries()]
    assert "deleted" in actions and "reindexed" in actions and "uploaded" in actions


async def test_bad_uploads_get_a_clear_4xx(
    api: tuple[httpx.AsyncClient, Accounts, dict[str, dict[str, str]]],
) -> None:
    client, _accounts, headers = api
    editor = headers["editor"]
    as_json = await client.post("/api/documents", json={"files": []}, headers=editor)
    assert as_json.status_code == 415 and "multipart/form-data" in as_json.json()["error"]
    wrong_field = await client.post(
        "/api/documents", files=[("file", ("a.md", b"# a", "text/markdown"))], headers=editor
    )
    assert wrong_field.status_code == 400 and "files" in wrong_field.json()["error"]
    huge = await client.post(  # over 50 files' worth of the 5,000-byte limit: refused before it is read
        "/api/documents",
        content=b"x" * (50 * 5_000 + 1),
        headers={**editor, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert huge.status_code == 413
    assert (await client.get("/api/search", params={"q": ""}, headers=headers["viewer"])).status_code == 400
    assert (await client.get("/api/documents")).status_code == 401
