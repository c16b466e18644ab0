"""OpenAI embeddings (or any OpenAI-compatible server) over httpx, asked for 384 dimensions.

384 matches the local model, so the schema does not change with the provider; passages embedded by one
provider are only compared with queries embedded by the same one (chunks record their embedder).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar, Literal

import httpx
import numpy as np
import structlog
from numpy.typing import NDArray
from pydantic import model_validator

from adapters.http_retry import backoff_s, error_text, retryable
from engine.options import Section, knob


class EmbeddingSettings(Section):
    prefix: ClassVar[str] = "TAINA_EMBEDDINGS"
    provider: Literal["auto", "e5", "openai"] = knob(
        "auto", "e5 (local multilingual-e5-small), openai, or auto (openai when OPENAI_API_KEY is set)."
    )
    openai_api_key: str = knob(
        "", "OpenAI API key; also selects OpenAI embeddings under auto.", env="OPENAI_API_KEY", secret=True
    )
    openai_base_url: str = knob(
        "https://api.openai.com/v1",
        "Any OpenAI-compatible server's /v1 URL.",
        env="OPENAI_BASE_URL",
        form=(r"^https?://", "be an http(s) URL"),
    )
    openai_model: str = knob("text-embedding-3-small", "OpenAI embedding model (asked for 384 dimensions).")
    timeout_s: float = knob(20.0, "Time limit of one embeddings request, in s.", gt=0, le=300)

    @model_validator(mode="after")
    def _key_for_openai(self) -> EmbeddingSettings:
        if self.provider == "openai" and not self.openai_api_key:
            raise ValueError("TAINA_EMBEDDINGS_PROVIDER=openai needs OPENAI_API_KEY")
        return self

    @property
    def use_openai(self) -> bool:
        return self.provider == "openai" or (self.provider == "auto" and bool(self.openai_api_key))


log = structlog.get_logger("taina.embeddings")
_RETRIES = 3
_BATCH = 64


class EmbeddingError(RuntimeError):
    pass


class OpenAIEmbedder:
    dimensions = 384

    def __init__(self, settings: EmbeddingSettings, client: httpx.AsyncClient | None = None) -> None:
        self.name = f"openai:{settings.openai_model}"
        self._settings = settings
        self._url = settings.openai_base_url.rstrip("/") + "/embeddings"
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)

    async def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await self._embed(texts)

    async def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await self._embed(texts)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            batch = list(texts[start : start + _BATCH])
            out[start : start + len(batch)] = await self._request(batch)
        return out

    async def _request(self, batch: list[str]) -> NDArray[np.float32]:
        body = {"model": self._settings.openai_model, "input": batch, "dimensions": self.dimensions}
        headers = {"Authorization": f"Bearer {self._settings.openai_api_key}"}
        for attempt in range(_RETRIES):
            try:
                response = await self._client.post(self._url, json=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt == _RETRIES - 1:
                    raise EmbeddingError(f"embeddings request failed: {exc}") from exc
                await asyncio.sleep(backoff_s(attempt))
                continue
            if retryable(response.status_code):
                if attempt == _RETRIES - 1:
                    raise EmbeddingError(
                        f"embeddings server answered {response.status_code} {error_text(response)}"
                    )
                delay = backoff_s(attempt, response)
                log.warning("embeddings.retry", status=response.status_code, delay_s=delay)
                await asyncio.sleep(delay)
                continue
            if response.status_code != 200:
                raise EmbeddingError(
                    f"embeddings server answered {response.status_code} {error_text(response)}"
                )
            try:
                data = sorted(response.json()["data"], key=lambda item: item["index"])
                vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
            except (ValueError, KeyError, TypeError) as exc:
                raise EmbeddingError(f"embeddings server sent a malformed answer: {exc}") from exc
            if vectors.shape != (len(batch), self.dimensions):
                raise EmbeddingError(
                    f"embeddings server sent shape {vectors.shape}, expected ({len(batch)}, 384)"
                )
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            normalized: NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
            return normalized
        raise EmbeddingError("embeddings request failed")  # unreachable: the loop returns or raises
