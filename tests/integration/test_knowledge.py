"""The knowledge base on real parts: embedded PostgreSQL + pgvector, the e5 model, a filesystem or S3 store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from adapters.file_store import FileStore
from adapters.passage_store import PostgresPassageStore, RetrievalSettings
from adapters.postgres import Database, DatabaseError, DatabaseSettings, migrations
from engine.ports.storage import ObjectStore, StorageError
from taina.knowledge.ingest import IngestSettings, Library
from tests.support.servers import S3Server

SAMPLE = Path(__file__).resolve().parents[2] / "taina" / "sample_kb"
QUESTIONS = Path(__file__).resolve().parents[1] / "support" / "data" / "kb_questions.tsv"


async def open_service(url: str, objects: ObjectStore, e5: Any, **ingest: Any) -> tuple[Database, Library]:
    database = await Database.open(DatabaseSettings(url=url), Path("/nonexistent"))
    service = Library(
        PostgresPassageStore(database, RetrievalSettings()), objects, e5, IngestSettings(**ingest)
    )
    return database, service


@pytest.fixture
async def kb(database_url: str, tmp_path: Path, e5: Any) -> AsyncIterator[Library]:
    database, service = await open_service(database_url, FileStore(tmp_path / "objects"), e5)
    yield service
    await database.aclose()


async def test_migrations_run_once_even_with_two_engines_starting_together(database_url: str) -> None:
    settings = DatabaseSettings(url=database_url)
    first, second = await asyncio.gather(
        Database.open(settings, Path("/x")), Database.open(settings, Path("/x"))
    )
    third = await Database.open(settings, Path("/x"))  # and again, later
    rows = await third.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == [version for version, _name, _sql in migrations()]
    for database in (first, second, third):
        await database.aclose()


async def test_the_sample_centre_answers_spoken_questions(kb: Library) -> None:
    results = [await kb.ingest_path(path) for path in sorted(SAMPLE.iterdir())]
    assert len(results) >= 8 and all(r.status == "ready" for r in results), results
    assert {path.suffix for path in SAMPLE.iterdir()} >= {".md", ".html", ".pdf", ".docx"}
    names = {d.id: d.name for d in await kb.store.documents()}
    rows = [
        line.rstrip("\n").split("\t")
        for line in QUESTIONS.read_text().splitlines()
        if line and line[0] != "#"
    ]
    assert len(rows) >= 40
    misses = []
    for question, expected in rows:
        top = [names[p.document_id] for p in await kb.search(question, k=3)]
        if expected not in top:
            misses.append((question, expected, top))
    assert len(misses) <= len(rows) * 0.10, misses


class MeaningBlind:
    """An embedder that puts every passage at cosine 0.85 of every question, but the one with "envejecientes"
    at 0.80: vector search then puts forward only the others, as a model that misses the word would."""

    name = "meaning-blind"
    dimensions = 384

    async def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors

    async def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            near = 0.80 if "envejecientes" in text else 0.85
            vectors[i, 0], vectors[i, 1] = near, np.sqrt(1 - near**2)
        return vectors


async def test_a_rare_word_of_the_question_brings_its_passage_ahead_of_common_ones(
    database_url: str, tmp_path: Path
) -> None:
    """Only full-text search finds the passage that holds the question's one rare word (vector search puts
    forward five others); ranked by fused rank it fell behind every passage both searches put forward."""
    database = await Database.open(DatabaseSettings(url=database_url), Path("/nonexistent"))
    store = PostgresPassageStore(database, RetrievalSettings(candidates=5))
    kb = Library(store, FileStore(tmp_path / "objects"), MeaningBlind(), IngestSettings())
    specialties = (
        "cardiología", "pediatría", "dermatología", "ginecología", "urología", "neurología", "ortopedia",
        "oftalmología", "endocrinología", "psicología", "gastroenterología", "medicina interna",
    )  # fmt: skip
    sections = [
        f"## {name.capitalize()}\n\nLa consulta de {name} se da de lunes a viernes." for name in specialties
    ]
    sections.append("## Pacientes\n\nEl centro recibe a niños, adultos y envejecientes.")
    try:
        assert (
            await kb.ingest("centro.md", ("# Centro\n\n" + "\n\n".join(sections)).encode())
        ).passages == 13
        found = await kb.search("¿dan consulta a los envejecientes?", k=3)
        assert "envejecientes" in found[0].text, [p.text for p in found]
        assert found[0].similarity is None  # vector search did not put it forward: only its rare word did
        assert all(p.similarity is not None for p in found[1:])
    finally:
        await database.aclose()


def zip_bomb_docx(unpacked_mb: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * 1_000_000
            for _ in range(unpacked_mb):
                member.write(block)
    return buffer.getvalue()


def password_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt(user_password="secreto", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_bad_documents_get_clear_errors_and_nothing_ingested_changes(
    kb: Library, tmp_path: Path
) -> None:
    good = await kb.ingest("horario.md", b"# Horario\n\nAbrimos de lunes a viernes de 8:00 a 17:00.\n")
    assert good.status == "ready"
    before = await kb.store.documents()
    chunk_ids = await kb.store.db.fetch("SELECT id, text FROM chunks ORDER BY id")

    huge = tmp_path / "enorme.pdf"
    with huge.open("wb") as f:  # a 200 MB file, sparse on disk
        f.truncate(200_000_000)
    cases = {
        "foto.png": (b"\x89PNG\r\n", "refused", "unsupported type"),
        "vacio.md": (b"", "failed", "empty"),
        "roto.pdf": (b"%PDF-1.4\n1 0 obj <<>> garbage", "failed", "damaged"),
        "clave.pdf": (password_pdf(), "failed", "password-protected"),
        "bomba.docx": (zip_bomb_docx(300), "failed", "unpacks to"),
        "../../etc/passwd.md": (b"# x\n\ny", "refused", "plain file name"),
        "mal\x07nombre.md": (b"# x\n\ny", "refused", "control characters"),
    }
    results = {name: await kb.ingest(name, data) for name, (data, _s, _e) in cases.items()}
    results["enorme.pdf"] = await kb.ingest_path(huge)
    for name, (_data, status, message) in cases.items():
        assert results[name].status == status, results[name]
        assert message in (results[name].error or ""), results[name]
    assert results["enorme.pdf"].status == "refused" and "MB limit" in (results["enorme.pdf"].error or "")

    after = {d.name: d for d in await kb.store.documents()}
    assert after["horario.md"] == before[0]
    assert await kb.store.db.fetch("SELECT id, text FROM chunks ORDER BY id") == chunk_ids
    failed = {name for name, d in after.items() if d.status == "failed"}
    assert failed == {"vacio.md", "roto.pdf", "clave.pdf", "bomba.docx"}
    assert all(after[name].error for name in failed)
    stored = [p.name for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert len(stored) == 1  # only the good document's original


async def assert_term_counts_match(kb: Library) -> None:
    """term_stats, kept up to date by every write, equals a fresh count over the whole table."""
    kept = await kb.store.db.fetch(
        "SELECT lexeme, passages FROM term_stats WHERE passages > 0 ORDER BY lexeme"
    )
    fresh = await kb.store.db.fetch("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM chunks') ORDER BY word")
    assert [tuple(r) for r in kept] == [tuple(r) for r in fresh]


async def test_reingest_replaces_and_delete_removes(kb: Library, tmp_path: Path) -> None:
    first = await kb.ingest("precios.md", b"# Precios\n\nLa consulta general cuesta RD$1,000.\n")
    again = await kb.ingest("precios.md", b"# Precios\n\nLa consulta general cuesta RD$1,000.\n")
    assert again.status == "unchanged" and again.id == first.id
    twin = await kb.ingest("copia.md", b"# Precios\n\nLa consulta general cuesta RD$1,000.\n")
    assert twin.status == "duplicate" and twin.id == first.id

    await assert_term_counts_match(kb)
    second = await kb.ingest("precios.md", b"# Precios\n\nDesde enero la consulta general cuesta RD$1,500.\n")
    await assert_term_counts_match(kb)
    assert second.status == "ready" and second.id == first.id
    texts = [p.text for p in await kb.search("precio de la consulta general", k=5)]
    assert any("RD$1,500" in t for t in texts) and not any("RD$1,000" in t for t in texts)
    objects = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1 and b"RD$1,500" in objects[0].read_bytes()

    broken = await kb.ingest("precios.md", b"")
    assert broken.status == "failed"
    document = await kb.store.by_name("precios.md")
    assert document is not None and document.status == "ready" and document.chunk_count >= 1

    assert await kb.delete(first.id or "")
    await assert_term_counts_match(kb)
    assert await kb.store.document(first.id or "") is None
    assert await kb.store.db.fetch("SELECT 1 FROM chunks") == []
    assert not [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert not await kb.delete(first.id or "")


async def table_contents(kb: Library) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the knowledge tables, in a fixed order: what a query must leave as it found it."""
    queries = {
        "documents": "SELECT id, name, status, content_sha256, chunk_count, updated_at FROM documents ORDER BY id",
        "chunks": "SELECT document_id, ordinal, text FROM chunks ORDER BY document_id, ordinal",
        "term_stats": "SELECT lexeme, passages FROM term_stats ORDER BY lexeme",
    }
    return {table: [tuple(r) for r in await kb.store.db.fetch(sql)] for table, sql in queries.items()}


async def test_hostile_queries_are_harmless(kb: Library) -> None:
    ingested = await kb.ingest("seguros.md", b"# Seguros\n\nAceptamos ARS Humano y ARS Universal.\n")
    assert ingested.status == "ready" and ingested.passages == 1
    before = await table_contents(kb)
    assert len(before["documents"]) == 1 and len(before["chunks"]) == 1 and before["term_stats"]
    hostile = ("'; DROP TABLE documents; --", "a & b | !c <-> (d", "seguro " * 20_000, "¿?", "   ")
    for query in hostile:
        passages = await kb.search(query, k=3)  # returns, without an error
        assert len(passages) <= 3 and all(p.document_id == ingested.id for p in passages), query[:40]
        assert await table_contents(kb) == before, f"{query[:40]!r} changed the tables"
    assert await kb.search("   ", k=3) == []  # nothing to look for
    # and the knowledge base still answers a normal question
    answer = await kb.search("¿Aceptan el seguro ARS Humano?", k=3)
    assert [p.text for p in answer] == ["Aceptamos ARS Humano y ARS Universal."], answer
    assert answer[0].document_id == ingested.id and answer[0].title == "Seguros"


async def test_unreachable_database_is_one_clear_error() -> None:
    settings = DatabaseSettings(url="postgresql://taina:secret@127.0.0.1:9/none", connect_timeout_s=2)
    with pytest.raises(
        DatabaseError, match=r"cannot use the database at postgresql://taina:\*\*\*@127.0.0.1:9"
    ):
        await Database.open(settings, Path("/x"))


async def test_unwritable_file_store_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot write to the object folder"):
        await FileStore(blocker / "objects").check()


async def test_s3_store_on_a_real_s3_server(
    s3_server: S3Server, database_url: str, e5: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.s3_store import S3Store, StorageSettings

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    store = S3Store.from_url(f"s3://{s3_server.bucket}/taina", StorageSettings())
    await store.check()
    await store.put("a/b.txt", b"hola", "text/plain")
    assert await store.get("a/b.txt") == b"hola" and await store.exists("a/b.txt")
    await store.delete("a/b.txt")
    assert not await store.exists("a/b.txt")
    with pytest.raises(KeyError):
        await store.get("a/b.txt")
    with pytest.raises(ValueError, match="invalid object key"):
        await store.put("../fuera", b"x", "text/plain")

    database, kb = await open_service(database_url, store, e5)
    result = await kb.ingest("citas.md", (SAMPLE / "citas-y-cancelaciones.md").read_bytes())
    row = await kb.store.document(result.id or "")
    assert row is not None and row.object_key and await store.exists(row.object_key)
    assert await kb.delete(row.id) and not await store.exists(row.object_key)
    await database.aclose()
    await store.aclose()

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    wrong = S3Store.from_url(f"s3://{s3_server.bucket}", StorageSettings())
    with pytest.raises(StorageError, match="cannot use the S3 bucket"):
        await wrong.check()
    await wrong.aclose()


async def test_concurrent_ingests_of_one_name_leave_one_document(kb: Library) -> None:
    texts = [f"# Nota\n\nVersión {i} del texto de prueba.\n".encode() for i in range(3)]
    results = await asyncio.gather(*(kb.ingest("nota.md", t) for t in texts), return_exceptions=True)
    # The write is an upsert on the name, one transaction each: no ingest loses with an error; each one
    # replaced the version before it, and all of them name the one document.
    assert not [r for r in results if isinstance(r, BaseException)], results
    documents = [d for d in await kb.store.documents() if d.name == "nota.md"]
    assert len(documents) == 1
    document = documents[0]
    assert [(r.status, r.id) for r in results if not isinstance(r, BaseException)] == [
        ("ready", document.id)
    ] * 3
    # The document is one version, whole: its hash, its passages and its stored original all agree.
    shas = [hashlib.sha256(t).hexdigest() for t in texts]
    assert document.content_sha256 in shas
    kept = shas.index(document.content_sha256)
    chunks = await kb.store.db.fetch("SELECT text FROM chunks WHERE document_id = $1", document.id)
    assert len(chunks) == document.chunk_count >= 1
    assert all(f"Versión {kept} " in row["text"] for row in chunks), [row["text"] for row in chunks]
    assert document.object_key and await kb.objects.get(document.object_key) == texts[kept]
    await assert_term_counts_match(kb)
