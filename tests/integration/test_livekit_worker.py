"""LiveKit's agent worker protocol between the engine's client (adapters/livekit_worker.py) and the LiveKit test
server's ``/agent`` endpoint on 127.0.0.1 (no WebRTC: the jobs here are calls that last until the test ends
them; the engine joining rooms through real jobs is in tests/e2e/test_livekit.py).

Checked: registration with the agent grant (a bad or expired token never registers), availability answered by
capacity, the server choosing the least loaded worker, a full worker refusing, job status reported, load
updates, drain (full at once, the call finishes, then unregistered), reconnection after the server goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from livekit import api
from livekit.protocol import agent

from adapters.livekit_transport import LiveKitSettings
from adapters.livekit_worker import AgentWorker, Assignment
from tests.support.livekit_server import LiveKitTestServer
from tests.support.servers import free_port

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"


@dataclass
class Calls:
    """The jobs' calls (each ends when the test says so), and what the worker was given."""

    limit: int
    assignments: list[Assignment] = field(default_factory=list)
    ending: dict[str, asyncio.Event] = field(default_factory=dict)
    fail_rooms: set[str] = field(default_factory=set)

    async def run_job(self, assignment: Assignment) -> Call:
        if assignment.room in self.fail_rooms:
            raise LookupError(f"there is no room {assignment.room!r} on the LiveKit server")
        self.assignments.append(assignment)
        end = self.ending[assignment.job_id] = asyncio.Event()
        return Call(end)

    def capacity(self) -> tuple[int, int]:
        return sum(not e.is_set() for e in self.ending.values()), self.limit

    def end_all(self) -> None:
        for end in self.ending.values():
            end.set()


@dataclass
class Call:
    end: asyncio.Event

    async def finished(self) -> None:
        await self.end.wait()

    async def stop(self) -> None:
        self.end.set()


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def server() -> AsyncIterator[LiveKitTestServer]:
    lk = LiveKitTestServer("127.0.0.1", free_port(), KEY, SECRET)
    await lk.start()
    try:
        yield lk
    finally:
        await lk.stop()


def settings(server: LiveKitTestServer, secret: str = SECRET) -> LiveKitSettings:
    return LiveKitSettings(url=server.url, api_key=KEY, api_secret=secret, agent_name="taina")


@pytest.fixture
async def workers(server: LiveKitTestServer) -> AsyncIterator[Callable[[int], tuple[AgentWorker, Calls]]]:
    made: list[tuple[AgentWorker, Calls]] = []

    def make(limit: int) -> tuple[AgentWorker, Calls]:
        calls = Calls(limit)
        worker = AgentWorker(settings(server), calls.run_job, calls.capacity, status_interval_s=0.3,
                             backoff_max_s=0.5)  # fmt: skip
        worker.start()
        made.append((worker, calls))
        return worker, calls

    yield make
    for worker, calls in made:
        calls.end_all()
        await worker.close()


async def test_jobs_go_to_the_least_loaded_worker_and_a_full_one_says_no(
    server: LiveKitTestServer, workers: Callable[[int], tuple[AgentWorker, Calls]]
) -> None:
    a, calls_a = workers(2)
    await asyncio.wait_for(a.registered.wait(), 10)
    first = await server.dispatch_job("taina-r1", "taina")
    assert first.worker == a.worker_id
    await until(lambda: first.status == agent.JobStatus.JS_RUNNING)
    await until(lambda: server.workers[a.worker_id].load == 0.5)  # 1 call of 2

    b, calls_b = workers(1)
    await asyncio.wait_for(b.registered.wait(), 10)
    assert {w.agent_name for w in server.workers.values()} == {"taina"}
    second = await server.dispatch_job("taina-r2", "taina")
    assert second.asked[0] == b.worker_id and second.worker == b.worker_id  # the less loaded one
    await until(lambda: len(calls_b.assignments) == 1)
    (given,) = calls_b.assignments
    assert given.room == "taina-r2" and given.job_id == second.job.id
    claims = api.TokenVerifier(KEY, SECRET).verify(given.token)  # joins with the assignment's token
    assert claims.video is not None and claims.video.room == "taina-r2" and claims.video.agent
    await until(lambda: b.load() == (1, 1))
    await until(lambda: server.workers[b.worker_id].status == agent.WorkerStatus.WS_FULL)

    third = await server.dispatch_job("taina-r3", "taina")  # b is full: a takes it (2 of 2)
    assert third.worker == a.worker_id
    await until(lambda: server.workers[a.worker_id].status == agent.WorkerStatus.WS_FULL)
    fourth = await server.dispatch_job("taina-r4", "taina")
    assert fourth.worker == "" and fourth.status == agent.JobStatus.JS_FAILED  # both full: no one took it

    # A full worker asked anyway (its status not yet seen by the server) answers no.
    server.workers[b.worker_id].status = agent.WorkerStatus.WS_AVAILABLE
    refused = await server.dispatch_job("taina-r5", "taina")
    assert refused.asked == [b.worker_id] and refused.worker == ""

    calls_a.end_all()  # the calls end: the jobs report success and the load goes down
    await until(
        lambda: server.jobs[first.job.id].status == agent.JobStatus.JS_SUCCESS or first.worker != a.worker_id
    )
    await until(lambda: server.workers[a.worker_id].load == 0.0)
    assert server.jobs[third.job.id].status == agent.JobStatus.JS_SUCCESS


async def test_a_job_whose_room_cannot_be_joined_is_reported_failed(
    server: LiveKitTestServer, workers: Callable[[int], tuple[AgentWorker, Calls]]
) -> None:
    worker, calls = workers(1)
    await asyncio.wait_for(worker.registered.wait(), 10)
    calls.fail_rooms.add("taina-gone")
    job = await server.dispatch_job("taina-gone", "taina")
    assert job.worker == worker.worker_id
    await until(lambda: job.status == agent.JobStatus.JS_FAILED)
    assert "no room" in job.error
    await until(lambda: worker.jobs == 0 and worker.load() == (0, 1))  # the slot is free again
    assert (await server.dispatch_job("taina-next", "taina")).worker == worker.worker_id


async def test_drain_refuses_new_jobs_lets_the_call_finish_then_unregisters(
    server: LiveKitTestServer, workers: Callable[[int], tuple[AgentWorker, Calls]]
) -> None:
    worker, calls = workers(3)
    await asyncio.wait_for(worker.registered.wait(), 10)
    job = await server.dispatch_job("taina-d1", "taina")
    await until(lambda: job.status == agent.JobStatus.JS_RUNNING)
    draining = asyncio.create_task(worker.drain(timeout_s=20))
    await until(lambda: server.workers[worker.worker_id].draining)
    assert server.workers[worker.worker_id].status == agent.WorkerStatus.WS_FULL
    refused = await server.dispatch_job("taina-d2", "taina")
    assert refused.worker == "" and refused.asked == []  # a draining worker is not even asked
    assert not draining.done() and worker.worker_id in server.workers  # the call goes on
    calls.end_all()
    assert await asyncio.wait_for(draining, 10) is True
    await until(lambda: worker.worker_id not in server.workers)
    assert job.status == agent.JobStatus.JS_SUCCESS
    assert (worker.worker_id, "unregistered", None) in server.worker_log


async def test_a_bad_or_expired_token_never_registers(server: LiveKitTestServer) -> None:
    calls = Calls(1)
    worker = AgentWorker(settings(server, secret="x" * 40), calls.run_job, calls.capacity, backoff_max_s=0.2)
    worker.start()
    await asyncio.sleep(1.5)
    assert not worker.registered.is_set() and not server.workers
    await worker.close()


async def test_the_worker_registers_again_when_the_server_comes_back(
    server: LiveKitTestServer, workers: Callable[[int], tuple[AgentWorker, Calls]]
) -> None:
    worker, calls = workers(2)
    await asyncio.wait_for(worker.registered.wait(), 10)
    job = await server.dispatch_job("taina-k1", "taina")
    await until(lambda: job.status == agent.JobStatus.JS_RUNNING)
    first_id = worker.worker_id
    await server.stop()  # the server goes away: the worker retries with backoff
    await until(lambda: not worker.registered.is_set())
    await asyncio.sleep(1.0)
    await server.start()
    await until(lambda: worker.registrations == 2, within=15)
    assert worker.worker_id != first_id and worker.worker_id in server.workers
    # The call that went on meanwhile is still counted, and reported running to the new server.
    await until(lambda: server.workers[worker.worker_id].load == 0.5)
    calls.end_all()
    await until(lambda: server.workers[worker.worker_id].load == 0.0)
