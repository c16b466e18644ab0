"""`taina serve` with two worker processes: both answer calls at once, the per-machine call limit counts both,
/metrics adds both up, a settings change made through one reaches the other, and a killed worker is replaced
while its call's recording is kept and its conversation ended ('worker_lost'), the other worker's call left
running; SIGTERM stops them all (exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from tests.e2e.test_drain import open_call, until
from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.oidc_provider import mock_provider
from tests.support.servers import start_server, stop_database_left, stop_server
from tests.support.speech import silence, speech

ADMIN = "jefa@clinica.do"


class Pinned:
    """An HTTP connection held open to one worker (requests one at a time, so httpx keeps one connection),
    kept alive by a ping every second that also checks it still reaches the same worker."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1))
        self.lock = asyncio.Lock()
        self.worker = -1
        self.pid = -1
        self._pinger: asyncio.Task[None] | None = None

    async def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        if self._pinger is not None and self._pinger.done():
            self._pinger.result()  # the connection moved to another worker: fail here, not later
        async with self.lock:
            return await self.client.request(method, path, **options)

    async def health(self) -> dict[str, Any]:
        found: dict[str, Any] = (await self.request("GET", "/healthz")).json()
        return found

    async def pin(self) -> None:
        health = await self.health()
        self.worker, self.pid = health["worker"], health["pid"]
        self._pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            health = await self.health()
            assert health["pid"] == self.pid, "the pinned connection moved to another worker"

    async def aclose(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError, httpx.HTTPError):
                await self._pinger
        await self.client.aclose()


@contextlib.asynccontextmanager
async def one_per_worker(url: str, workers: int, within_s: float = 120) -> AsyncIterator[dict[int, Pinned]]:
    """A pinned connection to each worker: fresh connections until every worker has answered one."""
    found: dict[int, Pinned] = {}
    deadline = time.monotonic() + within_s
    try:
        while len(found) < workers:
            assert time.monotonic() < deadline, f"only workers {sorted(found)} answered in {within_s} s"
            candidate = Pinned(url)
            health = await candidate.health()
            if health["worker"] in found or health["workers"] != workers:
                await candidate.aclose()
                await asyncio.sleep(0.1)
                continue
            await candidate.pin()
            found[candidate.worker] = candidate
        yield found
    finally:
        for pinned in found.values():
            await pinned.aclose()


def started_at(pid: int) -> float:
    """When process ``pid`` started (Unix time), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as machine:
        boot = next(int(line.split()[1]) for line in machine if line.startswith("btime"))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


async def test_two_workers_share_calls_limits_settings_and_metrics(
    tmp_path: Path, shared_models: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    create_account(data, ADMIN)  # before the server starts: the command runs its own embedded database
    srv = start_server(
        data,
        {"TAINA_HTTP_WORKERS": "2", "TAINA_WEBRTC_MAX_SESSIONS": "2", "TAINA_DIALOGUE_GREETING": " "},
    )
    question: np.ndarray[Any, Any] = np.concatenate(
        [silence(0.8), speech("¿A qué hora abren los sábados?"), silence(60)]
    )
    calls = []
    try:
        async with one_per_worker(srv.url, 2) as pinned:
            first, second = pinned[0], pinned[1]
            # One call on each worker, at once; both are answered.
            calls = [await open_call(first.client, question), await open_call(second.client, question)]
            assert (await first.health())["sessions"] == 1
            assert (await second.health())["sessions"] == 1
            assert (await first.health())["machine_sessions"] == 2

            # /metrics, from either worker, adds up both workers' calls.
            for worker in (first, second):
                text = (await worker.request("GET", "/metrics")).text
                assert metric(text, "taina_sessions_active") == 2.0
                # process_start_time_seconds (the alerts' uptime) is the supervisor's, not a worker's.
                assert abs(metric(text, "process_start_time_seconds") - started_at(srv.process.pid)) < 1.0

            # The machine holds 2 calls (TAINA_WEBRTC_MAX_SESSIONS): each worker refuses a third, though it
            # holds only one itself.
            for worker in (first, second):
                refused = await worker.request("POST", "/api/rtc/offer", json={"type": "offer", "sdp": "v=0"})
                assert refused.status_code == 503, refused.text
                assert "at capacity" in refused.json()["error"]

            await until(lambda: all(c.back_to_listening() for c in calls), 90, "both calls' turns completing")
            assert all(c.said("user") for c in calls), [c.events for c in calls]

            # A setting changed through the first worker is in force in the second.
            login = await first.request(
                "POST", "/api/auth/login", json={"email": ADMIN, "password": ACCOUNT_PASSWORD}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            changed = await first.request(
                "PUT", "/api/settings", json={"values": {"TAINA_ESPEAK_RATE": "151"}}, headers=auth
            )
            assert changed.status_code == 200, changed.text

            async def rate_on_second() -> str:
                listing = (await second.request("GET", "/api/settings", headers=auth)).json()
                found: str = next(s["value"] for s in listing["settings"] if s["name"] == "TAINA_ESPEAK_RATE")
                return found

            deadline = time.monotonic() + 15
            while (value := await rate_on_second()) != "151":
                assert time.monotonic() < deadline, f"the second worker still has TAINA_ESPEAK_RATE={value}"
                await asyncio.sleep(0.2)

            # The second worker is killed mid-call: its call ends; it is replaced; its call's recording is kept.
            killed_call = calls[1]
            conversation = killed_call.session_id
            os.kill(second.pid, signal.SIGKILL)
            await second.aclose()

        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
            deadline = time.monotonic() + 180
            replaced = False
            while not replaced:
                assert time.monotonic() < deadline, (
                    "the killed worker was not replaced:\n" + srv.logs()[-4000:]
                )
                async with httpx.AsyncClient(base_url=srv.url, timeout=30) as fresh:
                    health = (await fresh.get("/healthz")).json()
                replaced = health["worker"] == 1 and health["pid"] != second.pid
                await asyncio.sleep(0.2)
            assert health["machine_sessions"] == 1  # the dead worker's call no longer counts
            assert metric((await client.get("/metrics")).text, "taina_sessions_active") == 1.0

            deadline = time.monotonic() + 60
            while True:
                found = await client.get(f"/api/conversations/{conversation}", headers=auth)
                if found.status_code == 200 and found.json().get("recording_seconds"):
                    break
                assert time.monotonic() < deadline, f"the killed call's recording was not kept: {found.text}"
                await asyncio.sleep(0.5)
            assert found.json()["recording_seconds"] > 1.0
            recording = await client.get(f"/api/conversations/{conversation}/recording", headers=auth)
            assert recording.status_code == 200 and recording.content[:4] == b"OggS"

            # The supervisor ended the killed call's conversation (not the other worker's, still running): at
            # the last thing recorded for it, the recording's end being later than its last turn.
            killed = found.json()
            assert (killed["end_reason"], killed["outcome"]) == ("worker_lost", "failed"), killed
            last_turn = max(datetime.fromisoformat(t["at"]) for t in killed["turns"])
            ended = datetime.fromisoformat(killed["ended_at"])
            assert ended >= last_turn
            assert abs(killed["seconds"] - killed["recording_seconds"]) < 0.2, killed
            running = (await client.get(f"/api/conversations/{calls[0].session_id}", headers=auth)).json()
            assert running["ended_at"] is None and running["end_reason"] is None, running
        for call in calls:
            await call.pc.close()
        calls = []
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=60) == 0, srv.logs()[-4000:]
        events = srv.logs()
        assert '"worker.died"' in events and '"workers.stopped"' in events
        assert '"workers.conversations_lost"' in events
    finally:
        for call in calls:
            await call.pc.close()
        if srv.process.poll() is None:
            stop_server(srv)
        stop_database_left(data)


async def test_two_workers_sign_in_through_the_provider_across_workers(
    tmp_path: Path, shared_models: Path
) -> None:
    """OpenID Connect sign-in with two worker processes (no longer forced to one): the login is sent by the
    first worker, the provider's callback reaches the second, and the page exchanges its code at the first."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    with mock_provider() as issuer:
        srv = start_server(
            data,
            {
                "TAINA_HTTP_WORKERS": "2",
                "TAINA_OIDC_ISSUER": issuer,
                "TAINA_OIDC_CLIENT_ID": "taina-panel",
                "TAINA_OIDC_CLIENT_SECRET": "secreto-del-panel",
            },
        )
        try:
            async with httpx.AsyncClient(timeout=10) as admin:
                reply = await admin.put(
                    f"{issuer}/users/rosa", json={"email": "rosa@clinica.do", "groups": ["taina-editors"]}
                )
            assert reply.status_code == 204, reply.text
            async with one_per_worker(srv.url, 2) as pinned:
                first, second = pinned[0], pinned[1]
                start = await first.request("GET", "/api/auth/oidc/login")
                assert start.status_code == 303, start.text
                async with httpx.AsyncClient(timeout=15) as browser:
                    at_provider = await browser.post(start.headers["location"], data={"sub": "rosa"})
                assert at_provider.status_code == 302, at_provider.text
                callback = urlsplit(at_provider.headers["location"])
                second.client.cookies.set("taina_oidc_state", first.client.cookies["taina_oidc_state"])
                done = await second.request("GET", f"{callback.path}?{callback.query}")
                assert done.status_code == 303, done.text
                code = done.headers["location"].split("#oidc=", 1)[1]
                tokens = await first.request("POST", "/api/auth/oidc/exchange", json={"code": code})
                assert tokens.status_code == 200, tokens.text
                again = await second.request("POST", "/api/auth/oidc/exchange", json={"code": code})
                assert again.status_code == 400, again.text
                me = await second.request(
                    "GET",
                    "/api/auth/me",
                    headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
                )
                assert (me.json()["email"], me.json()["role"]) == ("rosa@clinica.do", "editor"), me.text
            srv.process.send_signal(signal.SIGTERM)
            assert srv.process.wait(timeout=60) == 0, srv.logs()[-4000:]
        finally:
            if srv.process.poll() is None:
                stop_server(srv)
            stop_database_left(data)


def test_one_worker_serves_in_one_process(tmp_path: Path, shared_models: Path) -> None:
    """TAINA_HTTP_WORKERS=1 keeps the single process: no supervisor, no worker processes."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    srv = start_server(data, {"TAINA_HTTP_WORKERS": "1"})
    try:
        health = httpx.get(f"{srv.url}/healthz", timeout=10).json()
        assert "worker" not in health and "machine_sessions" not in health, health
        children = Path(f"/proc/{srv.process.pid}/task/{srv.process.pid}/children").read_text().split()
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
        assert not [c for c in commands if b"python" in c and b"postgres" not in c], commands
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=60) == 0
    finally:
        if srv.process.poll() is None:
            stop_server(srv)
        stop_database_left(data)
