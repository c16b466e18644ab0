"""The organisation's documents: embeddings, retrieval and where documents and their passages are kept.

KnowledgeBase is what a conversation searches; PassageStore is what ingestion and search need from storage
(adapters/passage_store.py keeps it in PostgreSQL). A passage is a piece of a document, a few sentences under
one heading; the storage's own tables and columns may still call them chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Embedder(Protocol):
    """Text to unit-length vectors of ``dimensions`` floats; queries and passages are embedded differently."""

    name: str
    dimensions: int

    async def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    async def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved piece of a document, best first."""

    document_id: str
    title: str
    heading: str
    text: str
    score: float  # fused rank score: only for ordering
    similarity: float | None = None  # cosine similarity to the question, when vector search found it


class KnowledgeBase(Protocol):
    async def search(self, query: str, k: int = 5) -> list[Passage]: ...


@dataclass(frozen=True)
class DocumentRow:
    """A stored document: ready (its passages searchable) or failed (with the error)."""

    id: str
    name: str
    title: str
    media_type: str
    status: str
    error: str | None
    content_sha256: str | None
    size_bytes: int
    object_key: str | None
    pages: int | None
    chunk_count: int  # its passages (the column's name)
    updated_at: datetime


@dataclass(frozen=True)
class NewDocument:
    """A document about to be written with its passages; its original is already at ``object_key``."""

    name: str
    title: str
    media_type: str
    content_sha256: str
    size_bytes: int
    object_key: str
    pages: int | None


def new_document_id() -> str:
    return uuid.uuid4().hex[:12]


class PassageStore(Protocol):
    """Documents and their passages, kept together: what ingestion and search need from storage."""

    async def document(self, document_id: str) -> DocumentRow | None: ...

    async def by_name(self, name: str) -> DocumentRow | None: ...

    async def by_content(self, sha256: str) -> DocumentRow | None:
        """The ready document with this content, if any."""
        ...

    async def documents(self) -> list[DocumentRow]:
        """Every document, by name."""
        ...

    async def record_failure(self, name: str, media_type: str, size: int, error: str) -> str:
        """A document that could not be ingested, with its error (never over a ready one): its id, or ""."""
        ...

    async def replace(
        self,
        document_id: str,
        document: NewDocument,
        passages: list[tuple[str, str]],
        vectors: NDArray[np.float32],
        embedder: str,
    ) -> str:
        """A document and all its (heading, text) passages, replacing any earlier version, at once: its id."""
        ...

    async def delete(self, document_id: str) -> DocumentRow | None:
        """The document and its passages removed: what it was, or None if there was none."""
        ...

    async def search(
        self, question: str, vector: NDArray[np.float32], embedder: str, k: int
    ) -> list[Passage]:
        """The ``k`` passages best matching ``question`` (its words) and ``vector`` (its meaning), best first."""
        ...
