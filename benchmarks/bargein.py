"""How fast the assistant stops talking when the caller talks over it.

Sessions of the real engine with the scripted providers of ``benchmarks.profile`` (long replies) hear a
question and then, every time a reply has been playing for a moment, the caller speaking over it. Measured per
interruption: from the caller's first voiced frame (as the VAD saw it) to the last reply frame that left the
paced output. The floor is the minimum interruption (speech shorter than it, a cough or "ajá", must not stop
the reply); the target is p95 at most that plus 40 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import numpy as np

from adapters.wavfile import FileTransport
from benchmarks.latency import percentile, spoken_question
from benchmarks.profile import LatencyProfile, ProfiledModel, ProfiledSpeechToText, ProfiledTextToSpeech
from engine.audio import AudioFrame, Pcm
from engine.dialogue import Dialogue
from engine.session import Session
from taina.settings import Settings

SESSIONS = 10
INTERRUPTIONS = 4  # per session


class _TimedTransport(FileTransport):
    """Keeps when each reply frame left."""

    def __init__(self, audio: AudioFrame, settings: Any) -> None:
        super().__init__(audio, settings, 3.0)
        self.sent: list[float] = []

    async def _pump_playout(self) -> None:
        while True:
            _samples, due, silence = await self._playout.next_frame()
            if not silence:
                self.sent.append(due)


class _WatchedSession(Session):
    """Keeps the first voiced frame of each interruption (the VAD's start of the caller's speech)."""

    barges: list[float]

    def _barge_in(self, started_at: float) -> None:
        self.barges.append(started_at)
        super()._barge_in(started_at)


def _audio(question: Pcm, settings: Settings, profile: LatencyProfile) -> AudioFrame:
    into_reply = (settings.endpoint.silence_ms + profile.provider_ms) / 1000 + 0.6  # 0.6 s of reply heard
    gap = np.zeros(int(into_reply * 48_000), np.int16)
    parts = [np.zeros(int(0.3 * 48_000), np.int16), question]
    for _ in range(INTERRUPTIONS):
        parts += [gap, question]
    parts.append(np.zeros(int(2.0 * 48_000), np.int16))
    return AudioFrame(np.repeat(np.concatenate(parts), 2), 48_000, 0.0, 2)


async def _measure(settings: Settings, profile: LatencyProfile, question: Pcm) -> list[float]:
    stops: list[float] = []

    async def one(index: int) -> None:
        await asyncio.sleep(index * 0.137)  # staggered starts
        transport = _TimedTransport(_audio(question, settings, profile), settings.audio)
        turns = 0

        def done(_record: object) -> None:
            nonlocal turns
            turns += 1
            if turns == INTERRUPTIONS + 1:
                transport.hang_up()

        session = _WatchedSession(
            f"barge-{index}",
            transport,
            ProfiledSpeechToText(profile),
            Dialogue(ProfiledModel(profile)),
            ProfiledTextToSpeech(profile),
            settings.session(),
            done,
        )
        session.barges = []
        await session.run()
        if session.error is not None:
            raise RuntimeError(f"session {index} failed: {session.error!r}")
        for started in session.barges:
            before = [t for t in transport.sent if started - 2.0 < t < started + 1.0]
            if before:
                stops.append((max(before) - started) * 1000)

    async with asyncio.timeout(120):
        await asyncio.gather(*(one(i) for i in range(SESSIONS)))
    return stops


def run(runs: int | None = None) -> dict[str, Any]:
    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    profile = LatencyProfile(seconds_per_clause=3.0)  # long replies, so there is something to interrupt
    question = spoken_question()
    started = time.monotonic()
    stops = asyncio.run(_measure(settings, profile, question))
    minimum = settings.turn.min_interruption_ms
    target = minimum + 40
    return {
        "sessions": SESSIONS,
        "interruptions": len(stops),
        "min_interruption_ms": minimum,
        "stop_ms": {
            "p50": round(statistics.median(stops), 1),
            "p95": round(percentile(stops, 95), 1),
            "max": round(max(stops), 1),
        },
        "beyond_minimum_ms_p95": round(percentile(stops, 95) - minimum, 1),
        "target_p95_ms": target,
        "met": percentile(stops, 95) <= target,
        "seconds": round(time.monotonic() - started, 1),
    }
