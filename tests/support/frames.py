"""Cut test audio into timed engine frames."""

from __future__ import annotations

import numpy as np

from engine.audio import AudioFrame, Pcm


def frames_of(
    pcm: Pcm, rate: int = 16_000, frame_ms: int = 20, start: float = 100.0, channels: int = 1
) -> list[AudioFrame]:
    step = rate * frame_ms // 1000 * channels
    usable = len(pcm) - len(pcm) % step
    return [
        AudioFrame(pcm[i : i + step], rate, start + (i // step + 1) * frame_ms / 1000, channels)
        for i in range(0, usable, step)
    ]


def dominant_frequency(pcm: Pcm, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])
