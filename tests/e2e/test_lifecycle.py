"""`taina serve` takes its embedded PostgreSQL down with it on SIGTERM and on SIGINT, and one left running by a
killed server is found (postmaster.pid in the data folder) and stopped at the next start."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.support.servers import Server, start_server


def database_pid(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def signalled(srv: Server, sig: int) -> int:
    srv.process.send_signal(sig)
    return srv.process.wait(timeout=30)


def test_the_embedded_database_stops_with_the_server_and_a_stale_one_is_stopped_at_start(
    tmp_path: Path, shared_models: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    started: list[int] = []
    try:
        first = start_server(data)
        started.append(database_pid(data))
        first.process.kill()  # SIGKILL: nothing of the server runs, its database is left behind
        first.process.wait(timeout=10)
        assert alive(started[0])

        second = start_server(data)
        started.append(database_pid(data))
        assert started[1] != started[0] and not alive(started[0]), "the stale database was not stopped"
        assert httpx.get(f"{second.url}/healthz").status_code == 200
        assert signalled(second, signal.SIGTERM) == 0
        assert gone_within(started[1], 10), f"SIGTERM left the database running:\n{second.logs()[-2000:]}"

        third = start_server(data)
        started.append(database_pid(data))
        assert signalled(third, signal.SIGINT) == 0
        assert gone_within(started[2], 10), f"SIGINT left the database running:\n{third.logs()[-2000:]}"
    finally:
        for pid in started:
            if alive(pid):
                from adapters.postgres import stop_postmaster

                stop_postmaster(pid)
