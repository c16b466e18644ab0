"""Voice activity: webrtcvad per frame, then smoothed so that noise neither starts nor prolongs speech.

Plain webrtcvad calls many noise frames voiced (keyboard, breath, line noise); if a single voiced frame reset
the silence count, a turn on a noisy line would never end. Here a voiced run only counts as speech once it
lasts ``start_ms``, both to start speech and to interrupt a pause that has begun.
"""

from __future__ import annotations

from typing import ClassVar

import webrtcvad

from engine.audio import AudioFrame, rms_dbfs
from engine.options import Section, knob


class VoiceClassifier:
    """Is this one frame voiced? webrtcvad, with frames below an energy floor called silent outright."""

    def __init__(self, settings: VadSettings, sample_rate: int) -> None:
        if sample_rate not in (8_000, 16_000, 32_000, 48_000):
            raise ValueError(f"webrtcvad takes 8, 16, 32 or 48 kHz audio, not {sample_rate} Hz")
        self._vad = webrtcvad.Vad(settings.aggressiveness)
        self._floor = settings.min_energy_dbfs
        self._rate = sample_rate

    def is_voiced(self, frame: AudioFrame) -> bool:
        if rms_dbfs(frame.samples) < self._floor:
            return False
        return bool(self._vad.is_speech(frame.samples.tobytes(), self._rate))


class SpeechDetector:
    """Smooths per-frame decisions into speech that starts, and a time when speech was last heard.

    ``push`` returns True on the frame at which speech starts. While speaking, ``last_speech_at`` moves only
    with voiced runs of at least ``start_ms``; isolated voiced frames inside a pause leave it where it was.
    """

    def __init__(self, settings: VadSettings, frame_ms: int) -> None:
        self._run_needed = max(1, -(-settings.start_ms // frame_ms))  # ceil
        self._frame_s = frame_ms / 1000
        self.speaking = False
        self.voiced_run = 0
        self.started_at = 0.0
        self.last_speech_at = 0.0

    def push(self, voiced: bool, timestamp: float) -> bool:
        self.voiced_run = self.voiced_run + 1 if voiced else 0
        if self.voiced_run < self._run_needed:
            return False
        self.last_speech_at = timestamp
        if self.speaking:
            return False
        self.speaking = True
        # Speech began at the start of the run's first frame.
        self.started_at = timestamp - self.voiced_run * self._frame_s
        return True

    def silence(self, timestamp: float) -> float:
        """Seconds since speech was last heard (0 while not speaking)."""
        return timestamp - self.last_speech_at if self.speaking else 0.0

    def reset(self) -> None:
        self.speaking = False
        self.voiced_run = 0


class VadSettings(Section):
    prefix: ClassVar[str] = "TAINA_VAD"
    aggressiveness: int = knob(
        2, "webrtcvad mode, 0 (least) to 3 (most aggressive at calling audio non-speech).", ge=0, le=3
    )
    min_energy_dbfs: float = knob(
        -50.0, "Frames quieter than this (dBFS) count as silence whatever webrtcvad says.", ge=-90, le=0
    )
    start_ms: int = knob(
        60,
        "Voiced run that starts speech, in ms. A shorter voiced run inside a pause (a click, a noise burst) "
        "does not reset the pause either.",
        ge=20,
        le=1_000,
    )
