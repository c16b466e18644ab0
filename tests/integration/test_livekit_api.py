"""LiveKit's HTTP face: dispatch needs the editor role and a room that exists (asked of the LiveKit test server's
RoomService over Twirp), caller tokens carry only a microphone and subscribing and are rate limited, webhooks
must carry LiveKit's signature. The engine joining rooms is in tests/e2e/test_livekit.py (it needs WebRTC in a
network namespace)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from livekit import api

from adapters.accounts_db import User
from taina import livekit_agent
from taina.auth import Auth, AuthSettings, Tokens
from taina.backend import Backend
from taina.http import livekit as livekit_routes
from taina.http.errors import answer_errors_as_json
from taina.http.signalling import SessionRegistry
from taina.settings import Settings
from tests.support.livekit_server import LiveKitTestServer
from tests.support.servers import free_port, serving_here

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"
AUTH_KEY = "k" * 40


@pytest.fixture
async def livekit() -> AsyncIterator[LiveKitTestServer]:
    server = LiveKitTestServer("127.0.0.1", free_port(), KEY, SECRET)  # Twirp only: no WebRTC on loopback
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def settings_for(url: str, **extra: str) -> Settings:
    return Settings.from_env(
        {"TAINA_DATA_DIR": "/nonexistent", "LIVEKIT_URL": url, "LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": SECRET,
         "TAINA_LIVEKIT_TOKENS_PER_MINUTE": "2", **extra}
    )  # fmt: skip


STAFF: dict[str, User] = {}  # role -> a real account of that role, made per test in the database


@pytest.fixture
async def client(
    livekit: LiveKitTestServer, backend: Backend
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = FastAPI()
    answer_errors_as_json(app)
    auth_settings = AuthSettings(secret=AUTH_KEY)
    app.state.auth = Auth(backend.accounts, Tokens(AUTH_KEY, auth_settings), auth_settings)
    for role in ("viewer", "editor", "admin"):
        STAFF[role] = await backend.accounts.create_user(f"{role}@clinica.do", "unused-hash", role)  # type: ignore[arg-type]
    app.state.runtime = SimpleNamespace(settings=settings_for(livekit.url))
    app.state.sessions = SessionRegistry(5)
    app.include_router(livekit_routes.router)
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http, app


def staff(role: str) -> dict[str, str]:
    token = Tokens(AUTH_KEY, AuthSettings(secret=AUTH_KEY)).access(STAFF[role])
    return {"Authorization": f"Bearer {token}"}


async def test_dispatch_needs_an_editor_and_a_room_that_exists(
    client: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    http, _ = client
    body = {"room": "taina-nowhere"}
    assert (await http.post("/api/livekit/dispatch", json=body)).status_code == 401
    assert (await http.post("/api/livekit/dispatch", json=body, headers=staff("viewer"))).status_code == 403
    missing = await http.post("/api/livekit/dispatch", json=body, headers=staff("editor"))
    assert missing.status_code == 404 and "no room" in missing.json()["error"]
    bad = await http.post("/api/livekit/dispatch", json={"room": "a room/../x"}, headers=staff("editor"))
    assert bad.status_code == 400


async def test_dispatch_without_livekit_configured_is_503(client: tuple[httpx.AsyncClient, FastAPI]) -> None:
    http, app = client
    app.state.runtime = SimpleNamespace(settings=Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"}))
    answer = await http.post("/api/livekit/dispatch", json={"room": "r"}, headers=staff("admin"))
    assert answer.status_code == 503 and "LIVEKIT_URL" in answer.json()["error"]


async def test_caller_tokens_grant_a_microphone_only_and_are_rate_limited(
    client: tuple[httpx.AsyncClient, FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, _ = client
    joined: list[tuple[str, bool]] = []

    async def join(app: Any, room: str, start: Any = None, check_room: bool = True, **_: Any) -> Any:
        joined.append((room, check_room))
        return SimpleNamespace(room=room, session_id="s1")

    monkeypatch.setattr(livekit_routes, "join", join)
    first = await http.post("/api/livekit/token")
    assert first.status_code == 200, first.text
    given = first.json()
    claims = api.TokenVerifier(KEY, SECRET).verify(given["token"])
    assert given["room"].startswith("taina-") and len(given["room"]) > 12  # generated here, not chosen
    assert joined == [(given["room"], False)]  # the engine is sent into it
    video = claims.video
    assert video is not None and video.room == given["room"] and video.room_join
    assert video.can_publish and video.can_publish_sources == ["microphone"] and video.can_subscribe
    assert video.can_publish_data is False and not video.room_admin and not video.room_create
    assert claims.identity == given["identity"] and claims.identity.startswith("caller-")
    second = await http.post("/api/livekit/token")
    assert second.json()["room"] != given["room"]
    limited = await http.post("/api/livekit/token")
    assert limited.status_code == 429


def signed(body: str, secret: str = SECRET) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return api.AccessToken(KEY, secret).with_sha256(digest).to_jwt()


async def test_webhooks_are_checked_against_livekits_signature(
    client: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    http, _ = client
    body = json.dumps({"event": "participant_joined", "room": {"name": "taina-1"},
                       "participant": {"identity": "caller-1"}})  # fmt: skip
    ok = await http.post("/api/livekit/webhook", content=body, headers={"Authorization": signed(body)})
    assert ok.status_code == 200 and ok.json() == {"received": "participant_joined"}
    unsigned = await http.post("/api/livekit/webhook", content=body)
    assert unsigned.status_code == 401
    wrong_key = await http.post(
        "/api/livekit/webhook", content=body, headers={"Authorization": signed(body, "x" * 40)}
    )
    assert wrong_key.status_code == 401
    tampered = body.replace("caller-1", "caller-2")
    changed = await http.post(
        "/api/livekit/webhook", content=tampered, headers={"Authorization": signed(body)}
    )
    assert changed.status_code == 401
    garbage = await http.post("/api/livekit/webhook", content=body, headers={"Authorization": "not-a-jwt"})
    assert garbage.status_code == 401


async def test_the_room_check_asks_livekits_room_service(livekit: LiveKitTestServer) -> None:
    runtime: Any = SimpleNamespace(settings=settings_for(livekit.url))
    assert not await livekit_agent.room_exists(runtime, "taina-nowhere")
    from tests.support.livekit_server import Room

    livekit.rooms["taina-here"] = Room("taina-here")
    assert await livekit_agent.room_exists(runtime, "taina-here")


def test_the_dispatch_command_needs_livekit_configured(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["TAINA_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "taina.cli", "livekit", "dispatch", "taina-room", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "LIVEKIT_URL" in done.stderr
