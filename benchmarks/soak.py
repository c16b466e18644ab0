"""Does the engine hold steady over a long run: resident memory, open file descriptors and asyncio tasks of
the engine process while real WebRTC calls run for minutes.

The engine runs in a process of its own (``benchmarks.capacity_server``: the real aiortc transport, Opus both
ways, the paced playout, sessions answered by the scripted providers). This process holds the callers of
``benchmarks.callers``, as ``benchmarks.capacity`` does: aiortc peers on 127.0.0.1 sending Opus speech in real
time, a question then a pause for the answer, over and over, so every session really runs turns and replies.
Every few seconds the engine process's VmRSS (/proc/<pid>/status), its open descriptors (/proc/<pid>/fd) and its
asyncio task count (the benchmark server's /stats) are sampled.

"Flat" means no growth past warm-up: for each figure, the least-squares line through the samples after warm-up;
flat if its rise over the run is within the tolerance (the first and last minute's medians are shown beside it).
Then every call hangs up, and the engine's figures are read until every session has ended (each ends by encoding
and storing its recording) and once more after: how long that took and the most memory held meanwhile.

    python -m benchmarks soak --json                       # 30 calls for 10 minutes
    python -m benchmarks soak --calls 5 --seconds 60       # a short check
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import httpx
import numpy as np

from adapters.library_patches import offer_ice_addresses
from benchmarks.callers import Caller, SpeechLoop, encode_loop, open_caller
from benchmarks.capacity import HANG_UP_WITHIN_S, engine_server
from benchmarks.latency import spoken_question

CALLS = 30
SECONDS = 600.0
EVERY_S = 5.0
MAX_CALLS = 100
MAX_SECONDS = 3600.0
# Growth over the run after warm-up (its least-squares line) that still counts as flat.
TOLERANCE = {"rss_mb": 16.0, "fds": 4, "asyncio_tasks": 8}


def _engine_figures(pid: int) -> dict[str, float]:
    with open(f"/proc/{pid}/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


async def _sample(client: httpx.AsyncClient, pid: int, started: float) -> dict[str, Any]:
    stats = (await client.get("/stats")).json()
    return {
        "t_s": round(time.monotonic() - started, 1),
        **_engine_figures(pid),
        "asyncio_tasks": stats["asyncio_tasks"],
        "sessions": stats["sessions"],
    }


def _trend(samples: list[dict[str, Any]], key: str) -> dict[str, Any]:
    t = np.array([s["t_s"] for s in samples], dtype=float)
    y = np.array([s[key] for s in samples], dtype=float)
    slope = float(np.polyfit(t, y, 1)[0]) * 60 if len(samples) >= 2 else 0.0
    # A single sample lands wherever the calls' turns are (tasks and memory rise and fall with each reply): the
    # first and last minute's medians are shown, and growth is the least-squares line over the whole run after
    # warm-up (a leak is a trend, not where the last sample fell).
    first = float(np.median(y[t <= t[0] + 60]))
    last = float(np.median(y[t >= t[-1] - 60]))
    growth = slope / 60 * float(t[-1] - t[0])
    return {
        "first_minute_median": first,
        "last_minute_median": last,
        "growth_over_run": round(growth, 2),
        "max": max(y.tolist()),
        "slope_per_minute": round(slope, 3),
        "flat": growth <= TOLERANCE[key],
    }


async def _soak(url: str, pid: int, loop: SpeechLoop, calls: int, seconds: float) -> dict[str, Any]:
    offer_ice_addresses(("127.0.0.1",))
    warmup = min(60.0, seconds / 4)
    peers: list[Caller] = []
    samples: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = time.monotonic()
        idle = await _sample(client, pid, started)
        try:
            for n in range(calls):
                offset = n * 7919 % len(loop.packets)  # callers out of step
                peers.append(await open_caller(client, loop, offset))
                await asyncio.sleep(0.2)
            started = time.monotonic()
            for _ in range(int(seconds // EVERY_S) + 1):  # bounded: one sample per EVERY_S
                samples.append(await _sample(client, pid, started))
                print(f"soak: {samples[-1]}", file=sys.stderr, flush=True)
                left = seconds - (time.monotonic() - started)
                if left <= 0:
                    break
                await asyncio.sleep(min(EVERY_S, left))
            connected = sum(peer.pc.connectionState == "connected" for peer in peers)
        finally:
            await asyncio.gather(*(peer.pc.close() for peer in peers), return_exceptions=True)
        # Until the engine has let every session go: each ends by encoding and storing its recording, all at once
        # after a burst of hang-ups. The most memory the engine held meanwhile is kept.
        after = idle
        hung_up = time.monotonic()
        peak_rss_mb = 0.0
        while time.monotonic() - hung_up < HANG_UP_WITHIN_S:
            await asyncio.sleep(0.5)
            after = await _sample(client, pid, started)
            peak_rss_mb = max(peak_rss_mb, after["rss_mb"])
            if after["sessions"] == 0:
                break
        sessions_ended_s = time.monotonic() - hung_up
        await asyncio.sleep(2.0)
        after = await _sample(client, pid, started)
    steady = [s for s in samples if s["t_s"] >= warmup] or samples[-1:]
    trends = {key: _trend(steady, key) for key in TOLERANCE}
    return {
        "calls": calls,
        "seconds": seconds,
        "warmup_s": warmup,
        "sample_every_s": EVERY_S,
        "calls_connected_at_end": connected,
        "sessions_running_at_end": samples[-1]["sessions"] if samples else 0,
        "idle": {k: idle[k] for k in ("rss_mb", "fds", "asyncio_tasks")},
        "after_hang_up": {
            **{k: after[k] for k in ("rss_mb", "fds", "asyncio_tasks", "sessions")},
            "sessions_ended_s": round(sessions_ended_s, 1),  # recordings encoded and stored, one at a time
            "peak_rss_mb": peak_rss_mb,
        },
        **trends,
        "flat": all(t["flat"] for t in trends.values()),
        "samples": samples,
    }


def run(runs: int | None = None, calls: int = CALLS, seconds: float = SECONDS) -> dict[str, Any]:
    if not 1 <= calls <= MAX_CALLS or not 10 <= seconds <= MAX_SECONDS:
        raise ValueError(f"soak: --calls 1-{MAX_CALLS} and --seconds 10-{int(MAX_SECONDS)}")
    question = spoken_question()
    loop = encode_loop(np.concatenate([question, np.zeros(int(4.0 * 48_000), np.int16)]), len(question))
    with engine_server("the soak's engine server") as (url, pid):
        budget = seconds + calls * 5 + 120
        return asyncio.run(asyncio.wait_for(_soak(url, pid, loop, calls, seconds), budget))
