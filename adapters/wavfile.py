"""A transport made of files: a WAV plays as the user's microphone, the reply is collected into a WAV.

Inbound frames are paced in real time, exactly as a live call would deliver them, and the reply leaves
through the same PacedPlayout as a WebRTC call's, so `taina converse` measures the real session's timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio import AudioFrame, AudioSettings, Pcm, samples_per_frame
from engine.playout import PacedPlayout, PlayoutOutput


class WavError(ValueError):
    """The input is missing, is not a WAV file, or holds no audio."""


def read_wav(path: Path) -> AudioFrame:
    """The whole file as one frame of interleaved int16, at its own rate and channel count."""
    import av

    if not path.is_file():
        raise WavError(f"{path}: no such file")
    try:
        container = av.open(str(path), format="wav")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise WavError(f"{path}: not a WAV file ({exc.__class__.__name__})") from None
    with container:
        streams = container.streams.audio
        if not streams:
            raise WavError(f"{path}: the WAV file has no audio stream")
        stream = streams[0]
        channels = stream.codec_context.channels or 1
        rate = stream.codec_context.sample_rate
        if not rate:
            raise WavError(f"{path}: the WAV file has no sample rate")
        resampler = av.AudioResampler(format="s16", layout=stream.codec_context.layout, rate=rate)
        pieces: list[np.ndarray] = []
        try:
            for decoded in container.decode(stream):
                for out in resampler.resample(decoded):
                    pieces.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise WavError(f"{path}: the WAV data is damaged ({exc})") from None
    if not pieces or sum(len(p) for p in pieces) == 0:
        raise WavError(f"{path}: the WAV file holds no samples")
    return AudioFrame(np.concatenate(pieces).astype(np.int16), rate, 0.0, channels)


def write_wav(path: Path, samples: Pcm, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


class FileTransport(PlayoutOutput):
    """Plays ``audio`` as the user's microphone in real time, then silence until ``hang_up()``."""

    def __init__(
        self, audio: AudioFrame, settings: AudioSettings, max_trailing_silence_s: float = 20.0
    ) -> None:
        self.output_rate = settings.output_rate
        self._audio = audio
        self._frame_ms = settings.frame_ms
        self._playout = PacedPlayout(settings.output_rate, settings.frame_ms, settings.playout_queue_ms)
        self._reply: list[Pcm] = []
        self._max_trailing = max_trailing_silence_s
        self._hung_up = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @property
    def reply_audio(self) -> Pcm:
        return np.concatenate(self._reply) if self._reply else np.zeros(0, np.int16)

    def hang_up(self) -> None:
        self._hung_up.set()

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        self._pump = asyncio.create_task(self._pump_playout(), name="file-playout")
        audio = self._audio
        step = samples_per_frame(audio.sample_rate, self._frame_ms) * audio.channels
        silence = np.zeros(step, dtype=np.int16)
        frame_s = self._frame_ms / 1000
        total = len(audio.samples)
        trailing_frames = int(self._max_trailing / frame_s)
        start = time.monotonic()
        index = 0
        trailing = 0  # silent frames sent after the file while nothing was playing
        while trailing < trailing_frames:
            if self._hung_up.is_set():
                return
            due = start + (index + 1) * frame_s
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            offset = index * step
            if offset < total:
                chunk = audio.samples[offset : offset + step]
                if len(chunk) < step:
                    chunk = np.concatenate([chunk, silence[: step - len(chunk)]])
            else:
                chunk = silence
                # A long reply is not silence: the limit counts only while the assistant is quiet.
                trailing += self._playout.queued == 0
            index += 1
            yield AudioFrame(chunk, audio.sample_rate, due, audio.channels)

    def send_event(self, event: dict[str, Any]) -> None:
        return None  # a file has no screen to show events on

    async def aclose(self) -> None:
        self._hung_up.set()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def _pump_playout(self) -> None:
        while True:
            samples, _due, silence_fill = await self._playout.next_frame()
            if not silence_fill:
                self._reply.append(samples)
