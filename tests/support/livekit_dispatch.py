"""The agent worker side of the LiveKit test server (``GET /agent``, LiveKit's agent worker protocol): workers
register with a token carrying the agent grant, report status and load, answer availability requests, and take
jobs; ``dispatch_job`` gives a job to the least loaded available worker of an agent name that says yes."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from livekit.api import AccessToken, TokenVerifier, VideoGrants
from livekit.protocol import agent, models

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from tests.support.livekit_server import Room


def _sid(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class AgentWorker:
    """A worker registered on ``/agent`` (LiveKit's agent worker protocol)."""

    id: str
    agent_name: str
    ws: web.WebSocketResponse
    status: int = agent.WorkerStatus.WS_AVAILABLE
    load: float = 0.0
    job_count: int = 0
    draining: bool = False
    answers: dict[str, asyncio.Future[agent.AvailabilityResponse]] = field(default_factory=dict)

    async def send(self, message: agent.ServerMessage) -> None:
        await self.ws.send_bytes(message.SerializeToString())


@dataclass
class Job:
    """A dispatch and what became of it: the workers asked (in order), the one assigned, its reported status."""

    job: agent.Job
    asked: list[str] = field(default_factory=list)
    worker: str = ""
    status: int = agent.JobStatus.JS_PENDING
    error: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)  # assigned, or no worker took it


class AgentDispatch:
    """The agent workers and jobs of a LiveKit test server (its base class)."""

    api_key: str
    api_secret: str
    verifier: TokenVerifier
    rooms: dict[str, Room]
    workers: dict[str, AgentWorker]
    jobs: dict[str, Job]
    worker_log: list[tuple[str, str, Any]]

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        raise NotImplementedError

    async def _agent(self, request: web.Request) -> web.StreamResponse:
        """LiveKit's agent worker WebSocket: a token with the agent grant, then RegisterWorkerRequest first."""
        try:
            header = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            claims = self.verifier.verify(header)
            if claims.video is None or not claims.video.agent:
                raise PermissionError("the token has no agent grant")
        except Exception as exc:
            return web.Response(status=401, text=f"invalid token: {exc}")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        try:
            async with asyncio.timeout(10):
                first = await ws.receive()
            message = agent.WorkerMessage.FromString(first.data) if first.type == WSMsgType.BINARY else None
        except (TimeoutError, Exception):
            message = None
        if message is None or message.WhichOneof("message") != "register":
            await ws.close(code=1008, message=b"register first")
            return ws
        worker = AgentWorker(_sid("AW"), message.register.agent_name, ws)
        self.workers[worker.id] = worker
        self.worker_log.append((worker.id, "registered", worker.agent_name))
        await worker.send(
            agent.ServerMessage(
                register=agent.RegisterWorkerResponse(
                    worker_id=worker.id, server_info=models.ServerInfo(version="1.9.0")
                )
            )
        )
        try:
            async for frame in ws:
                if frame.type != WSMsgType.BINARY:
                    continue
                self._worker_message(worker, agent.WorkerMessage.FromString(frame.data))
        finally:
            self.workers.pop(worker.id, None)
            self.worker_log.append((worker.id, "unregistered", None))
            for answer in worker.answers.values():
                if not answer.done():
                    answer.cancel()
        return ws

    def _worker_message(self, worker: AgentWorker, message: agent.WorkerMessage) -> None:
        which = message.WhichOneof("message")
        if which == "availability":
            answer = worker.answers.pop(message.availability.job_id, None)
            if answer is not None and not answer.done():
                answer.set_result(message.availability)
        elif which == "update_worker":
            update = message.update_worker
            worker.status, worker.load = update.status, update.load
            worker.job_count, worker.draining = update.job_count, update.draining
            self.worker_log.append(
                (worker.id, "status", (update.status, round(update.load, 3), update.draining))
            )
        elif which == "update_job":
            found = self.jobs.get(message.update_job.job_id)
            if found is not None:
                found.status, found.error = message.update_job.status, message.update_job.error
        elif which == "ping":
            self._spawn(worker.send(agent.ServerMessage(pong=agent.WorkerPong(
                last_timestamp=message.ping.timestamp, timestamp=_now_ms()))))  # fmt: skip

    async def dispatch_job(self, room_name: str, agent_name: str, metadata: str = "") -> Job:
        """A job for ``room_name``: the available workers of ``agent_name``, least loaded first, are asked until
        one says yes; it is assigned the job with a token for the room."""
        found_room = self.rooms.get(room_name)
        job = Job(
            agent.Job(
                id=_sid("AJ"),
                dispatch_id=_sid("AD"),
                type=agent.JobType.JT_ROOM,
                room=found_room.proto() if found_room else models.Room(name=room_name),
                agent_name=agent_name,
                metadata=metadata,
            )
        )
        self.jobs[job.job.id] = job
        candidates = sorted(
            (
                w
                for w in self.workers.values()
                if w.agent_name == agent_name
                and w.status == agent.WorkerStatus.WS_AVAILABLE
                and not w.draining
            ),
            key=lambda w: w.load,
        )
        for worker in candidates:
            job.asked.append(worker.id)
            answer: asyncio.Future[agent.AvailabilityResponse] = asyncio.get_running_loop().create_future()
            worker.answers[job.job.id] = answer
            try:
                await worker.send(agent.ServerMessage(availability=agent.AvailabilityRequest(job=job.job)))
                async with asyncio.timeout(5):
                    said = await answer
            except (TimeoutError, asyncio.CancelledError, ConnectionError, RuntimeError):
                continue
            if not said.available:
                continue
            identity = said.participant_identity or f"agent-{job.job.id}"
            token = (
                AccessToken(self.api_key, self.api_secret)
                .with_identity(identity)
                .with_name(said.participant_name or identity)
                .with_kind("agent")
                .with_grants(VideoGrants(room_join=True, room=room_name, agent=True, can_publish=True,
                                         can_subscribe=True, can_publish_data=True, can_update_own_metadata=True))
                .to_jwt()
            )  # fmt: skip
            await worker.send(agent.ServerMessage(assignment=agent.JobAssignment(job=job.job, token=token)))
            job.worker = worker.id
            job.done.set()
            return job
        job.status, job.error = agent.JobStatus.JS_FAILED, "no worker took the job"
        job.done.set()
        return job
