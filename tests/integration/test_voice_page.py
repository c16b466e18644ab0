"""What the voice page is told and allowed: its modes (direct always, LiveKit when configured and its SDK built),
the LiveKit SDK served from the engine, the page's policy letting it reach the LiveKit server and nothing else,
and the caller token endpoint behind the access link as the direct path is. The page itself is driven in
tests/e2e/test_browser.py (direct) and tests/e2e/test_livekit_browser.py (LiveKit)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from taina.http import livekit as livekit_routes
from taina.http import pages, security
from taina.http.errors import answer_errors_as_json
from taina.http.signalling import SessionRegistry
from taina.settings import Settings
from tests.support.servers import serving_here

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"
LIVEKIT = {
    "LIVEKIT_URL": "wss://lk.clinica.example:7443",
    "LIVEKIT_API_KEY": KEY,
    "LIVEKIT_API_SECRET": SECRET,
}

Served = Callable[[dict[str, str]], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def served() -> Served:
    @asynccontextmanager
    async def serve(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent", **env})
        app = FastAPI()
        answer_errors_as_json(app)
        security.install(app, lambda: settings)
        app.state.runtime = SimpleNamespace(settings=settings)
        app.state.sessions = SessionRegistry(5)
        app.include_router(pages.router)
        app.mount("/static", pages.static, name="static")
        if settings.livekit.enabled:
            app.include_router(livekit_routes.router)
        async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield http

    return serve


async def test_without_livekit_the_page_connects_directly(served: Served) -> None:
    async with served({}) as http:
        modes = (await http.get("/api/voice/modes")).json()
        page = await http.get("/")
    assert modes["modes"] == ["direct"] and modes["default"] == "direct"
    assert modes["livekit_client"] is None and "LIVEKIT_URL" in modes["livekit_missing"]
    assert "connect-src 'self';" in page.headers["content-security-policy"]


async def test_with_livekit_the_page_defaults_to_it_and_gets_its_sdk_from_the_engine(served: Served) -> None:
    assert pages.LIVEKIT_CLIENT.is_file(), "LiveKit's browser SDK is not built: run `make install` (npm ci)"
    async with served(LIVEKIT) as http:
        modes = (await http.get("/api/voice/modes")).json()
        sdk = await http.get(modes["livekit_client"])
        page = await http.get("/")
    assert modes["modes"] == ["livekit", "direct"] and modes["default"] == "livekit"
    assert modes["livekit_missing"] is None
    assert sdk.status_code == 200 and "javascript" in sdk.headers["content-type"]
    assert "LivekitClient" in sdk.text[:2000]  # the UMD build, which the page loads as a plain script
    # The page may reach the LiveKit server (signalling WebSocket, the SDK's validate request), nothing else.
    policy = page.headers["content-security-policy"]
    assert "connect-src 'self' wss://lk.clinica.example:7443 https://lk.clinica.example:7443;" in policy
    assert "script-src 'self';" in policy


async def test_livekit_without_its_sdk_built_falls_back_to_direct_and_says_why(
    served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pages, "LIVEKIT_CLIENT", tmp_path / "livekit-client.umd.js")
    async with served(LIVEKIT) as http:
        modes = (await http.get("/api/voice/modes")).json()
    assert modes["modes"] == ["direct"] and modes["default"] == "direct"
    assert "make install" in modes["livekit_missing"]


async def test_the_caller_token_needs_the_access_link_when_there_is_one(served: Served) -> None:
    async with served({**LIVEKIT, "TAINA_WEBRTC_ACCESS_TOKEN": "enlace-secreto-de-la-clinica"}) as http:
        refused = await http.post("/api/livekit/token", json={})
        wrong = await http.post("/api/livekit/token", json={}, headers={"Authorization": "Bearer otro"})
    for response in (refused, wrong):
        assert response.status_code == 401, response.text
        assert "access link" in response.json()["error"]
