"""Scripted ports for session tests: a transport fed from an array, a speech-to-text that says what it is told,
a text-to-speech that plays tones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from engine.audio import AudioChunk, AudioFrame
from engine.playout import PacedPlayout, PlayoutOutput
from engine.ports.speech import Transcript
from tests.support.frames import frames_of
from tests.support.speech import tone


class ScriptedTransport(PlayoutOutput):
    """Feeds 48 kHz stereo frames in real time; collects what the session plays."""

    output_rate = 48_000

    def __init__(self, pcm16k: np.ndarray, realtime: bool = False) -> None:
        from engine.resample import resample

        stereo = np.repeat(resample(pcm16k, 16_000, 48_000), 2)
        self._realtime = realtime
        self._frames = frames_of(
            stereo, rate=48_000, channels=2, start=time.monotonic() if realtime else 100.0
        )
        self._playout = PacedPlayout(48_000, 20, 30_000)
        self.events: list[dict[str, Any]] = []
        self.event_times: list[float] = []
        self.played: list[np.ndarray] = []
        self.played_at: list[float] = []  # when each reply frame left
        self.heard_at: list[float] = []  # the timestamp of each microphone frame, as it was delivered
        self.closed = False
        self.hung_up = asyncio.Event()

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        pump = asyncio.create_task(self._pump())
        try:
            for frame in self._frames:
                if self.hung_up.is_set():
                    return
                if self._realtime:  # each frame when its time comes, as a microphone would
                    await asyncio.sleep(max(0.0, frame.timestamp - time.monotonic()))
                else:  # faster than real time; the endpointer only reads timestamps
                    await asyncio.sleep(0.002)
                self.heard_at.append(frame.timestamp)
                yield frame
            await self.hung_up.wait()
        finally:
            pump.cancel()

    async def _pump(self) -> None:
        while True:
            samples, due, fill = await self._playout.next_frame()
            if not fill:
                self.played.append(samples)
                self.played_at.append(due)

    def send_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.event_times.append(time.monotonic())

    async def aclose(self) -> None:
        self.closed = True


class ScriptedStt:
    name = "scripted-stt"

    def __init__(
        self, text: str, fail: bool = False, then: tuple[str, ...] = (), interim: str = "", delay: float = 0.0
    ) -> None:
        self.text, self.fail = text, fail
        self.interim = interim  # said as an interim transcript at the first pause
        self.delay = delay  # how long finish() takes
        self._on_interim: Callable[[str], None] | None = None
        self.later = list(then)  # the transcripts of the utterances after the first
        self.frames_heard = 0
        self.pauses = 0

    def start(self) -> None:
        pass

    def open(self, on_interim: Callable[[str], None] | None = None) -> ScriptedStt:
        self._on_interim = on_interim
        return self

    async def send(self, frame: AudioFrame) -> None:
        assert frame.sample_rate == 16_000 and len(frame.samples) == 320
        self.frames_heard += 1

    def speech_paused(self) -> None:
        self.pauses += 1
        if self.interim and self._on_interim is not None:
            self._on_interim(self.interim)

    def speech_resumed(self) -> None:
        pass

    async def finish(self) -> Transcript:
        if self.fail:
            raise ConnectionError("speech-to-text went away")
        await asyncio.sleep(self.delay)
        text = self.text
        if self.later:
            self.text = self.later.pop(0)
        return Transcript(text)

    async def aclose(self) -> None:
        pass


class ToneTts:
    """Every clause is ``seconds`` of tone."""

    name = "tone"

    def __init__(self, seconds: float = 0.2, pace: float = 0.0) -> None:
        self.seconds = seconds
        self.pace = pace  # seconds taken to make each 100 ms chunk
        self.cancelled = 0

    def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        pieces = max(1, round(self.seconds / 0.1))  # in 100 ms chunks, as a streaming voice sends them
        try:
            for _ in range(pieces):
                await asyncio.sleep(self.pace)
                yield AudioChunk(tone(self.seconds / pieces, rate=22_050), 22_050)
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise


class LiveTransport(ScriptedTransport):
    """A caller the test drives: silence in real time until ``say`` queues an utterance, for calls whose
    turns the test paces (a database killed between two of them, say)."""

    def __init__(self) -> None:
        super().__init__(np.zeros(0, np.int16), realtime=True)
        self._said: asyncio.Queue[list[AudioFrame]] = asyncio.Queue()
        self.frames_in = 0

    def say(self, pcm16k: np.ndarray) -> None:
        from engine.resample import resample

        stereo = np.repeat(resample(pcm16k, 16_000, 48_000), 2)
        self._said.put_nowait(frames_of(stereo, rate=48_000, channels=2, start=0.0))

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        pump = asyncio.create_task(self._pump())
        silent = AudioFrame(np.zeros(960 * 2, np.int16), 48_000, 0.0, 2)
        start = time.monotonic()
        pending: list[AudioFrame] = []
        try:
            while not self.hung_up.is_set():
                if not pending and not self._said.empty():
                    pending = self._said.get_nowait()
                frame = pending.pop(0) if pending else silent
                self.frames_in += 1
                due = start + self.frames_in * 0.02
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self.heard_at.append(due)
                yield AudioFrame(frame.samples, 48_000, due, 2)
        finally:
            pump.cancel()
