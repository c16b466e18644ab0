"""Builds the knowledge base from settings: database, object store and embedder (part of the composition root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.file_store import FileStore
from adapters.knowledge_store import KnowledgeStore
from adapters.postgres import Database
from engine.ports import Embedder, ObjectStore
from engine.settings import Settings
from taina.knowledge.ingest import KnowledgeService


def object_store(settings: Settings) -> ObjectStore:
    url = settings.storage.url
    if not url:
        return FileStore(settings.data_dir / "objects")
    if url.startswith("file://"):
        return FileStore(Path(url.removeprefix("file://")).expanduser())
    from adapters.s3_store import S3Store

    return S3Store.from_url(url, settings.storage)


def embedder(settings: Settings) -> Embedder:
    if settings.embeddings.use_openai:
        from adapters.openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder(settings.embeddings)
    from adapters.e5_embedder import E5Embedder

    return E5Embedder()


@dataclass
class Knowledge:
    database: Database
    objects: ObjectStore
    service: KnowledgeService

    @classmethod
    async def open(cls, settings: Settings) -> Knowledge:
        """Everything the knowledge base needs, checked now: an unreachable store fails here, not later."""
        objects = object_store(settings)
        await objects.check()
        database = await Database.open(settings.database, settings.data_dir)
        service = KnowledgeService(
            KnowledgeStore(database, settings.retrieval), objects, embedder(settings), settings.ingest
        )
        return cls(database, objects, service)

    async def close(self) -> None:
        await self.objects.close()
        await self.database.close()
