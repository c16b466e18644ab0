"""Builds the library from settings: database, object store and embedder (part of the composition root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from adapters.file_store import FileStore, storage_key
from adapters.passage_store import PostgresPassageStore
from adapters.postgres import Database
from engine.ports.knowledge import Embedder
from engine.ports.storage import ObjectStore
from taina.knowledge.ingest import Library

if TYPE_CHECKING:
    from taina.settings import Settings

log = structlog.get_logger("taina.knowledge")


def object_store(settings: Settings) -> ObjectStore:
    url = settings.storage.url
    if not url or url.startswith("file://"):
        key = storage_key(settings.storage.encryption_key, settings.data_dir)
        root = Path(url.removeprefix("file://")).expanduser() if url else settings.data_dir / "objects"
        return FileStore(root, key)
    from adapters.s3_store import S3Store

    return S3Store.from_url(url, settings.storage)


def embedder_for(settings: Settings) -> Embedder:
    if settings.embeddings.use_openai:
        from adapters.openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder(settings.embeddings)
    from adapters.e5_embedder import E5Embedder

    return E5Embedder()


@dataclass
class KnowledgeParts:
    database: Database
    objects: ObjectStore
    library: Library

    @classmethod
    async def open(cls, settings: Settings, embedder: Embedder | None = None) -> KnowledgeParts:
        """Everything the knowledge base needs, checked now: an unreachable store fails here, not later."""
        objects = object_store(settings)
        await objects.check()
        database = await Database.open(settings.database, settings.data_dir)
        library = Library(
            PostgresPassageStore(database, settings.retrieval),
            objects,
            embedder or embedder_for(settings),
            settings.ingest,
        )
        return cls(database, objects, library)

    async def aclose(self) -> None:
        await self.objects.aclose()
        await self.database.aclose()


SAMPLE_KB = Path(__file__).resolve().parent.parent / "sample_kb"


async def ingest_sample_if_empty(library: Library, settings: Settings) -> None:
    """On a first start with no documents, load the sample medical centre so the assistant has something to say."""
    if not settings.ingest.sample_kb or await library.store.documents():
        return
    files = sorted(p for p in SAMPLE_KB.iterdir() if p.is_file())
    log.info("knowledge.sample_loading", documents=len(files), folder=str(SAMPLE_KB))
    for path in files:
        result = await library.ingest_path(path)
        if result.status != "ready":
            log.warning("knowledge.sample_failed", name=path.name, error=result.error)
    log.info("knowledge.sample_loaded", documents=len(files))
