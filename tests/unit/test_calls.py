"""The limits on calls: offers arriving together cannot pass the capacity, one address holds at most its share,
a full server answers 503 with Retry-After, and a failed answer gives its slot back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.webrtc import SignallingError, WebRtcTransport
from taina.app import App
from taina.assistant import Assistant
from taina.server import create_app
from taina.settings import Settings

Scope = MutableMapping[str, Any]
SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


def forwarded_for(app: ASGI) -> ASGI:
    """What a proxy in front does: the caller's address taken from X-Forwarded-For."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    scope = {**scope, "client": (value.decode(), 1234)}
        await app(scope, receive, send)

    return wrapped


class HeldCall:
    """A session that lasts until the test ends it."""

    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.ended = asyncio.Event()

    async def run(self) -> None:
        await self.ended.wait()


class QuietTransport:
    async def aclose(self) -> None:
        pass


def runtime_with_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], answer_s: float = 0.05
) -> tuple[App, list[HeldCall]]:
    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path), **env})
    runtime = App(settings, Assistant(settings))
    calls: list[HeldCall] = []

    async def slow_answer(sdp: str, *_args: object) -> tuple[object, str]:
        await asyncio.sleep(answer_s)  # ICE gathering takes a while: offers pile up meanwhile
        if "refuse" in sdp:
            raise SignallingError("the SDP offer cannot be answered: refused")
        return QuietTransport(), "v=0 answer"

    def new_session(transport: object, session_id: str | None = None) -> HeldCall:
        call = HeldCall(session_id or "x")
        calls.append(call)
        return call

    monkeypatch.setattr(WebRtcTransport, "answer", staticmethod(slow_answer))
    monkeypatch.setattr(runtime, "new_session", new_session)
    return runtime, calls


async def test_simultaneous_offers_cannot_pass_the_capacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """70 offers at once from 70 addresses against a capacity of 50: 50 calls, 20 refused with 503."""
    runtime, calls = runtime_with_calls(
        tmp_path, monkeypatch, {"TAINA_WEBRTC_MAX_SESSIONS": "50", "TAINA_WEBRTC_OFFERS_PER_MINUTE": "1000"}
    )
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=forwarded_for(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://taina.test", timeout=30) as client:
        answers = await asyncio.gather(
            *[
                client.post(
                    "/api/rtc/offer",
                    json={"type": "offer", "sdp": SDP},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
                for i in range(70)
            ]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 50 + [503] * 20
        assert len(calls) == 50
        refused = next(a for a in answers if a.status_code == 503)
        assert "capacity" in refused.json()["error"] and int(refused.headers["Retry-After"]) > 0
        assert (await client.get("/healthz")).json()["sessions"] == 50
        for call in calls:
            call.ended.set()
        await sessions_reach(client, 0)  # every call ended: every slot is given back


async def sessions_reach(client: httpx.AsyncClient, count: int, deadline_s: float = 5.0) -> None:
    """Poll /healthz until it counts ``count`` sessions (a call's end is noticed in the background)."""
    ends = time.monotonic() + deadline_s
    while (sessions := (await client.get("/healthz")).json()["sessions"]) != count:
        assert time.monotonic() < ends, f"{sessions} sessions after {deadline_s:g} s, not {count}"
        await asyncio.sleep(0.005)


async def test_one_address_holds_at_most_its_share_of_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, calls = runtime_with_calls(
        tmp_path,
        monkeypatch,
        {"TAINA_WEBRTC_MAX_SESSIONS_PER_ADDRESS": "3", "TAINA_WEBRTC_OFFERS_PER_MINUTE": "1000"},
    )
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=forwarded_for(app))
    offer = {"type": "offer", "sdp": SDP}
    one = {"X-Forwarded-For": "198.51.100.7"}
    async with httpx.AsyncClient(transport=transport, base_url="http://taina.test", timeout=30) as client:
        answers = await asyncio.gather(
            *[client.post("/api/rtc/offer", json=offer, headers=one) for _ in range(5)]
        )
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 503, 503]
        refused = next(a for a in answers if a.status_code == 503)
        assert "already has 3 calls" in refused.json()["error"] and refused.headers["Retry-After"]
        other = await client.post("/api/rtc/offer", json=offer, headers={"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 200  # another address is not held back
        calls[0].ended.set()  # one call ends: its address may start another
        await sessions_reach(client, 3)  # its three from one address and one from another, less the one ended
        assert (await client.post("/api/rtc/offer", json=offer, headers=one)).status_code == 200


async def test_an_offer_that_cannot_be_answered_gives_its_slot_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, calls = runtime_with_calls(
        tmp_path, monkeypatch, {"TAINA_WEBRTC_MAX_SESSIONS": "2", "TAINA_WEBRTC_OFFERS_PER_MINUTE": "1000"}
    )
    app = create_app(runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://taina.test"
    ) as client:
        for _ in range(5):
            refused = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": SDP + "a=refuse\r\n"})
            assert refused.status_code == 400
        assert (await client.get("/healthz")).json()["sessions"] == 0
        answers = [await client.post("/api/rtc/offer", json={"type": "offer", "sdp": SDP}) for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200]
        assert len(calls) == 2
