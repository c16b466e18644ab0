"""`taina serve` on every core: a supervisor process and its worker processes (TAINA_HTTP_WORKERS, 0: one per
core; 1: everything in one process, as before).

The supervisor binds the listening socket, starts the embedded PostgreSQL (unless DATABASE_URL names one) and
spawns the workers, which share the socket: the kernel hands each new connection to one of them, so HTTP and
signalling spread over the workers. A worker owns the calls it answers: the offer's one request
(POST /api/rtc/offer) sets up the whole call (the answer carries every ICE candidate, there is no follow-up
request), and the media then flows to the UDP ports of that worker's peer connection; a LiveKit dispatch is
joined by the worker that received it.

What the workers share:
- the call limits (per machine, per address) and the rate limits per address (offers, LiveKit tokens): tables
  in shared memory (taina/http/machine_calls.py);
- the failed-login limiter: already in PostgreSQL;
- the dashboard's settings: a change is announced with NOTIFY and applied by every worker
  (adapters/settings_db.py);
- /metrics: prometheus-client's multiprocess mode, in a folder the supervisor empties at start; a dead worker's
  live gauges are dropped, its counters kept.

A worker that dies is replaced (the same index). Its calls die with it: the supervisor ends their conversations
in the journal (adapters/conversation_journal.py: end_lost; every worker process has a run id of its own, kept on
the conversations it starts, so only the dead one's are touched), at their last turn with end reason
'worker_lost'; their spools are unlocked by the kernel and the replacement finishes them at start
(adapters/recordings.py: recover), so what was said is kept and the end moves on to the recording's length.
Ending them is retried while the database cannot be reached, and done for every worker when the supervisor
stops. SIGTERM is passed to every worker, each drains (taina/http/drain.py); the
supervisor exits when they all have, then stops the database. A second SIGTERM, or SIGINT, is passed on too.

Only the first worker loads the sample documents (the others start once it is up), takes the daily backup and
enforces the retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from taina.http.machine_calls import MachineCalls, MachineRates
    from taina.settings import Settings

log = structlog.get_logger("taina.workers")

CRASH_WINDOW_S = 30.0  # a worker dying this soon after it started counts towards a crash loop
CRASH_LIMIT = 5  # that many in a row, and the supervisor gives up (exit 1)
START_LIMIT_S = 600.0  # how long a worker may take to load its models and answer
END_LOST_TIMEOUT_S = 5.0  # the supervisor's wait for the database when ending a dead worker's conversations
END_LOST_RETRY_S = 10.0  # and the pause before trying again when it could not
PR_SET_PDEATHSIG = 1


@dataclass
class WorkerPlace:
    """Which worker this process is, and what it shares with the others."""

    index: int
    count: int
    calls: MachineCalls
    rates: MachineRates
    run: str = ""  # this process's run id: the owner of the conversations it starts


def worker_count(setting: int, cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """``setting``, or with 0 one per core this process may use: the cores it may run on, and no more than
    its cgroup's CPU quota allows (a container limited to 2 CPUs on a 32-core node starts 2 workers)."""
    if setting > 0:
        return setting
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to read: the cores it may run on
    return cores


@dataclass
class _Worker:
    index: int
    process: Any  # multiprocessing's SpawnProcess
    ready: Any  # its multiprocessing Event
    run: str  # its run id (WorkerPlace.run)
    started: float = field(default_factory=time.monotonic)


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, settings: Settings, host: str, port: int, count: int) -> None:
        self.settings = settings
        self.host, self.port, self.count = host, port, count
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, _Worker] = {}
        self.stopping = False
        self.signals: list[int] = []
        self.passed: set[int] = set()  # exit codes of a worker ended by a signal passed on: -SIGTERM, -SIGINT
        self.crashes = 0
        self.database_url = ""
        self.lost: list[str] = []  # run ids of dead workers whose open conversations are not ended yet
        self.lost_retry_at = 0.0

    def run(self) -> int:
        from adapters.postgres import DatabaseError, EmbeddedPostgres

        try:
            sock = listening_socket(self.host, self.port)
        except OSError as exc:
            print(f"taina: error: cannot listen on {self.host}:{self.port}: {exc}", file=sys.stderr)
            return 1
        scratch = Path(tempfile.mkdtemp(prefix="taina-workers-"))
        metrics_dir = scratch / "metrics"
        metrics_dir.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # the workers inherit it
        database: EmbeddedPostgres | None = None
        try:
            if not self.settings.database.url:
                from adapters.private import private_dir

                private_dir(self.settings.data_dir, pass_through=True)  # as App.open makes it
                try:
                    database = EmbeddedPostgres(self.settings.data_dir / "postgres")
                except Exception as exc:
                    raise DatabaseError(f"could not start the embedded PostgreSQL: {exc}") from exc
                os.environ["DATABASE_URL"] = database.url  # the workers use this one server
            self.database_url = self.settings.database.url or (database.url if database is not None else "")
            from taina.http.machine_calls import MachineCalls, MachineRates

            self.calls = MachineCalls(self.count, scratch / "calls.lock", self.context)
            self.rates = MachineRates(scratch / "calls.lock", self.context)
            self.sock = sock
            self.metrics_dir = metrics_dir
            return self._supervise()
        except DatabaseError as exc:
            print(f"taina: error: {exc}", file=sys.stderr)
            return 1
        finally:
            sock.close()
            if database is not None:
                database.stop()
            shutil.rmtree(scratch, ignore_errors=True)

    def _supervise(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        first = self._start(0, samples=True)
        print(
            f"TAINA Voice: {self.count} workers starting on {self.host}:{self.port}.",
            file=sys.stderr,
            flush=True,
        )
        while not first.ready.is_set():  # it loads the sample documents, and migrates, alone
            if not first.process.is_alive():
                self._reap()
                return first.process.exitcode or 1
            if self.stopping:  # told to stop while it starts: it is told too, and nothing else starts
                break
            if time.monotonic() - first.started > START_LIMIT_S:
                self._stop_all()
                return 1
            first.ready.wait(0.2)
            self._pass_signals()
        for index in range(1, self.count):
            if self.stopping:
                break
            self._start(index, samples=False)
        return self._watch()

    def _watch(self) -> int:
        while True:
            self._pass_signals()
            alive = [w for w in self.workers.values() if w.process.is_alive()]
            if self.stopping and not alive:
                # Whatever a worker left open (a kill during the drain, records it could not write) is over.
                self._end_lost([w.run for w in self.workers.values()])
                codes = [w.process.exitcode for w in self.workers.values()]
                log.info("workers.stopped", exit_codes=codes)
                # One still loading when the signal came had no calls: ended by the signal, it stopped cleanly.
                clean = all(
                    c == 0 or (c in self.passed and not w.ready.is_set())
                    for w, c in zip(self.workers.values(), codes, strict=True)
                )
                return 0 if clean else 1
            sentinels = [w.process.sentinel for w in alive]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            for worker in list(self.workers.values()):
                if worker.process.is_alive() or self.stopping:
                    continue
                self._bury(worker)
                quick = time.monotonic() - worker.started < CRASH_WINDOW_S
                self.crashes = self.crashes + 1 if quick else 0
                if self.crashes >= CRASH_LIMIT:
                    log.error("workers.crash_loop", deaths=self.crashes, window_s=CRASH_WINDOW_S)
                    self._stop_all()
                    self._end_lost([w.run for w in self.workers.values()])
                    return 1
                log.error(
                    "worker.died",
                    worker=worker.index,
                    pid=worker.process.pid,
                    exit_code=worker.process.exitcode,
                )
                self._end_lost([worker.run])
                self._start(worker.index, samples=False)
            if self.lost and time.monotonic() >= self.lost_retry_at:
                self._end_lost([])

    def _start(self, index: int, samples: bool) -> _Worker:
        ready = self.context.Event()
        run = f"{socket.gethostname()}/{os.getpid()}/{index}/{secrets.token_hex(6)}"
        place = WorkerPlace(index, self.count, self.calls.for_worker(index), self.rates, run)
        process = self.context.Process(
            target=run_worker,
            args=(place, self.sock, ready, self.host, self.port, samples, os.getpid()),
            name=f"taina-worker-{index}",
        )
        process.start()
        worker = _Worker(index, process, ready, run)
        self.workers[index] = worker
        log.info("worker.started", worker=index, pid=process.pid, run=run)
        return worker

    def _bury(self, worker: _Worker) -> None:
        """A worker is gone: its calls no longer count, its live gauges are dropped."""
        from prometheus_client import multiprocess

        self.calls.clear(worker.index)
        if worker.process.pid is not None:
            multiprocess.mark_process_dead(worker.process.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]

    def _end_lost(self, runs: list[str]) -> None:
        """End the open conversations of the dead workers ``runs`` (and of those not ended before); those the
        database could not take wait for the next try, END_LOST_RETRY_S on."""
        for run in runs:
            if run not in self.lost:
                self.lost.append(run)
        if not self.lost or not self.database_url:
            return
        try:
            ended = asyncio.run(_end_lost(self.database_url, list(self.lost)))
        except Exception as exc:  # the database down or refusing: the calls stay open until a later try
            self.lost_retry_at = time.monotonic() + END_LOST_RETRY_S
            log.error(
                "workers.end_lost_failed",
                runs=list(self.lost),
                error=f"{type(exc).__name__}: {exc}",
                retry_in_s=END_LOST_RETRY_S,
            )
            return
        for run, count in ended.items():
            if count:
                log.warning("workers.conversations_lost", run=run, conversations=count)
        self.lost.clear()

    def _on_signal(self, sig: int, _frame: FrameType | None) -> None:
        self.signals.append(sig)
        self.stopping = True

    def _pass_signals(self) -> None:
        while self.signals:
            sig = self.signals.pop(0)
            self.passed.add(-sig)
            log.info("workers.signal", signal=signal.Signals(sig).name, workers=len(self.workers))
            for worker in self.workers.values():
                if worker.process.is_alive() and worker.process.pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.process.pid, sig)

    def _stop_all(self) -> None:
        self.stopping = True
        for worker in self.workers.values():
            if worker.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + self.settings.http.drain_s + 30
        for worker in self.workers.values():
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(15)

    def _reap(self) -> None:
        for worker in self.workers.values():
            worker.process.join(5)


async def _end_lost(url: str, runs: list[str]) -> dict[str, int]:
    """Each run id: how many of its conversations were ended (one connection, one transaction)."""
    import asyncpg

    from adapters.conversation_journal import end_lost

    async with asyncio.timeout(END_LOST_TIMEOUT_S):
        connection = await asyncpg.connect(url, timeout=END_LOST_TIMEOUT_S)
        try:
            async with connection.transaction():
                return {run: await end_lost(connection, run) for run in runs}
        finally:
            await connection.close()


def supervise(settings: Settings, host: str, port: int, count: int) -> int:
    return Supervisor(settings, host, port, count).run()


def run_worker(
    place: WorkerPlace, sock: socket.socket, ready: Any, host: str, port: int, samples: bool, supervisor: int
) -> None:
    """A worker process: the whole app, serving the shared socket until SIGTERM."""
    from taina.cli import _settings, _with_app

    # Linux: if the supervisor is killed (SIGKILL, the OOM killer), the workers die with it at once, as the
    # single process would have: their calls' spools are let go, for the next start to recover.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if (
        os.getppid() != supervisor
    ):  # it died while this process was starting, before the line above: no signal
        os._exit(1)  # will come, and a worker serving on alone would answer for a server that is gone
    os.setpgid(0, 0)  # a terminal's Ctrl-C reaches the supervisor only, which passes it on once
    settings = _settings()
    structlog.contextvars.bind_contextvars(worker=place.index)

    async def work(app: Any) -> int:
        from adapters.conversation_journal import PostgresJournal
        from taina.http.app import server_config
        from taina.http.drain import DrainingServer

        if isinstance(app.journal, PostgresJournal):  # the calls it starts are this process's
            app.journal.owner = place.run
        web = app.http(place)
        config = server_config(web, host, port, log_level="warning", access_log=False)
        server = DrainingServer(config, web.state.sessions, settings.http.drain_s)

        async def tell_when_up() -> None:
            while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
                await asyncio.sleep(0.05)
            ready.set()

        up = asyncio.create_task(tell_when_up())
        await server.serve(sockets=[sock])
        up.cancel()
        return 0

    sys.exit(asyncio.run(_with_app(settings, work, speech=True, samples=samples)))
