"""The engine's side of LiveKit's agent worker protocol (livekit-protocol's ``agent`` messages over the server's
``/agent`` WebSocket), the way LiveKit spreads calls over many engine processes:

1. Connect with a token carrying the agent grant and register (RegisterWorkerRequest with the agent name); the
   server answers with the worker's id.
2. When a room needs an agent the server asks (AvailabilityRequest); the worker says yes while it has room for
   another call (active calls, plus jobs it said yes to, under its limit), and no when full or draining.
3. JobAssignment: the worker joins the job's room with the assignment's token (``run_job``) and reports the job
   RUNNING, then SUCCESS or FAILED when the call ends (UpdateJobStatus). JobTermination stops the call.
4. UpdateWorkerStatus (load = calls / limit, status AVAILABLE or FULL, job count) every few seconds and at once
   when a job starts or ends, so the server sends new calls to the least loaded worker.
5. ``drain()``: status FULL and ``draining`` (no new jobs accepted), the current calls finish, then the worker
   unregisters (closes its WebSocket).

If the WebSocket drops, the worker connects and registers again with a growing delay (0.5 s doubling to
``backoff_max_s``); the calls in progress go on meanwhile (they are WebRTC in their rooms, not on this socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import structlog
from livekit import api
from livekit.protocol import agent, models

from adapters.livekit_transport import LiveKitSettings, NotConfigured

log = structlog.get_logger("taina.livekit")

PROTOCOL_VERSION = "taina-1"
_PENDING_S = 15.0  # a "yes" to an availability request holds a slot this long, waiting for the assignment


@dataclass(frozen=True)
class Assignment:
    job_id: str
    room: str
    url: str  # empty: the worker's own LIVEKIT_URL
    token: str
    metadata: str


class RunningJob(Protocol):
    async def finished(self) -> None:
        """Returns when the call is over; raises if it failed."""

    async def stop(self) -> None:
        """End the call now (the server terminated the job)."""


RunJob = Callable[[Assignment], Awaitable[RunningJob]]
Capacity = Callable[[], tuple[int, int]]  # (calls in progress, the most this process takes)


def worker_url(url: str) -> str:
    base = url.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    return f"{base}/agent"


class AgentWorker:
    def __init__(
        self,
        settings: LiveKitSettings,
        run_job: RunJob,
        capacity: Capacity,
        *,
        draining: Callable[[], bool] = lambda: False,
        status_interval_s: float = 2.0,
        backoff_max_s: float = 10.0,
    ) -> None:
        """``capacity``: the process's calls and its limit; ``draining``: whether its owner is shutting down
        (then no new jobs, as after ``drain()``)."""
        if not settings.enabled:
            raise NotConfigured(
                "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        self.settings = settings
        self._run_job = run_job
        self._capacity = capacity
        self._owner_draining = draining
        self._interval = status_interval_s
        self._backoff_max = backoff_max_s
        self.worker_id = ""
        self.registered = asyncio.Event()
        self.registrations = 0  # how many times it registered (reconnections show here)
        self.draining = False
        self._closed = False
        self._pending: dict[str, float] = {}  # job id -> when the "yes" expires
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, RunningJob] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._updates: set[asyncio.Future[None]] = set()

    # -- life ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="livekit-worker")

    async def drain(self, timeout_s: float) -> bool:
        """No new jobs; wait (``timeout_s`` at most) for the current ones to end; then unregister. True if
        every job ended in time."""
        self.draining = True
        log.info("livekit.worker_draining", jobs=len(self._jobs), limit_s=timeout_s)
        await self._send_status()
        jobs = list(self._jobs.values())
        ended = True
        if jobs:
            _, left = await asyncio.wait(jobs, timeout=timeout_s)
            ended = not left
        await self.close()
        return ended

    async def close(self) -> None:
        """Unregister (close the WebSocket) and stop reconnecting; calls in progress are left to their owner."""
        self._closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        log.info("livekit.worker_closed", worker=self.worker_id)

    @property
    def jobs(self) -> int:
        return len(self._jobs)

    def load(self) -> tuple[int, int]:
        """(calls counted against the limit, the limit): the process's calls plus the jobs promised."""
        self._expire_pending()
        active, limit = self._capacity()
        return active + len(self._pending), max(1, limit)

    @property
    def is_draining(self) -> bool:
        return self.draining or self._owner_draining()

    def available(self) -> bool:
        busy, limit = self.load()
        return not self.is_draining and not self._closed and busy < limit

    # -- the connection -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.5
        async with aiohttp.ClientSession() as http:
            while not self._closed:
                try:
                    await self._connect(http)
                    delay = 0.5  # it was registered: the next drop starts the backoff again
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("livekit.worker_connect_failed", error=f"{exc.__class__.__name__}: {exc}")
                self.registered.clear()
                self._ws = None
                if self._closed:
                    break
                log.info("livekit.worker_reconnecting", in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)

    async def _connect(self, http: aiohttp.ClientSession) -> None:
        token = (
            api.AccessToken(self.settings.api_key, self.settings.api_secret)
            .with_ttl(datetime.timedelta(minutes=10))
            .with_grants(api.VideoGrants(agent=True))
            .to_jwt()
        )
        async with http.ws_connect(
            worker_url(self.settings.url), headers={"Authorization": f"Bearer {token}"}, heartbeat=15
        ) as ws:
            await ws.send_bytes(
                agent.WorkerMessage(
                    register=agent.RegisterWorkerRequest(
                        type=agent.JobType.JT_ROOM,
                        agent_name=self.settings.agent_name,
                        version=PROTOCOL_VERSION,
                        allowed_permissions=models.ParticipantPermission(
                            can_publish=True, can_subscribe=True, can_publish_data=True, agent=True
                        ),
                    )
                ).SerializeToString()
            )
            async with asyncio.timeout(10):
                first = await ws.receive()
            if first.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"the server did not register the worker ({first.type.name})")
            answer = agent.ServerMessage.FromString(first.data)
            if answer.WhichOneof("message") != "register":
                raise ConnectionError("expected the register response first")
            self._ws = ws
            self.worker_id = answer.register.worker_id
            self.registrations += 1
            self.registered.set()
            log.info("livekit.worker_registered", worker=self.worker_id, agent=self.settings.agent_name)
            for job_id in list(self._running):  # jobs that went on while the socket was down
                await self._send(agent.WorkerMessage(update_job=agent.UpdateJobStatus(
                    job_id=job_id, status=agent.JobStatus.JS_RUNNING)))  # fmt: skip
            await self._send_status()
            ticker = asyncio.create_task(self._tick(), name="livekit-worker-status")
            try:
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.BINARY:
                        continue
                    await self._handle(agent.ServerMessage.FromString(message.data))
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            if not self._closed:
                raise ConnectionError(f"the server closed the worker's connection ({ws.close_code})")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._send_status()

    async def _send(self, message: agent.WorkerMessage) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return  # reported again on the next registration
        try:
            await ws.send_bytes(message.SerializeToString())
        except ConnectionError as exc:
            log.info("livekit.worker_send_failed", error=repr(exc))

    async def _send_status(self) -> None:
        busy, limit = self.load()
        draining = self.is_draining
        full = draining or busy >= limit
        self._seq += 1
        await self._send(
            agent.WorkerMessage(
                update_worker=agent.UpdateWorkerStatus(
                    status=agent.WorkerStatus.WS_FULL if full else agent.WorkerStatus.WS_AVAILABLE,
                    load=min(1.0, busy / limit),
                    job_count=len(self._jobs),
                    draining=draining,
                    seq=self._seq,
                )
            )
        )

    # -- the server's messages ----------------------------------------------------------------------------------

    async def _handle(self, message: agent.ServerMessage) -> None:
        which = message.WhichOneof("message")
        if which == "availability":
            await self._availability(message.availability)
        elif which == "assignment":
            self._assigned(message.assignment)
        elif which == "termination":
            running = self._running.get(message.termination.job_id)
            if running is not None:
                log.info("livekit.job_terminated", job=message.termination.job_id)
                await running.stop()

    async def _availability(self, request: agent.AvailabilityRequest) -> None:
        job = request.job
        yes = self.available()
        if yes:
            self._pending[job.id] = time.monotonic() + _PENDING_S
        log.info("livekit.job_offered", job=job.id, room=job.room.name, available=yes)
        await self._send(
            agent.WorkerMessage(
                availability=agent.AvailabilityResponse(
                    job_id=job.id,
                    available=yes,
                    participant_identity=f"{self.settings.agent_name}-{job.id}"[:128] if yes else "",
                    participant_name="TAINA" if yes else "",
                )
            )
        )
        if yes:
            await self._send_status()

    def _assigned(self, assignment: agent.JobAssignment) -> None:
        job = assignment.job
        self._pending.pop(job.id, None)
        if self._closed or job.id in self._jobs:
            return
        given = Assignment(job.id, job.room.name, assignment.url, assignment.token, job.metadata)
        task = asyncio.create_task(self._job(given), name=f"livekit-job-{job.id}")
        self._jobs[job.id] = task

        def ended(_task: asyncio.Task[None]) -> None:
            self._jobs.pop(job.id, None)
            self._running.pop(job.id, None)
            if not self._closed:  # the load went down: say so now
                update = asyncio.ensure_future(self._send_status())
                self._updates.add(update)
                update.add_done_callback(self._updates.discard)

        task.add_done_callback(ended)

    async def _job(self, assignment: Assignment) -> None:
        job_id = assignment.job_id
        try:
            running = await self._run_job(assignment)
        except Exception as exc:
            log.warning("livekit.job_failed", job=job_id, room=assignment.room, error=repr(exc))
            await self._job_status(job_id, agent.JobStatus.JS_FAILED, f"{exc.__class__.__name__}: {exc}")
            return
        self._running[job_id] = running
        await self._job_status(job_id, agent.JobStatus.JS_RUNNING)
        await self._send_status()
        try:
            await running.finished()
        except Exception as exc:
            await self._job_status(job_id, agent.JobStatus.JS_FAILED, f"{exc.__class__.__name__}: {exc}")
            return
        await self._job_status(job_id, agent.JobStatus.JS_SUCCESS)

    async def _job_status(self, job_id: str, status: agent.JobStatus, error: str = "") -> None:
        log.info("livekit.job_status", job=job_id, status=agent.JobStatus.Name(status), error=error or None)
        await self._send(
            agent.WorkerMessage(
                update_job=agent.UpdateJobStatus(job_id=job_id, status=status, error=error[:500])
            )
        )

    def _expire_pending(self) -> None:
        now = time.monotonic()
        for job_id in [j for j, until in self._pending.items() if until < now]:
            del self._pending[job_id]
