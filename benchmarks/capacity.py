"""How many real WebRTC calls the engine carries in real time, with one worker process and with one per core,
with the conversation journal and the call recordings on (as in production), and what each call costs.

The engine runs in processes of its own (``benchmarks.capacity_server``, one per worker: the real aiortc
transport, Opus both ways, the paced playout, sessions answered by the scripted providers, turns written to an
embedded PostgreSQL and calls spooled for their recordings). This process holds the callers: aiortc peers on
127.0.0.1 sending Opus-encoded speech in real time (a question, then a pause for the answer, over and over),
spread over the workers in turn, listening to what comes back and counting the replies they hear. Calls are
added level by level; at each level, over a steady window, are read: every worker's CPU and memory, the
database's CPU, the callers' own CPU, the reply frames missed (due by the wall clock since each call's first
frame, less those handed out: a stall of any length counts) and late (a frame after its time), the turns the
engine completed, and the questions the callers asked against the replies they heard. A level keeps real time
when no frame is missed, at most 1% are late, every call still runs, no session failed, and every question
asked in the window was answered (the caller heard the reply start within ANSWER_WITHIN_S). Raising stops at
the first level that does not.

Reported, for one worker: sessions per core at real time (sessions / the worker's CPU share at the highest
level that kept real time); for all workers: the most calls the machine kept in real time. On a machine whose
cores the callers share, the callers' CPU is reported beside the engine's: when they cannot fit, the level
fails for them, not for the engine, and the engine's CPU per call is the figure to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from adapters.library_patches import offer_ice_addresses
from benchmarks.latency import spoken_question

LEVELS_ONE_WORKER = (8, 16, 20, 25, 30, 35, 40)
LEVELS_ALL_WORKERS = (16, 30, 40, 45, 50, 60)
WARMUP_S = 4.0
WINDOW_S = 10.0
MAX_LATE_SHARE = 0.01
PAUSE_S = 4.5  # after each question: the reply (4 clauses of 0.6 s) and its latency fit in it
TARGET_PER_CORE = 25
TARGET_MACHINE = 45
TARGET_MB_PER_SESSION = 5.0
ANSWER_WITHIN_S = 2.5  # a caller hears the reply's first audio this soon after its question, or it is missing
REPLY_RMS = 500.0  # a received frame this loud is reply audio (the scripted voice: a 220 Hz tone, -14 dBFS)
ROOT = Path(__file__).resolve().parent.parent


class CallerTrack(MediaStreamTrack):
    """A caller's microphone: the recording, looped, one 20 ms frame every 20 ms."""

    kind = "audio"

    def __init__(self, audio: np.ndarray, offset: int, question_end: int = 0) -> None:
        super().__init__()
        self._audio = audio
        self._position = offset
        self._start: float | None = None
        self._sent = 0
        self._question_end = question_end  # where in ``audio`` the question is over
        self.questions: list[float] = []  # when each question was asked whole

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._sent * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        end = self._position + 960
        if end > len(self._audio):
            self._position, end = 0, 960
        samples = self._audio[self._position : end]
        if self._position < self._question_end <= end:
            self.questions.append(time.monotonic())
        self._position = end
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self._sent * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        self._sent += 1
        return frame


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


@dataclass
class Caller:
    pc: RTCPeerConnection
    microphone: CallerTrack
    replies: list[float] = field(default_factory=list)  # when each reply started to be heard

    async def listen(self, track: MediaStreamTrack) -> None:
        """What comes back: a reply is heard when loud audio follows at least 300 ms of quiet."""
        quiet = 15
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray()  # type: ignore[union-attr]
                loud = float(np.sqrt(np.mean(samples.astype(np.float32) ** 2))) > REPLY_RMS
                if loud and quiet >= 15:
                    self.replies.append(time.monotonic())
                quiet = 0 if loud else quiet + 1


async def open_caller(
    client: httpx.AsyncClient, audio: np.ndarray, offset: int, question_end: int = 0
) -> Caller:
    pc = RTCPeerConnection()
    caller = Caller(pc, CallerTrack(audio, offset, question_end))
    pc.addTrack(caller.microphone)
    pc.createDataChannel("events")
    listening: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: listening.append(asyncio.create_task(caller.listen(track))))
    await pc.setLocalDescription(await pc.createOffer())
    answer = (await client.post("/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"})).json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return caller


async def _call(client: httpx.AsyncClient, audio: np.ndarray, offset: int) -> RTCPeerConnection:
    """A caller whose replies are not listened to (the soak benchmark's)."""
    pc = RTCPeerConnection()
    pc.addTrack(CallerTrack(audio, offset))
    pc.createDataChannel("events")
    drains: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: drains.append(asyncio.create_task(_drain(track))))
    await pc.setLocalDescription(await pc.createOffer())
    answer = (await client.post("/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"})).json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_of_tree(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (a PostgreSQL server and its backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _stats(clients: list[httpx.AsyncClient]) -> dict[str, float]:
    """Every worker's /stats, added up (rss summed; monotonic the first's)."""
    found = [(await c.get("/stats")).json() for c in clients]
    summed = {key: float(sum(f[key] for f in found)) for key in found[0] if key != "monotonic"}
    summed["monotonic"] = found[0]["monotonic"]
    return summed


async def _measure(
    urls: list[str], database_pid: int, audio: np.ndarray, question_end: int, levels: tuple[int, ...],
    window_s: float,
) -> dict[str, Any]:  # fmt: skip
    offer_ice_addresses(("127.0.0.1",))
    callers: list[Caller] = []
    results: list[dict[str, Any]] = []
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
    try:
        idle = await _stats(clients)
        for level in levels:
            while len(callers) < level:
                offset = (len(callers) * 7919 * 960) % len(audio) // 960 * 960  # callers out of step
                client = clients[len(callers) % len(clients)]  # the workers take calls in turn
                callers.append(await open_caller(client, audio, offset, question_end))
            await asyncio.sleep(WARMUP_S)
            before = await _stats(clients)
            window_start = time.monotonic()
            mine0, db0 = time.process_time(), _cpu_of_tree(database_pid)
            lag = await _loop_lag(window_s)
            mine, db = time.process_time() - mine0, _cpu_of_tree(database_pid) - db0
            after = await _stats(clients)
            # A question asked in the last moments of the window is answered after it: give it its time.
            window_end = time.monotonic()
            await asyncio.sleep(ANSWER_WITHIN_S)
            asked = answered = 0
            for caller in callers:
                for question in caller.microphone.questions:
                    if window_start <= question < window_end:
                        asked += 1
                        answered += any(question < r <= question + ANSWER_WITHIN_S for r in caller.replies)
            wall = after["monotonic"] - before["monotonic"]
            frames = after["frames_out"] - before["frames_out"]
            late = after["frames_late"] - before["frames_late"]
            cpu_share = (after["cpu_s"] - before["cpu_s"]) / wall
            result: dict[str, Any] = {
                "sessions": level,
                "workers": len(urls),
                "engine_sessions_running": int(after["sessions"]),
                "engine_cpu_share_of_one_core": round(cpu_share, 3),
                "sessions_per_core": round(level / cpu_share, 1) if cpu_share else None,
                "engine_cpu_ms_per_call_second": round(cpu_share * 1000 / level, 2),
                "database_cpu_share_of_one_core": round(db / wall, 3),
                "callers_cpu_share_of_one_core": round(mine / wall, 3),
                "frames_out": int(frames),
                "frames_missed": int(after["frames_missed"] - before["frames_missed"]),
                "late_frame_share": round(late / frames, 4) if frames else 1.0,
                "turns_completed": int(after["turns"] - before["turns"]),
                "turns_interrupted": int(after["turns_interrupted"] - before["turns_interrupted"]),
                "sessions_failed": int(after["sessions_failed"]),
                "questions_asked": asked,
                "questions_answered": answered,
                "mb_per_session": round((after["rss_bytes"] - idle["rss_bytes"]) / level / 2**20, 2),
                "callers_loop_lag_ms_max": round(lag, 1),
            }
            result["real_time"] = (
                result["frames_missed"] == 0
                and result["late_frame_share"] <= MAX_LATE_SHARE
                and result["engine_sessions_running"] == level
                and result["sessions_failed"] == 0
                and answered == asked
                and result["turns_completed"] > 0
            )
            results.append(result)
            print(f"capacity: {result}", file=sys.stderr, flush=True)
            if not result["real_time"]:
                break
    finally:
        await asyncio.gather(*(c.pc.close() for c in callers), return_exceptions=True)
        for client in clients:
            await client.aclose()
    return {"idle_rss_mb": round(idle["rss_bytes"] / 2**20, 1), "levels": results}


async def _loop_lag(seconds: float) -> float:
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        asked = time.monotonic()
        await asyncio.sleep(0.05)
        worst = max(worst, (time.monotonic() - asked - 0.05) * 1000)
    return worst


@contextlib.contextmanager
def production_store() -> Iterator[tuple[str, Path, int]]:
    """An embedded PostgreSQL (migrated by the first engine server) and a data folder for recordings and the
    object store, shared by the engine servers: (database URL, folder, the database's pid)."""
    from adapters.postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="taina-capacity-") as folder:
        data = Path(folder)
        database = EmbeddedPostgres(data / "postgres")
        try:
            yield database.url, data, database.pid
        finally:
            database.stop()


@contextlib.contextmanager
def engine_servers(what: str, count: int, store: tuple[str, Path, int]) -> Iterator[list[tuple[str, int]]]:
    """``count`` benchmarks/capacity_server.py processes on free loopback ports, sharing ``store``: (URL, pid)
    of each once it answers, stopped afterwards."""
    database_url, data, _pid = store
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(count):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.capacity_server", str(port), database_url, str(data)],
                cwd=ROOT,
                env=env,
            )
            started.append((f"http://127.0.0.1:{port}", process))
            _wait_up(what, *started[-1])  # one at a time: the first migrates the database
        yield [(url, process.pid) for url, process in started]
    finally:
        for _url, process in started:
            process.terminate()
        for _url, process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_up(what: str, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{url}/stats", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.3)


@contextlib.contextmanager
def engine_server(what: str) -> Iterator[tuple[str, int]]:
    """One engine server with its own store (journal and recordings on): (its URL, its pid)."""
    with production_store() as store, engine_servers(what, 1, store) as servers:
        yield servers[0]


def _mode(
    name: str, workers: int, levels: tuple[int, ...], audio: np.ndarray, question_end: int, window_s: float
) -> dict[str, Any]:
    with (
        production_store() as store,
        engine_servers(f"the capacity servers ({name})", workers, store) as servers,
    ):
        urls = [url for url, _pid in servers]
        budget = 60 + len(levels) * (window_s + WARMUP_S + 40)
        measured = asyncio.run(
            asyncio.wait_for(_measure(urls, store[2], audio, question_end, levels, window_s), budget)
        )
    kept = [level for level in measured["levels"] if level["real_time"]]
    best = kept[-1] if kept else None
    return {
        **measured,
        "workers": workers,
        "highest_real_time_level": best["sessions"] if best else 0,
        "sessions_per_core": best["sessions_per_core"] if best else 0,
        "mb_per_session": best["mb_per_session"] if best else None,
        "capped": bool(kept) and len(kept) == len(levels),
    }


def run(runs: int | None = None) -> dict[str, Any]:
    """``runs``: a shorter check (that many levels of each, a 4 s window)."""
    question = spoken_question()
    pause = np.zeros(int(PAUSE_S * 48_000), np.int16)
    audio = np.concatenate([question, pause])
    cores = len(os.sched_getaffinity(0))
    window_s = WINDOW_S if runs is None else 4.0
    one_levels = LEVELS_ONE_WORKER if runs is None else LEVELS_ONE_WORKER[:runs]
    all_levels = LEVELS_ALL_WORKERS if runs is None else LEVELS_ALL_WORKERS[:runs]
    one = _mode("one worker", 1, one_levels, audio, len(question), window_s)
    every = _mode("all workers", cores, all_levels, audio, len(question), window_s)
    return {
        "journal": "on (embedded PostgreSQL, its CPU reported apart)",
        "recordings": "on (spooled while the call runs; encoded and stored at hang-up, outside the window)",
        "cores": cores,
        "one_worker": one,
        "all_workers": every,
        "sessions_per_core": one["sessions_per_core"],
        "calls_per_machine": every["highest_real_time_level"],
        "target_sessions_per_core": TARGET_PER_CORE,
        "target_calls_per_machine": TARGET_MACHINE,
        "target_mb_per_session": TARGET_MB_PER_SESSION,
        "met": (one["sessions_per_core"] or 0) >= TARGET_PER_CORE
        and every["highest_real_time_level"] >= TARGET_MACHINE
        and (one["mb_per_session"] or 99) <= TARGET_MB_PER_SESSION,
    }
