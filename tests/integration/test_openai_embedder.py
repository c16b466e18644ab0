"""The OpenAI embeddings adapter against a local server that speaks the endpoint's wire format."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.openai_embedder import EmbeddingError, EmbeddingSettings, OpenAIEmbedder
from tests.support.servers import serving


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.malformed = False
        app = FastAPI()

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append({"body": body, "auth": request.headers.get("authorization")})
            if self.failures:
                status, headers = self.failures.pop(0)
                return JSONResponse(
                    {"error": {"message": "slow down", "type": "rate_limit"}}, status, headers
                )
            if self.malformed:
                return JSONResponse({"object": "list", "data": [{"index": 0}]})
            rng = np.random.default_rng(len(self.requests))
            data = [
                {"object": "embedding", "index": i, "embedding": rng.normal(size=body["dimensions"]).tolist()}
                for i in range(len(body["input"]))
            ]
            data.reverse()  # the adapter must order by index
            return JSONResponse({"object": "list", "data": data, "model": body["model"],
                                 "usage": {"prompt_tokens": 3, "total_tokens": 3}})  # fmt: skip

        self.app = app


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    server = FakeOpenAI()
    with serving(server.app) as url:
        yield server, f"{url}/v1"


def settings(url: str) -> EmbeddingSettings:
    return EmbeddingSettings(provider="openai", openai_api_key="sk-test", openai_base_url=url, timeout_s=5)


async def test_embeddings_in_order_with_the_right_request(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    embedder = OpenAIEmbedder(settings(url))
    vectors = await embedder.embed_passages(["uno", "dos", "tres"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    request = server.requests[-1]
    assert request["auth"] == "Bearer sk-test"
    assert request["body"] == {
        "model": "text-embedding-3-small",
        "input": ["uno", "dos", "tres"],
        "dimensions": 384,
    }
    await embedder.aclose()


async def test_rate_limits_and_server_errors_are_retried(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    server.failures = [(429, {"retry-after": "0.1"}), (503, {})]
    embedder = OpenAIEmbedder(settings(url))
    before = len(server.requests)
    vectors = await asyncio.wait_for(embedder.embed_queries(["hola"]), 10)
    assert vectors.shape == (1, 384) and len(server.requests) - before == 3
    server.failures = [(500, {})] * 3
    with pytest.raises(EmbeddingError, match="answered 500"):
        await embedder.embed_queries(["hola"])
    await embedder.aclose()


async def test_a_malformed_answer_is_a_clear_error(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    server.malformed = True
    embedder = OpenAIEmbedder(settings(url))
    try:
        with pytest.raises(EmbeddingError, match="malformed"):
            await embedder.embed_queries(["hola"])
    finally:
        server.malformed = False
        await embedder.aclose()
