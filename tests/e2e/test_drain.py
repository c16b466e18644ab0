"""`taina serve` in a cluster: SIGTERM drains (new offers 503 with Retry-After, /readyz 503, the calls in progress
go on and their turns complete, a call still open at TAINA_HTTP_DRAIN_S is hung up, then exit 0); /readyz checks
the database, object store and models; `taina migrate` migrates and TAINA_DATABASE_MIGRATE=false only checks."""

from __future__ import annotations

import asyncio
import fractions
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

from adapters.library_patches import offer_ice_addresses
from tests.support.servers import REPO, start_server, stop_database_left, stop_server
from tests.support.speech import silence, speech

DRAIN_S = 30.0
RATE = 16_000
PTIME = 0.02


class Speaking(AudioStreamTrack):
    """A microphone: ``pcm`` (16 kHz) in real time, then silence."""

    def __init__(self, pcm: np.ndarray[Any, Any]) -> None:
        super().__init__()
        self.pcm = pcm
        self.sent = 0
        self.started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = int(PTIME * RATE)
        if self.started is None:
            self.started = time.time()
        else:
            await asyncio.sleep(self.started + (self.sent + n) / RATE - time.time())
            self.sent += n
        chunk = self.pcm[self.sent : self.sent + n]
        chunk = np.concatenate([chunk, np.zeros(n - len(chunk), dtype=np.int16)])
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.pts = self.sent
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class Call:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.pc = RTCPeerConnection()
        self.session_id = ""

    def said(self, role: str) -> list[str]:
        return [e["text"] for e in self.events if e.get("type") == "transcript" and e.get("role") == role]

    def back_to_listening(self) -> bool:
        """The assistant has answered and gone back to listening (the turn is complete)."""
        states = [e for e in self.events if e.get("type") == "state"]
        return bool(self.said("assistant")) and bool(states) and states[-1]["state"] == "listening"


async def open_call(client: httpx.AsyncClient, pcm: np.ndarray[Any, Any]) -> Call:
    offer_ice_addresses(("127.0.0.1",))
    call = Call()
    call.pc.addTrack(Speaking(pcm))
    channel = call.pc.createDataChannel("events")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    channel.on("message", lambda m: call.events.append(json.loads(m)) if isinstance(m, str) else None)

    async def drain(track: Any) -> None:
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            pass

    call.pc.on("track", lambda track: asyncio.ensure_future(drain(track)))
    await call.pc.setLocalDescription(await call.pc.createOffer())
    answer = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": call.pc.localDescription.sdp})
    assert answer.status_code == 200, answer.text
    call.session_id = answer.json()["session_id"]
    await call.pc.setRemoteDescription(RTCSessionDescription(answer.json()["sdp"], "answer"))
    await asyncio.wait_for(opened.wait(), 20)
    return call


async def until(condition: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {within_s} s")
        await asyncio.sleep(0.1)


async def test_sigterm_drains_calls_then_exits(tmp_path: Path, shared_models: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    srv = start_server(data, {"TAINA_HTTP_DRAIN_S": str(DRAIN_S), "TAINA_DIALOGUE_GREETING": " "})
    question = np.concatenate([silence(0.8), speech("¿A qué hora abren los sábados?"), silence(30)])
    try:
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as client:
            assert (await client.get("/readyz")).status_code == 200
            talking = await open_call(client, question)  # speaks in 0.8 s: SIGTERM comes mid-turn
            idle = await open_call(client, silence(60))  # says nothing and never hangs up
            metrics = (await client.get("/metrics")).text
            assert "taina_sessions_active 2.0" in metrics
            srv.process.send_signal(signal.SIGTERM)
            terminated = time.monotonic()
            await asyncio.sleep(0.5)

            refused = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": "v=0"})
            assert refused.status_code == 503 and refused.headers["retry-after"]
            assert "shutting down" in refused.json()["error"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["draining"] == "yes"
            health = (await client.get("/healthz")).json()
            assert health["status"] == "ok" and health["sessions"] == 2  # alive, and both calls go on
            assert "taina_draining 1.0" in (await client.get("/metrics")).text

            await until(talking.back_to_listening, 25, "the call's turn completing during the drain")
            assert talking.said("user"), talking.events
            await talking.pc.close()  # the caller hangs up; the idle call is still there
            await until(lambda: srv.process.poll() is not None, DRAIN_S + 15, "the server exiting")
            waited = time.monotonic() - terminated
            await idle.pc.close()
        assert srv.process.returncode == 0, srv.logs()[-3000:]
        assert DRAIN_S - 1 <= waited <= DRAIN_S + 15, waited  # it waited for the idle call, up to the limit
        logs = [json.loads(line) for line in srv.logs().splitlines() if line.startswith("{")]
        events = [line.get("event") for line in logs]
        assert "server.draining" in events and "server.drain_limit_reached" in events
        ended = [line for line in logs if line.get("event") == "session.ended"]
        assert len(ended) == 2 and sorted(line["turns"] for line in ended) == [0, 1], ended
    finally:
        if srv.process.poll() is None:
            stop_server(srv)
        stop_database_left(data)


async def test_sigterm_without_calls_exits_at_once(tmp_path: Path, shared_models: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    srv = start_server(data)
    try:
        started = time.monotonic()
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=30) == 0
        assert time.monotonic() - started < 15
    finally:
        stop_database_left(data)


def taina(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "taina.cli", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_command_and_starting_without_migrating(database_url: str, tmp_path: Path) -> None:
    from adapters.postgres import migrations

    env = {"DATABASE_URL": database_url, "TAINA_DATA_DIR": str(tmp_path / "data")}
    skip = {**env, "TAINA_DATABASE_MIGRATE": "false"}
    refused = taina("documents", "list", env=skip)  # nothing migrated yet: a clear refusal
    assert refused.returncode == 1 and "run `taina migrate`" in refused.stderr, refused.stderr

    first = taina("migrate", env=env)
    assert first.returncode == 0, first.stderr
    names = [name for _, name, _ in migrations()]
    assert [line.removeprefix("applied ") for line in first.stdout.splitlines()[:-1]] == names
    again = taina("migrate", env=env)  # twice is safe: nothing left to apply
    assert again.returncode == 0 and again.stdout.startswith("the database schema is up to date")
    assert f"{len(names)} migrations, 0 applied now" in again.stdout

    served = taina("documents", "list", "--json", env=skip)  # up to date: starts without migrating
    assert served.returncode == 0 and json.loads(served.stdout) == [], served.stderr


def test_readyz_names_the_failing_dependency(tmp_path: Path, shared_models: Path) -> None:
    """Object store unreachable after start: /readyz is 503 and says which check fails; /healthz stays 200."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    srv = start_server(data)
    try:
        ready = httpx.get(f"{srv.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "ready": True,
            "checks": {"draining": "no", "models": "ok", "database": "ok", "object_store": "ok"},
        }
        objects = data / "objects"
        assert objects.is_dir()
        objects.rename(data / "objects.moved")
        objects.write_text("not a folder")
        try:
            broken = httpx.get(f"{srv.url}/readyz", timeout=10)
        finally:
            objects.unlink()
            (data / "objects.moved").rename(objects)
        assert broken.status_code == 503 and broken.json()["ready"] is False
        assert broken.json()["checks"]["object_store"].startswith("failing"), broken.json()
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        assert httpx.get(f"{srv.url}/readyz", timeout=10).status_code == 200
    finally:
        stop_server(srv)
