"""Sample-rate conversion with libsoxr, and the conditioner that turns any inbound audio into engine frames."""

from __future__ import annotations

import numpy as np
import soxr

from engine.audio import AudioFrame, Pcm, Reframer, samples_per_frame

# soxr "HQ" is transparent for speech at a few microseconds per 20 ms frame (see benchmarks/frames.py).
QUALITY = "HQ"


def downmix(samples: Pcm, channels: int) -> Pcm:
    """Interleaved int16 with ``channels`` channels to mono, by averaging."""
    if channels == 1:
        return samples
    if channels == 2:
        # Integer average of the two channels; avoids a float round trip on the hot path.
        stereo = samples.reshape(-1, 2).astype(np.int32)
        mixed = (stereo[:, 0] + stereo[:, 1]) >> 1
    else:
        mixed = samples.reshape(-1, channels).mean(axis=1)
    return np.asarray(mixed, dtype=np.int16)


def resample(samples: Pcm, from_rate: int, to_rate: int) -> Pcm:
    """One-shot conversion of a whole mono buffer (files, synthesized sentences)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples
    out = soxr.resample(samples, from_rate, to_rate, quality=QUALITY)
    return np.asarray(out, dtype=np.int16)


class Decimator:
    """Integer-ratio downsampling (48 -> 16 kHz, what WebRTC delivers to what the engine listens at) that gives
    back every output sample its input allows, at once.

    libsoxr's streaming resampler works in blocks: at 48 -> 16 kHz it answers a 20 ms frame with nothing, then
    with 30 ms, so audio waited about 17 ms on average before the VAD saw it. Here a windowed-sinc low-pass
    (32 taps per unit of the ratio, flat to 6 kHz, -29 dB at 8 kHz, below -85 dB from 9 kHz) runs on each frame
    with the previous frame's tail, and the delay is the filter's own: half its length (1 ms at 48 kHz).
    """

    def __init__(self, factor: int) -> None:
        taps = 32 * factor
        cutoff = 0.45 / factor  # of the input rate: 7.2 kHz at 48 kHz
        n = np.arange(taps) - (taps - 1) / 2
        kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(taps, 8.0)
        self._kernel = (kernel / kernel.sum()).astype(np.float32)
        self._factor = factor
        self._history = np.zeros(taps - 1, np.float32)
        self._phase = 0  # where in the next call's input the next output is due

    def push(self, samples: Pcm) -> Pcm:
        x = np.concatenate([self._history, samples.astype(np.float32)])
        y = np.convolve(x, self._kernel, "valid")[self._phase :: self._factor]
        self._phase += self._factor * len(y) - len(samples)
        self._history = x[len(x) - len(self._history) :]
        return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


class StreamResampler:
    """Mono int16 conversion that keeps filter state across calls, for a continuous stream."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._decimator = (
            Decimator(from_rate // to_rate) if from_rate > to_rate and from_rate % to_rate == 0 else None
        )
        self._stream = (
            None
            if from_rate == to_rate or self._decimator is not None
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality=QUALITY)
        )

    def push(self, samples: Pcm, last: bool = False) -> Pcm:
        if self._decimator is not None:
            return self._decimator.push(samples)
        if self._stream is None:
            return samples
        return np.asarray(self._stream.resample_chunk(samples, last=last), dtype=np.int16)


class InputConditioner:
    """Any inbound frame (any rate, any channel count) -> mono frames of ``frame_ms`` at ``rate``.

    Keeps one resampler per input rate seen, so a transport that changes rate mid-stream still works.
    """

    def __init__(self, rate: int, frame_ms: int) -> None:
        self.rate = rate
        self.frame_ms = frame_ms
        self._resampler: StreamResampler | None = None
        self._reframer = Reframer(samples_per_frame(rate, frame_ms))
        self._frame_duration = frame_ms / 1000
        self._last_timestamp = float("-inf")

    def push(self, frame: AudioFrame) -> list[AudioFrame]:
        mono = downmix(frame.samples, frame.channels)
        resampler = self._resampler
        fresh = resampler is None or resampler.from_rate != frame.sample_rate
        if resampler is None or fresh:
            resampler = self._resampler = StreamResampler(frame.sample_rate, self.rate)
        out = resampler.push(mono)
        if fresh:
            # The resampler holds back its filter delay at first. Silence in its place keeps each engine frame
            # aligned with an inbound frame, so none waits up to a frame in the re-framer for the rest.
            deficit = len(mono) * self.rate // frame.sample_rate - len(out)
            if deficit > 0:
                out = np.concatenate([np.zeros(deficit, np.int16), out])
        pieces = self._reframer.push(out)
        if not pieces:
            return []
        # The newest piece ends where the inbound frame ends, less the audio still waiting in the re-framer;
        # earlier pieces are a frame apart. Kept strictly increasing across resampler bursts.
        rate = self.rate
        newest_end = frame.timestamp - self._reframer.pending / rate
        last = len(pieces) - 1
        frames = []
        for i, piece in enumerate(pieces):
            timestamp = max(newest_end - (last - i) * self._frame_duration, self._last_timestamp + 1e-6)
            self._last_timestamp = timestamp
            frames.append(AudioFrame(piece, rate, timestamp))
        return frames


class OutputConditioner:
    """Synthesized chunks (any rate) -> frames of ``frame_ms`` at the transport's output rate."""

    def __init__(self, rate: int, frame_ms: int) -> None:
        self.rate = rate
        self._resampler: StreamResampler | None = None
        self._reframer = Reframer(samples_per_frame(rate, frame_ms))

    def push(self, samples: Pcm, sample_rate: int) -> list[Pcm]:
        frames: list[Pcm] = []
        if self._resampler is not None and self._resampler.from_rate != sample_rate:
            frames = self._drain_resampler()
        if self._resampler is None:
            self._resampler = StreamResampler(sample_rate, self.rate)
        frames += self._reframer.push(self._resampler.push(samples))
        return frames

    def flush(self) -> list[Pcm]:
        """The resampler's tail and the last partial frame, padded with silence."""
        frames = self._drain_resampler()
        last = self._reframer.flush()
        if last is not None:
            frames.append(last)
        return frames

    def _drain_resampler(self) -> list[Pcm]:
        if self._resampler is None:
            return []
        tail = self._resampler.push(np.zeros(0, np.int16), last=True)
        self._resampler = None
        return self._reframer.push(tail)
