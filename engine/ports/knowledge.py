"""The organisation's documents: embeddings and retrieval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
