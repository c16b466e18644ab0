"""Outbound audio paced against the wall clock: one frame every ``frame_ms``, silence when idle or paused.

When idle (sending silence), a newly queued frame leaves at once and the clock restarts from it, so the
first frame of a reply does not wait up to a frame for the next slot.

Every transport pulls from a PacedPlayout (aiortc's sender through a track's ``recv``, the file transport
through a loop), so reply timing is measured the same way whatever carries the audio.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from engine.audio import AudioFrame, Pcm, samples_per_frame

# If the consumer falls this far behind the clock (a stalled loop), restart the clock instead of bursting.
MAX_LAG_S = 0.1


class PacedPlayout:
    def __init__(self, rate: int, frame_ms: int, max_queue_ms: int) -> None:
        self.rate = rate
        self.frame_size = samples_per_frame(rate, frame_ms)
        self._frame_s = frame_ms / 1000
        self._max_frames = max(1, max_queue_ms // frame_ms)
        self._queue: deque[tuple[Pcm, Callable[[float], None] | None]] = deque()
        self._space = asyncio.Event()
        self._space.set()
        self._empty = asyncio.Event()
        self._empty.set()
        self._idle_wait: asyncio.Future[bool] | None = None  # an idle next_frame's wait; put ends it early
        self._silence = np.zeros(self.frame_size, dtype=np.int16)
        self._start: float | None = None
        self._index = 0
        self._paused = False
        self.tap: Callable[[Pcm, int, float], None] | None = None  # sees every frame that leaves

    async def put(self, samples: Pcm, on_sent: Callable[[float], None] | None = None) -> None:
        if len(samples) != self.frame_size:
            raise ValueError(f"playout frames are {self.frame_size} samples, got {len(samples)}")
        while len(self._queue) >= self._max_frames:
            self._space.clear()
            await self._space.wait()
        self._queue.append((samples, on_sent))
        self._empty.clear()
        waiting = self._idle_wait
        if waiting is not None and not waiting.done():
            waiting.set_result(True)

    async def next_frame(self) -> tuple[Pcm, float, bool]:
        """Wait until the next frame is due; return (samples, due time, is_silence_fill)."""
        now = time.monotonic()
        if self._start is None or now - (self._start + self._index * self._frame_s) > MAX_LAG_S:
            self._start, self._index = now, 0
        due = self._start + self._index * self._frame_s
        if due > now:
            if self._queue or self._paused:
                await asyncio.sleep(due - now)
            elif await self._wait_idle(due - now) and not self._paused:
                # A frame came while idle: it leaves now, and the clock starts again from it.
                self._start = due = time.monotonic()
                self._index = 0
        self._index += 1
        if self._paused or not self._queue:
            if self.tap is not None:
                self.tap(self._silence, self.rate, due)
            return self._silence, due, True
        samples, on_sent = self._queue.popleft()
        if self.tap is not None:
            self.tap(samples, self.rate, due)
        self._space.set()
        if not self._queue:
            self._empty.set()
        if on_sent is not None:
            on_sent(due)
        return samples, due, False

    async def _wait_idle(self, delay: float) -> bool:
        """Sleep ``delay`` (as asyncio.sleep does, one future and one timer), or less if a frame is put:
        whether one was."""
        loop = asyncio.get_running_loop()
        waiting = self._idle_wait = loop.create_future()
        timer = loop.call_later(delay, _settle, waiting)
        try:
            came: bool = await waiting
            return came
        finally:
            timer.cancel()
            self._idle_wait = None

    def pause(self) -> None:
        """Send silence from the next frame on, keeping what is queued (the user may be interrupting)."""
        self._paused = True

    def resume(self) -> None:
        """Carry on with the queued audio where it stopped (it was a false interruption)."""
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def clear(self) -> int:
        """Drop everything queued (an interrupted reply); returns how many frames were dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        self._space.set()
        self._empty.set()
        return dropped

    async def drained(self) -> None:
        await self._empty.wait()

    @property
    def queued(self) -> int:
        return len(self._queue)


def _settle(waiting: asyncio.Future[bool]) -> None:
    if not waiting.done():
        waiting.set_result(False)


class PlayoutOutput:
    """A transport's output half, for transports whose output is a PacedPlayout (``self._playout``)."""

    _playout: PacedPlayout

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        await self._playout.put(frame.samples, on_sent)

    async def drained(self) -> None:
        await self._playout.drained()

    def pause_output(self) -> None:
        self._playout.pause()

    def resume_output(self) -> None:
        self._playout.resume()

    def clear_output(self) -> int:
        return self._playout.clear()

    def tap_output(self, tap: Callable[[Pcm, int, float], None]) -> None:
        self._playout.tap = tap
