"""How many real WebRTC calls the engine carries in real time, with one worker process and with one per core,
with the conversation journal and the call recordings on (as in production), and what each call costs.

The engine runs in processes of its own (``benchmarks.capacity_server``, one per worker: the real aiortc
transport, Opus both ways, the paced playout, sessions answered by the scripted providers, turns written to an
embedded PostgreSQL and calls spooled for their recordings). This process holds the callers
(``benchmarks.callers``): aiortc peers on 127.0.0.1 sending Opus speech in real time (a question, then a pause
for the answer, over and over; the recording encoded once, sent as packets), spread over the workers in turn,
judging what comes back by its Opus payload size and counting the replies they hear. Calls are added level by
level; at each level, over a steady window, are read: every worker's CPU and memory, the database's CPU, the
callers' own CPU, the frames the callers sent against those due (calls x window / 20 ms) and the questions they
asked against those due, the callers' frames the engine took in, the reply frames missed (due by the wall clock
since each call's first frame, less those handed out: a stall of any length counts) and late (a frame after its
time), the turns the engine completed, and the questions asked against the replies heard.

Two limits, told apart in each level's ``limit`` and the mode's:
- "callers": the callers sent less than 99% of the frames due, or during the window (looked at each second) a
  caller's socket held more than 32 KiB it had not read (``callers_kept_up: false``). One Python process of callers that cannot
  keep real time sends less audio and asks fewer questions, so the engine is under-loaded and its CPU per call
  looks lower than it is; and it reads each call's socket once per turn of its event loop, so replies queue in
  the kernel and are heard seconds late (the earlier callers, two workers at 45 calls: no question answered,
  replies read 4-7 s after their question while each caller's socket held ~170 KB unread, ~4 s of packets;
  the engine's own delay, about 1.4 s, is that less the backlog). Such a level is no
  real-time pass for the engine, raising stops, and its figures are not the engine's.
- "engine": the callers kept up, and the engine took in less than 99% of what they sent, a frame was missed,
  more than 1% were late, a call stopped running, a session failed, no turn completed, or a question asked in
  the window was not answered (its caller heard the reply start within ANSWER_WITHIN_S).
A level is in real time when neither limit was hit; raising stops at the first that is not ("levels": every
level held).

Reported, for one worker: sessions per core at real time (sessions / the worker's CPU share at the highest
level in real time), and beside it the engine's CPU per call-second at that level and
``sessions_per_core_by_cpu`` (1000 / it: what a core would carry by CPU alone, when the callers are the limit);
for all workers: the most calls the machine kept in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from adapters.library_patches import offer_ice_addresses
from benchmarks.callers import (
    FRAME_S,
    KEPT_UP_SHARE,
    Caller,
    SpeechLoop,
    encode_loop,
    open_caller,
    receive_queue_bytes,
    tally,
)
from benchmarks.latency import spoken_question

LEVELS_ONE_WORKER = (8, 16, 25, 30, 35, 40, 50, 60)
LEVELS_ALL_WORKERS = (16, 30, 45, 60, 75, 90)
WARMUP_S = 4.0
WINDOW_S = 10.0
MAX_LATE_SHARE = 0.01
PAUSE_S = 4.5  # after each question: the reply (4 clauses of 0.6 s) and its latency fit in it
TARGET_PER_CORE = 25
TARGET_MACHINE = 45
TARGET_MB_PER_SESSION = 5.0
HANG_UP_WITHIN_S = 120.0  # every session ends and stores its recording this soon after its caller hangs up
ANSWER_WITHIN_S = 2.5  # a caller hears the reply's first audio this soon after its question, or it is missing
ROOT = Path(__file__).resolve().parent.parent


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


def judge(result: dict[str, Any]) -> dict[str, Any]:
    """A level's verdict from its figures: whether the callers kept up (sent at least 99% of the frames due and
    read what came back; if not, the engine was under-loaded and the level says nothing of it), whether the
    engine kept real time (took in at least 99% of what the callers sent, no frame missed, at most 1% late,
    every call running, no session failed, every question asked answered, turns completed), and which of the
    two was the limit (None when both held)."""
    engine = (
        # It took in what the callers sent (its loop read each call's audio as it came).
        result["engine_frames_in_share_of_due"]
        >= KEPT_UP_SHARE * min(1.0, result["callers_sent_share_of_due"])
        and result["frames_missed"] == 0
        and result["late_frame_share"] <= MAX_LATE_SHARE
        and result["engine_sessions_running"] == result["sessions"]
        and result["sessions_failed"] == 0
        and result["questions_answered"] == result["questions_asked"]
        and result["turns_completed"] > 0
    )
    callers = bool(result["callers_kept_up"])
    limit = None if callers and engine else "callers" if not callers else "engine"
    return {"engine_real_time": engine, "real_time": callers and engine, "limit": limit}


async def _measure(
    urls: list[str], database_pid: int, loop: SpeechLoop, levels: tuple[int, ...], window_s: float
) -> dict[str, Any]:
    offer_ice_addresses(("127.0.0.1",))
    callers: list[Caller] = []
    results: list[dict[str, Any]] = []
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
    try:
        idle = await _stats(clients)
        for level in levels:
            while len(callers) < level:
                n = len(callers)
                offset = n * 7919 % len(loop.packets)  # callers out of step
                client = clients[n % len(clients)]  # the workers take calls in turn
                # The first caller of each worker also decodes what it hears, to check the judging by size.
                callers.append(await open_caller(client, loop, offset, cross_check=n < len(clients)))
            await asyncio.sleep(WARMUP_S)
            before = await _stats(clients)
            for caller in callers:
                caller.microphone.behind_s_max = 0.0
            sent0 = sum(c.microphone.sent for c in callers)
            window_start = time.monotonic()
            mine0, db0 = time.process_time(), _cpu_of_tree(database_pid)
            lag, unread = await asyncio.gather(_loop_lag(window_s), _most_unread(window_s))
            sent = sum(c.microphone.sent for c in callers) - sent0
            window_end = time.monotonic()  # with the count of frames sent: no frame leaves between the two
            mine, db = time.process_time() - mine0, _cpu_of_tree(database_pid) - db0
            after = await _stats(clients)
            # A question asked in the last moments of the window is answered after it: give it its time.
            await asyncio.sleep(ANSWER_WITHIN_S)
            asked = answered = 0
            for caller in callers:
                for question in caller.microphone.questions:
                    if window_start <= question < window_end:
                        asked += 1
                        answered += any(question < r <= question + ANSWER_WITHIN_S for r in caller.replies)
            account = tally(
                level,
                window_end - window_start,
                sent,
                asked,
                loop.seconds,
                max(c.microphone.behind_s_max for c in callers),
                unread,
            )
            wall = after["monotonic"] - before["monotonic"]
            frames = after["frames_out"] - before["frames_out"]
            late = after["frames_late"] - before["frames_late"]
            cpu_share = (after["cpu_s"] - before["cpu_s"]) / wall
            ears = [c.ear for c in callers if c.ear.checked]
            result: dict[str, Any] = {
                "sessions": level,
                "workers": len(urls),
                "engine_sessions_running": int(after["sessions"]),
                "engine_cpu_share_of_one_core": round(cpu_share, 3),
                "sessions_per_core": round(level / cpu_share, 1) if cpu_share else None,
                "engine_cpu_ms_per_call_second": round(cpu_share * 1000 / level, 2),
                "engine_frames_in": int(after["frames_in"] - before["frames_in"]),
                "engine_frames_in_share_of_due": round(
                    (after["frames_in"] - before["frames_in"]) * FRAME_S / (level * wall), 4
                ),
                "database_cpu_share_of_one_core": round(db / wall, 3),
                "callers_cpu_share_of_one_core": round(mine / wall, 3),
                "callers_cpu_ms_per_call_second": round(mine * 1000 / wall / level, 2),
                "callers_frames_sent": account.frames_sent,
                "callers_frames_due": account.frames_due,
                "callers_sent_share_of_due": round(account.sent_share, 4),
                "callers_behind_ms_max": account.behind_ms_max,
                "callers_unread_kb_max": round(unread / 1024, 1),
                "callers_kept_up": account.kept_up,
                "frames_out": int(frames),
                "frames_missed": int(after["frames_missed"] - before["frames_missed"]),
                "late_frame_share": round(late / frames, 4) if frames else 1.0,
                "turns_completed": int(after["turns"] - before["turns"]),
                "turns_interrupted": int(after["turns_interrupted"] - before["turns_interrupted"]),
                "sessions_failed": int(after["sessions_failed"]),
                "questions_due": account.questions_due,
                "questions_asked": asked,
                "questions_answered": answered,
                "mb_per_session": round((after["rss_bytes"] - idle["rss_bytes"]) / level / 2**20, 2),
                "callers_loop_lag_ms_max": round(lag, 1),
                "reply_check": {  # since the first level: the judging by payload size against decoding
                    "frames_decoded": sum(e.checked for e in ears),
                    "frames_judged_differently": sum(e.disagreed for e in ears),
                    "reply_starts_by_size": sum(len(e.replies) for e in ears),
                    "reply_starts_by_rms": sum(len(e.replies_by_rms) for e in ears),
                    "reply_start_gap_ms_max": max(
                        (g for e in ears if (g := e.start_gap_ms_max()) is not None), default=None
                    ),
                },
            }
            result.update(judge(result))
            results.append(result)
            print(f"capacity: {result}", file=sys.stderr, flush=True)
            if not result["real_time"]:
                break
        hang_up = await _hang_up(clients, callers)
    finally:
        await asyncio.gather(*(c.pc.close() for c in callers), return_exceptions=True)
        for client in clients:
            await client.aclose()
    return {"idle_rss_mb": round(idle["rss_bytes"] / 2**20, 1), "levels": results, "hang_up": hang_up}


async def _hang_up(clients: list[httpx.AsyncClient], callers: list[Caller]) -> dict[str, Any]:
    """Every caller hangs up; the engine ends each session, encodes its recording (Opus in Ogg) and stores it,
    as production does at hang-up. The engine's CPU from the hang-up until no session is left, per second of
    call recorded, is the recording's cost that the windows above do not hold (a call's whole length is
    encoded once, when it ends)."""
    before = await _stats(clients)
    call_seconds = sum(c.microphone.sent for c in callers) * FRAME_S
    await asyncio.gather(*(c.pc.close() for c in callers), return_exceptions=True)
    deadline = time.monotonic() + HANG_UP_WITHIN_S
    after = await _stats(clients)
    while after["sessions"] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        after = await _stats(clients)
    cpu_s = after["cpu_s"] - before["cpu_s"]
    return {
        "calls": len(callers),
        "call_seconds": round(call_seconds, 1),
        "sessions_left": int(after["sessions"]),
        "seconds": round(after["monotonic"] - before["monotonic"], 2),
        "engine_cpu_s": round(cpu_s, 3),
        "cpu_ms_per_call_second": round(cpu_s * 1000 / call_seconds, 2) if call_seconds else None,
    }


async def _most_unread(seconds: float) -> int:
    """The most bytes any caller's socket held unread, looked at every second of the window and at its end."""
    worst = 0
    end = time.monotonic() + seconds
    while True:
        worst = max(worst, *receive_queue_bytes(), 0)
        left = end - time.monotonic()
        if left <= 0:
            return worst
        await asyncio.sleep(min(1.0, left))


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


def summarise(measured: dict[str, Any], workers: int, levels: tuple[int, ...]) -> dict[str, Any]:
    """A mode's figures from its levels: the highest level in real time (callers kept up and the engine kept
    real time), the engine's CPU per call-second there and the sessions a core carries by that CPU
    (``sessions_per_core_by_cpu``, 1000 / it), and which limit stopped the raising: "engine", "callers" (they
    fell behind real time, so the levels above say nothing of the engine), or "levels" (every level held)."""
    kept = [level for level in measured["levels"] if level["real_time"]]
    best = kept[-1] if kept else None
    stopped = next((level for level in measured["levels"] if not level["real_time"]), None)
    cpu_ms = best["engine_cpu_ms_per_call_second"] if best else None
    recording_ms = measured.get("hang_up", {}).get("cpu_ms_per_call_second") or 0.0
    whole_ms = round(cpu_ms + recording_ms, 2) if cpu_ms else None
    highest = best["sessions"] if best else 0
    if stopped is None:
        says = f"every level held, up to {highest} calls: the engine may carry more"
    elif stopped["limit"] == "callers":
        says = (
            f"the callers fell behind real time at {stopped['sessions']} calls (sent "
            f"{stopped['callers_sent_share_of_due']:.1%} of the frames due, "
            f"{stopped['callers_unread_kb_max']} KiB left unread): the engine was under-loaded there, "
            f"and its figures are those at {highest} calls"
        )
    else:
        says = f"the engine lost real time at {stopped['sessions']} calls; the callers kept up"
    return {
        **measured,
        "workers": workers,
        "highest_real_time_level": best["sessions"] if best else 0,
        "limit": stopped["limit"] if stopped else "levels",
        "limit_at_level": stopped["sessions"] if stopped else None,
        "limit_says": says,
        "sessions_per_core": best["sessions_per_core"] if best else 0,
        "engine_cpu_ms_per_call_second": cpu_ms,
        "recording_cpu_ms_per_call_second": recording_ms,  # at hang-up: ending, encoding, storing
        "engine_cpu_ms_per_call_second_with_recording": whole_ms,
        "sessions_per_core_by_cpu": round(1000 / whole_ms, 1) if whole_ms else None,
        "mb_per_session": best["mb_per_session"] if best else None,
        "capped": bool(kept) and len(kept) == len(levels),
    }


def _mode(
    name: str, workers: int, levels: tuple[int, ...], loop: SpeechLoop, window_s: float
) -> dict[str, Any]:
    with (
        production_store() as store,
        engine_servers(f"the capacity servers ({name})", workers, store) as servers,
    ):
        urls = [url for url, _pid in servers]
        budget = 60 + HANG_UP_WITHIN_S + len(levels) * (window_s + WARMUP_S + 40)
        measured = asyncio.run(asyncio.wait_for(_measure(urls, store[2], loop, levels, window_s), budget))
    return summarise(measured, workers, levels)


def run(runs: int | None = None) -> dict[str, Any]:
    """``runs``: a shorter check (that many levels of each, a 4 s window)."""
    question = spoken_question()
    pause = np.zeros(int(PAUSE_S * 48_000), np.int16)
    loop = encode_loop(np.concatenate([question, pause]), len(question))
    cores = len(os.sched_getaffinity(0))
    window_s = WINDOW_S if runs is None else 4.0
    one_levels = LEVELS_ONE_WORKER if runs is None else LEVELS_ONE_WORKER[:runs]
    all_levels = LEVELS_ALL_WORKERS if runs is None else LEVELS_ALL_WORKERS[:runs]
    one = _mode("one worker", 1, one_levels, loop, window_s)
    every = _mode("all workers", cores, all_levels, loop, window_s)
    return {
        "journal": "on (embedded PostgreSQL, its CPU reported apart)",
        "recordings": "on (spooled while the call runs; encoded and stored at hang-up, its CPU measured then)",
        "cores": cores,
        "one_worker": one,
        "all_workers": every,
        "sessions_per_core": one["sessions_per_core"],
        "calls_one_worker_kept_in_real_time": one["highest_real_time_level"],
        "sessions_per_core_by_cpu": one["sessions_per_core_by_cpu"],
        "engine_cpu_ms_per_call_second": one["engine_cpu_ms_per_call_second"],
        "engine_cpu_ms_per_call_second_with_recording": one["engine_cpu_ms_per_call_second_with_recording"],
        "calls_per_machine": every["highest_real_time_level"],
        "limit_one_worker": one["limit"],
        "limit_all_workers": every["limit"],
        "target_sessions_per_core": TARGET_PER_CORE,
        "target_calls_per_machine": TARGET_MACHINE,
        "target_mb_per_session": TARGET_MB_PER_SESSION,
        # One worker is one process on one core: the calls it held in real time are its calls per core.
        "met": one["highest_real_time_level"] >= TARGET_PER_CORE
        and every["highest_real_time_level"] >= TARGET_MACHINE
        and (one["mb_per_session"] or 99) <= TARGET_MB_PER_SESSION,
    }
