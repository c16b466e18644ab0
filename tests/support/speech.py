"""Test audio: Spanish speech from espeak-ng, tones, noise and silence, as int16 arrays or WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adapters.espeak_tts import EspeakEngine, EspeakSettings
from adapters.wavfile import write_wav
from engine.audio import Pcm
from engine.resample import resample

_engine: EspeakEngine | None = None


def speech(text: str, rate: int = 16_000) -> Pcm:
    global _engine
    if _engine is None:
        _engine = EspeakEngine(EspeakSettings(rate=150))
    samples = _engine.synthesize_now(text)
    return resample(samples, _engine.sample_rate, rate)


def silence(seconds: float, rate: int = 16_000) -> Pcm:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def tone(seconds: float, freq: float = 440.0, rate: int = 16_000, amplitude: float = 0.3) -> Pcm:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def noise(seconds: float, rate: int = 16_000, amplitude: float = 0.3, seed: int = 7) -> Pcm:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, int(seconds * rate)) * amplitude * 32767).astype(np.int16)


def speech_wav(path: Path, text: str, rate: int = 22_050, lead_s: float = 0.5, tail_s: float = 3.0) -> Path:
    write_wav(path, np.concatenate([silence(lead_s, rate), speech(text, rate), silence(tail_s, rate)]), rate)
    return path
