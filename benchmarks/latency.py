"""Engine-added latency per turn, at 1, 10, 50 and 100 concurrent sessions, in one worker process and spread
over one worker process per core (as `taina serve` runs).

Each session is the real engine (input conditioning, VAD, endpointing, dialogue, clause chunking, speaker,
paced playout) fed by a transport that plays spoken questions in real time as 48 kHz stereo, and answered by
the scripted providers of ``benchmarks.profile`` (a documented latency profile). Per turn:

    engine-added = (end of speech -> first reply frame out) - configured endpointing silence - nominal provider time

The nominal provider time is the profile's (speech-to-text final + first token + first audio), not what the
scripted providers' timers really took: a timer that wakes late because the event loop is busy is the engine's
load showing, so it counts. How late the fakes' timers woke (their overshoot over the profile) is reported
beside it (p50 and p95), so a reader can see how much of the added time is timer wake-up under load.

so what is left is the engine's own work and waiting: frame handling, the loop's scheduling under load, the
chunker, resampling the voice to 48 kHz and the playout. Sessions start at staggered times (as calls do).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from adapters.espeak_tts import EspeakEngine, EspeakSettings
from adapters.wavfile import FileTransport
from benchmarks.profile import (
    TRANSCRIPT,
    LatencyProfile,
    ProfiledModel,
    ProfiledSpeechToText,
    ProfiledTextToSpeech,
    ProviderClock,
)
from engine.audio import AudioFrame, Pcm
from engine.dialogue import Dialogue
from engine.resample import resample
from engine.session import Session, TurnRecord
from taina.settings import Settings

TARGET_P95_MS = 10.0
CONCURRENCY = ((1, 8), (10, 4), (50, 3), (100, 2))  # (sessions, turns each)
RESULTS = Path(__file__).parent / "results"


def spoken_question(rate: int = 48_000) -> Pcm:
    engine = EspeakEngine(EspeakSettings(rate=150))
    return resample(engine.synthesize_now(TRANSCRIPT), engine.sample_rate, rate)


def call_audio(
    question: Pcm, turns: int, gap_s: float, lead_s: float, rate: int = 48_000, channels: int = 2
) -> AudioFrame:
    """``turns`` times: silence, the question, and a gap long enough for the whole reply (48 kHz stereo, as
    WebRTC delivers it, unless told otherwise)."""
    parts = [np.zeros(int(lead_s * rate), np.int16)]
    for _ in range(turns):
        parts += [np.zeros(int(0.4 * rate), np.int16), question, np.zeros(int(gap_s * rate), np.int16)]
    mono = np.concatenate(parts)
    return AudioFrame(np.repeat(mono, channels), rate, 0.0, channels)


def _figure(values: list[float], q: float) -> float | None:
    """The ``q``th percentile rounded, or None when nothing was measured (every turn lost under load)."""
    return round(percentile(values, q), 1) if values else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        asked = time.monotonic()
        await asyncio.sleep(0.05)
        samples.append((time.monotonic() - asked - 0.05) * 1000)


def gap_s(settings: Settings, profile: LatencyProfile) -> float:
    """Silence after each question: room for the endpointing, the providers and the whole reply."""
    return (settings.endpoint.silence_ms + profile.provider_ms) / 1000 + 2 * profile.seconds_per_clause + 1.0


async def run_sessions(
    sessions: int,
    turns: int,
    profile: LatencyProfile,
    settings: Settings,
    question: Pcm,
    rate: int = 48_000,
    channels: int = 2,
    seed: int = 0,
    total_sessions: int | None = None,
) -> dict[str, Any]:
    """``sessions`` sessions in this process (``total_sessions`` across every worker process, for the
    stagger); ``seed`` tells this worker's sessions apart from the others'."""
    gap = gap_s(settings, profile)
    turn_s = 0.4 + len(question) / rate + gap
    rng = random.Random(sessions * 1000 + seed)
    leads: list[float] = []
    records: list[TurnRecord] = []
    provider_ms: list[float] = []
    spent_by_part: list[dict[str, float]] = []

    async def one(index: int) -> None:
        lead = rng.uniform(0, turn_s) if (total_sessions or sessions) > 1 else 0.2
        leads.append(lead)
        transport = FileTransport(call_audio(question, turns, gap, lead, rate, channels), settings.audio, 3.0)
        mine: list[TurnRecord] = []
        clock = ProviderClock()

        def done(record: TurnRecord) -> None:
            mine.append(record)
            if len(mine) == turns:
                transport.hang_up()

        session = Session(
            f"lat-{sessions}-{index}",
            transport,
            ProfiledSpeechToText(profile, clock),
            Dialogue(ProfiledModel(profile, clock)),
            ProfiledTextToSpeech(profile, clock),
            settings.session(),
            done,
        )
        await session.run()
        if session.error is not None:
            raise RuntimeError(f"session {index} failed: {session.error!r}")
        for turn, record in enumerate(mine):
            spent = clock.total_ms(turn)
            if spent is not None and "first_audio" in record.timings_ms:
                records.append(record)
                provider_ms.append(spent)
                spent_by_part.append(clock.turns[turn])

    lag: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_loop_lag(lag, stop))
    cpu0, wall0 = time.process_time(), time.monotonic()
    async with asyncio.timeout(turns * turn_s + turn_s + 60):  # bounded, whatever happens
        await asyncio.gather(*(one(i) for i in range(sessions)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stop.set()
    await watcher

    silence = settings.endpoint.silence_ms
    nominal = profile.provider_ms
    added = [r.timings_ms["first_audio"] - silence - nominal for r in records]
    overshoot = [spent - nominal for spent in provider_ms]
    audio_s = sum(lead + turns * turn_s for lead in leads)  # what the sessions played, stagger included
    pairs = [(r.timings_ms, p) for r, p in zip(records, spent_by_part, strict=True)]
    hops = {  # where the engine's share goes, stage to stage, less what the provider in between took
        "end_of_speech_to_transcript": [t["transcript"] - t["end_of_speech"] - p["stt"] for t, p in pairs],
        "transcript_to_first_token": [t["first_token"] - t["transcript"] - p["lm"] for t, p in pairs],
        "first_clause_to_tts_audio": [t["tts_first_audio"] - t["first_clause"] - p["tts"] for t, p in pairs],
        "tts_audio_to_frame_out": [t["first_audio"] - t["tts_first_audio"] for t, _p in pairs],
    }
    stages = ("end_of_speech", "transcript", "first_token", "first_clause", "tts_first_audio", "first_audio")
    return {
        "sessions": sessions,
        "turns": len(records),
        "engine_added_ms": {
            "p50": _figure(added, 50),
            "p95": _figure(added, 95),
            "max": _figure(added, 100),
        },
        "engine_hops_ms_p95": {name: _figure(values, 95) for name, values in hops.items()},
        "provider_timer_overshoot_ms": {
            "p50": _figure(overshoot, 50),
            "p95": _figure(overshoot, 95),
        },
        "first_audio_ms_p50": _figure([r.timings_ms["first_audio"] for r in records], 50),
        "waterfall_ms_p50": {
            s: _figure([r.timings_ms[s] for r in records if s in r.timings_ms], 50) for s in stages
        },
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "cpu_ms_per_audio_second": round(cpu * 1000 / audio_s, 2),
        "loop_lag_ms": {"p99": round(percentile(lag, 99), 1), "max": round(max(lag), 1)},
        "_added": added,
        "_raw": {
            "added": added,
            "overshoot": overshoot,
            "hops": hops,
            "first_audio": [r.timings_ms["first_audio"] for r in records],
            "waterfall": [{s: r.timings_ms[s] for s in stages if s in r.timings_ms} for r in records],
            "cpu_s": cpu,
            "wall_s": wall,
            "audio_s": audio_s,
            "leads": leads,
            "lag": lag,
        },
    }


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.boxplot(
        [r["_added"] for r in results], tick_labels=[str(r["sessions"]) for r in results], whis=(5, 95)
    )
    left.axhline(TARGET_P95_MS, color="tab:red", linestyle="--", label=f"target p95 {TARGET_P95_MS:g} ms")
    left.set_xlabel(f"concurrent sessions ({results[-1].get('workers', 1)} worker processes)")
    left.set_ylabel("engine-added latency per turn (ms)")
    left.legend(loc="upper left")
    left.set_title("What the engine adds to the providers' time")
    busiest = results[-1]["waterfall_ms_p50"]
    names = list(busiest)
    starts = [0.0, *[busiest[n] for n in names[:-1]]]
    right.barh(names[::-1], [busiest[n] - s for n, s in zip(names, starts, strict=True)][::-1],
               left=starts[::-1], color="tab:blue")  # fmt: skip
    right.set_xlabel("ms after the caller stopped speaking (median)")
    right.set_title(f"Turn waterfall at {results[-1]['sessions']} sessions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _worker_share(args: tuple[int, int, int, int, LatencyProfile]) -> dict[str, Any]:
    """One worker process's share of a level (run in a process of its own)."""
    import logging
    import sys

    import structlog

    structlog.configure(  # warnings only, and not on stdout (the benchmark's JSON goes there)
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    sessions, total, turns, seed, profile = args
    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    raw: dict[str, Any] = asyncio.run(
        run_sessions(sessions, turns, profile, settings, spoken_question(), seed=seed, total_sessions=total)
    )["_raw"]
    return raw


def run_level(sessions: int, turns: int, workers: int, profile: LatencyProfile) -> dict[str, Any]:
    """``sessions`` spread over ``workers`` processes (as `taina serve` spreads calls), merged."""
    import multiprocessing

    shares = [sessions // workers + (1 if i < sessions % workers else 0) for i in range(workers)]
    jobs = [(n, sessions, turns, i, profile) for i, n in enumerate(shares) if n]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        raws = pool.map(_worker_share, jobs)
    added = [v for r in raws for v in r["added"]]
    overshoot = [v for r in raws for v in r["overshoot"]]
    lag = [v for r in raws for v in r["lag"]]
    hops = {name: [v for r in raws for v in r["hops"][name]] for name in raws[0]["hops"]}
    waterfall = [w for r in raws for w in r["waterfall"]]
    stages = list(waterfall[0]) if waterfall else []
    cpu = sum(r["cpu_s"] for r in raws)
    wall = max(r["wall_s"] for r in raws)
    return {
        "sessions": sessions,
        "workers": len(jobs),
        "turns_expected": sessions * turns,
        "turns": len(added),
        "engine_added_ms": {
            "p50": _figure(added, 50),
            "p95": _figure(added, 95),
            "max": _figure(added, 100),
        },
        "provider_timer_overshoot_ms": {
            "p50": _figure(overshoot, 50),
            "p95": _figure(overshoot, 95),
        },
        "engine_hops_ms_p95": {name: _figure(values, 95) for name, values in hops.items()},
        "waterfall_ms_p50": {s: _figure([w[s] for w in waterfall if s in w], 50) for s in stages},
        "cpu_share_of_cores": round(cpu / wall, 3),
        "cpu_ms_per_audio_second": round(cpu * 1000 / sum(r["audio_s"] for r in raws), 2),
        "loop_lag_ms": {"p99": round(percentile(lag, 99), 1), "max": round(max(lag), 1)},
        "_added": added,
    }


def run(runs: int | None = None) -> dict[str, Any]:
    import os

    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    profile = LatencyProfile()
    cores = len(os.sched_getaffinity(0))
    levels = (
        CONCURRENCY
        if runs is None
        else ((1, runs), (10, max(1, runs // 2)), (50, max(1, runs // 3)), (100, max(1, runs // 4)))
    )
    one = [run_level(n, turns, 1, profile) for n, turns in levels]
    every = [run_level(n, turns, cores, profile) for n, turns in levels if n > 1]
    RESULTS.mkdir(exist_ok=True)
    plot(every or one, RESULTS / "latency.png")
    at_50 = next((r for r in every if r["sessions"] == 50), None)
    for r in one + every:
        r.pop("_added")
    return {
        "profile_ms": profile.as_json(),
        "endpoint_silence_ms": settings.endpoint.silence_ms,
        "subtracted": "the profile's nominal provider time and the endpoint silence",
        "one_worker": one,
        "all_workers": every,
        "cores": cores,
        "target_p95_ms_at_50_all_workers": TARGET_P95_MS,
        "met": at_50 is not None and (at_50["engine_added_ms"]["p95"] or 1e9) <= TARGET_P95_MS,
        "plot": "benchmarks/results/latency.png",
    }
