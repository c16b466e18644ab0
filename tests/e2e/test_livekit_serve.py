"""`taina serve` with LIVEKIT_URL and its keys registers as a LiveKit agent worker (the agent worker protocol, on
the LiveKit test server's ``/agent`` on 127.0.0.1: no WebRTC here), reports its capacity, answers a job offer,
and on SIGTERM says it is full and draining, then unregisters before it exits."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from livekit.protocol import agent

from tests.support.livekit_server import LiveKitTestServer
from tests.support.servers import free_port, start_server, stop_database_left

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"


async def until(check: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_taina_serve_registers_as_a_livekit_worker_and_unregisters_on_sigterm(
    tmp_path: Path, shared_models: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    lk = LiveKitTestServer("127.0.0.1", free_port(), KEY, SECRET)
    await lk.start()
    env = {"LIVEKIT_URL": lk.url, "LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": SECRET,
           "TAINA_LIVEKIT_AGENT_NAME": "taina-serve", "TAINA_WEBRTC_MAX_SESSIONS": "3"}  # fmt: skip
    srv = await asyncio.to_thread(start_server, data, env)
    try:
        assert await until(lambda: any(w.agent_name == "taina-serve" for w in lk.workers.values()), 30), (
            srv.logs()
        )
        (worker,) = lk.workers.values()
        assert await until(lambda: any(e[0] == worker.id and e[1] == "status" for e in lk.worker_log), 10)
        assert worker.status == agent.WorkerStatus.WS_AVAILABLE and worker.load == 0.0 and not worker.draining

        # A job for a room that does not exist: the engine says yes (it has room), then reports it failed.
        job = await lk.dispatch_job("taina-nowhere", "taina-serve")
        assert job.worker == worker.id
        assert await until(lambda: job.status == agent.JobStatus.JS_FAILED, 30), srv.logs()
        assert "no room" in job.error

        srv.process.send_signal(signal.SIGTERM)
        assert await until(lambda: worker.id not in lk.workers, 30), srv.logs()
        statuses = [e[2] for e in lk.worker_log if e[0] == worker.id and e[1] == "status"]
        assert statuses[-1] == (agent.WorkerStatus.WS_FULL, 0.0, True)  # full and draining before it left
        assert await asyncio.to_thread(srv.process.wait, 60) == 0
    finally:
        if srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(timeout=15)
        stop_database_left(data)
        await lk.stop()
