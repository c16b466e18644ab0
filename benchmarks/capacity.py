"""How many real WebRTC calls one engine process carries in real time, and what each costs.

The engine runs in a process of its own (``benchmarks.capacity_server``: the real aiortc transport, Opus both
ways, the paced playout, sessions answered by the scripted providers). This process holds the callers: aiortc
peers on 127.0.0.1 sending Opus-encoded speech in real time (a question, then a pause for the answer, over and
over) and receiving the replies. Calls are added level by level; at each level the engine's CPU, memory and
missed output deadlines (a reply frame leaving more than a frame late) are read over a steady window. Raising
stops at the first level that misses more than 1% of its deadlines, or at the cap.

Reported: sessions per core at real time (sessions / engine CPU share at the highest level that kept real
time) and resident memory per session (the rise over the engine's idle footprint, divided by the sessions;
this includes aiortc's own buffers and codecs).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from adapters.library_patches import offer_ice_addresses
from benchmarks.latency import spoken_question

LEVELS = (4, 8, 16, 24, 32, 40)
WARMUP_S = 4.0
WINDOW_S = 10.0
MAX_LATE_SHARE = 0.01
TARGET_PER_CORE = 25
TARGET_MB_PER_SESSION = 5.0
ROOT = Path(__file__).resolve().parent.parent


class CallerTrack(MediaStreamTrack):
    """A caller's microphone: the recording, looped, one 20 ms frame every 20 ms."""

    kind = "audio"

    def __init__(self, audio: np.ndarray, offset: int) -> None:
        super().__init__()
        self._audio = audio
        self._position = offset
        self._start: float | None = None
        self._sent = 0

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


async def _call(client: httpx.AsyncClient, audio: np.ndarray, offset: int) -> RTCPeerConnection:
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


async def _measure(url: str, audio: np.ndarray) -> dict[str, Any]:
    offer_ice_addresses(("127.0.0.1",))
    calls: list[RTCPeerConnection] = []
    levels: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        idle = (await client.get("/stats")).json()
        try:
            for level in LEVELS:
                while len(calls) < level:
                    offset = (len(calls) * 7919 * 960) % len(audio) // 960 * 960  # callers out of step
                    calls.append(await _call(client, audio, offset))
                await asyncio.sleep(WARMUP_S)
                before = (await client.get("/stats")).json()
                lag = await _loop_lag(WINDOW_S)
                after = (await client.get("/stats")).json()
                wall = after["monotonic"] - before["monotonic"]
                frames = after["frames_out"] - before["frames_out"]
                late = after["frames_late"] - before["frames_late"]
                cpu_share = (after["cpu_s"] - before["cpu_s"]) / wall
                result = {
                    "sessions": level,
                    "engine_sessions_running": after["sessions"],
                    "engine_cpu_share_of_one_core": round(cpu_share, 3),
                    "sessions_per_core": round(level / cpu_share, 1) if cpu_share else None,
                    "late_frame_share": round(late / frames, 4) if frames else 1.0,
                    "mb_per_session": round((after["rss_bytes"] - idle["rss_bytes"]) / level / 2**20, 2),
                    "callers_loop_lag_ms_max": round(lag, 1),
                }
                result["real_time"] = (
                    result["late_frame_share"] <= MAX_LATE_SHARE and after["sessions"] == level
                )
                levels.append(result)
                print(f"capacity: {result}", file=sys.stderr, flush=True)
                if not result["real_time"]:
                    break
        finally:
            await asyncio.gather(*(pc.close() for pc in calls), return_exceptions=True)
    return {"idle_rss_mb": round(idle["rss_bytes"] / 2**20, 1), "levels": levels}


async def _loop_lag(seconds: float) -> float:
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        asked = time.monotonic()
        await asyncio.sleep(0.05)
        worst = max(worst, (time.monotonic() - asked - 0.05) * 1000)
    return worst


@contextlib.contextmanager
def engine_server(what: str) -> Iterator[tuple[str, int]]:
    """benchmarks/capacity_server.py in its own process on a free loopback port: (its URL, its pid) once it
    answers, stopped afterwards."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.capacity_server", str(port)], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/stats", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.3)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def run(runs: int | None = None) -> dict[str, Any]:
    question = spoken_question()
    pause = np.zeros(int(4.0 * 48_000), np.int16)
    audio = np.concatenate([question, pause])
    with engine_server("the capacity server") as (url, _pid):
        measured = asyncio.run(asyncio.wait_for(_measure(url, audio), 600))
    kept = [level for level in measured["levels"] if level["real_time"]]
    best = kept[-1] if kept else None
    return {
        **measured,
        "highest_real_time_level": best["sessions"] if best else 0,
        "sessions_per_core": best["sessions_per_core"] if best else 0,
        "mb_per_session": best["mb_per_session"] if best else None,
        "capped": bool(kept) and len(kept) == len(LEVELS),
        "target_sessions_per_core": TARGET_PER_CORE,
        "target_mb_per_session": TARGET_MB_PER_SESSION,
        "met": best is not None
        and (best["sessions_per_core"] or 0) >= TARGET_PER_CORE
        and best["mb_per_session"] <= TARGET_MB_PER_SESSION,
    }
