"""The input of the smart-turn v3 model: Whisper log-mel features of the last 8 s of 16 kHz audio.

Smart-turn v3 is a Whisper-tiny encoder with a classifier on top, trained on features made the way the
Hugging Face Whisper feature extractor makes them with an 8 s chunk: the waveform scaled to zero mean and unit
variance, a centred short-time Fourier transform (400-sample periodic Hann window, hop 160, reflect padding),
power spectrum through 80 Slaney mel filters (0-8 kHz), log10 floored at 1e-10, the last frame dropped, the
dynamic range clipped to 8 (log10 units) under the peak, then mapped by (x + 4) / 4. Audio shorter than 8 s is
padded with zeros in front (the end of the utterance is what counts), longer audio keeps its last 8 s.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000
WINDOW_S = 8
N_SAMPLES = SAMPLE_RATE * WINDOW_S
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = N_SAMPLES // HOP  # 800

Features = NDArray[np.float32]


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    linear = hz * 3.0 / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    linear = mel * 200.0 / 3.0
    logarithmic = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@cache
def mel_filters() -> NDArray[np.float64]:
    """(N_MELS, N_FFT // 2 + 1) triangular filters, each scaled to unit area (Slaney normalisation)."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(np.array(SAMPLE_RATE / 2))), N_MELS + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    return triangles * (2.0 / (upper - lower))


@cache
def _hann() -> NDArray[np.float64]:
    n = np.arange(N_FFT)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)  # periodic, as torch.hann_window


def last_window(audio: NDArray[np.float32]) -> NDArray[np.float32]:
    """The last 8 s of ``audio`` (float, 16 kHz), zero-padded in front when shorter."""
    if len(audio) >= N_SAMPLES:
        return audio[-N_SAMPLES:]
    return np.concatenate([np.zeros(N_SAMPLES - len(audio), np.float32), audio])


def log_mel(audio: NDArray[np.float32]) -> Features:
    """(N_MELS, FRAMES) features of exactly 8 s of float audio, normalised as the model was trained."""
    if audio.shape != (N_SAMPLES,):
        raise ValueError(f"smart-turn features take {N_SAMPLES} samples (8 s at 16 kHz), not {audio.shape}")
    x = audio.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    starts = np.arange(FRAMES + 1) * HOP
    frames = padded[starts[:, None] + np.arange(N_FFT)[None, :]]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2  # (frames, bins)
    mel = np.log10(np.maximum(mel_filters() @ power.T, 1e-10))[:, :FRAMES]
    mel = np.maximum(mel, mel.max() - 8.0)
    features: Features = ((mel + 4.0) / 4.0).astype(np.float32)
    return features


def features_of(samples: NDArray[np.int16]) -> Features:
    """The model's input, (1, N_MELS, FRAMES), for int16 16 kHz audio whose end is the moment judged."""
    audio = samples.astype(np.float32) / 32768.0
    features: Features = log_mel(last_window(audio))[None, :, :]
    return features
