"""Audio frames and the two buffers the hot path needs: a re-framer and a pre-speech ring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from engine.options import Section, knob

Pcm = NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A run of signed 16-bit PCM samples.

    ``samples`` is 1-D; with more than one channel the samples are interleaved. ``timestamp`` is the
    ``time.monotonic()`` instant at which the frame's last sample was captured (inbound) or is due
    (outbound), so that latencies can be measured across the whole pipeline on one clock.
    """

    samples: Pcm
    sample_rate: int
    timestamp: float = 0.0
    channels: int = 1

    @property
    def sample_count(self) -> int:
        return len(self.samples) // self.channels

    @property
    def duration(self) -> float:
        return self.sample_count / self.sample_rate


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono audio of any length and rate, as a text-to-speech engine produces it."""

    samples: Pcm
    sample_rate: int
    voiced_chars: int = 0  # how much of the text the audio so far covers, when the engine says (alignment)


def samples_per_frame(sample_rate: int, frame_ms: int) -> int:
    return sample_rate * frame_ms // 1000


def rms_dbfs(samples: Pcm) -> float:
    """Loudness of int16 samples relative to full scale; -inf for digital silence."""
    if len(samples) == 0:
        return float("-inf")
    as_float = samples.astype(np.float32)
    mean_square = float(np.dot(as_float, as_float)) / len(samples)
    if mean_square <= 0.0:
        return float("-inf")
    return 10.0 * float(np.log10(mean_square / (32768.0 * 32768.0)))


class Reframer:
    """Cuts a stream of variable-length mono chunks into frames of exactly ``frame_size`` samples.

    A resampler emits a few samples more or less per call; the VAD and the paced output need exact sizes.
    """

    def __init__(self, frame_size: int) -> None:
        self.frame_size = frame_size
        self._pending = np.zeros(frame_size * 4, dtype=np.int16)
        self._count = 0

    def push(self, samples: Pcm) -> list[Pcm]:
        needed = self._count + len(samples)
        if needed > len(self._pending):
            grown = np.zeros(max(needed, 2 * len(self._pending)), dtype=np.int16)
            grown[: self._count] = self._pending[: self._count]
            self._pending = grown
        self._pending[self._count : needed] = samples
        self._count = needed
        frames: list[Pcm] = []
        start = 0
        while self._count - start >= self.frame_size:
            frames.append(self._pending[start : start + self.frame_size].copy())
            start += self.frame_size
        if start:
            remaining = self._count - start
            self._pending[:remaining] = self._pending[start : self._count]
            self._count = remaining
        return frames

    @property
    def pending(self) -> int:
        """Samples waiting for a whole frame."""
        return self._count

    def flush(self) -> Pcm | None:
        """The partial frame left over, padded with silence; None when nothing is pending."""
        if self._count == 0:
            return None
        frame = np.zeros(self.frame_size, dtype=np.int16)
        frame[: self._count] = self._pending[: self._count]
        self._count = 0
        return frame

    def clear(self) -> None:
        self._count = 0


class FrameRing:
    """The last ``capacity`` frames, oldest first: the audio from just before speech was detected."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._frames: list[AudioFrame | None] = [None] * max(capacity, 1)
        self._next = 0
        self._size = 0

    def append(self, frame: AudioFrame) -> None:
        if self.capacity == 0:
            return
        self._frames[self._next] = frame
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def drain(self) -> list[AudioFrame]:
        """All held frames in order, leaving the ring empty."""
        start = (self._next - self._size) % max(self.capacity, 1)
        out = [self._frames[(start + i) % self.capacity] for i in range(self._size)]
        self.clear()
        return [f for f in out if f is not None]

    def clear(self) -> None:
        self._size = 0
        self._next = 0

    def __len__(self) -> int:
        return self._size


# The engine's fixed processing format: webrtcvad and Whisper both take 16 kHz mono.
PROCESSING_RATE = 16_000


class AudioSettings(Section):
    prefix: ClassVar[str] = "TAINA_AUDIO"
    frame_ms: Literal[10, 20, 30] = knob(
        20, "Length of one audio frame on the engine's paths, in ms (10, 20 or 30)."
    )
    output_rate: int = knob(
        48_000, "Sample rate of the audio the assistant sends out, in Hz.", ge=8_000, le=48_000
    )
    playout_queue_ms: int = knob(
        30_000, "Most reply audio queued ahead of the paced output, in ms (back-pressure beyond).", ge=1_000
    )
