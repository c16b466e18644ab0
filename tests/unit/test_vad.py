from __future__ import annotations

import numpy as np
import pytest

from engine.vad import SpeechDetector, VadSettings, VoiceClassifier
from tests.support.frames import frames_of
from tests.support.speech import noise, silence, speech


def voiced_flags(pcm: np.ndarray, settings: VadSettings | None = None) -> list[bool]:
    classifier = VoiceClassifier(settings or VadSettings(), 16_000)
    return [classifier.is_voiced(f) for f in frames_of(pcm)]


def test_silence_and_quiet_noise_are_not_voiced() -> None:
    assert not any(voiced_flags(silence(1.0)))
    # Line hiss below the energy floor: webrtcvad alone may call it voiced, the floor does not.
    assert not any(voiced_flags(noise(1.0, amplitude=0.002)))


def test_speech_is_voiced() -> None:
    flags = voiced_flags(speech("Buenos días, quisiera una cita con la doctora."))
    assert sum(flags) / len(flags) > 0.5


def test_speech_starts_only_after_a_voiced_run() -> None:
    detector = SpeechDetector(VadSettings(start_ms=60), frame_ms=20)
    assert [detector.push(v, t * 0.02) for t, v in enumerate([True, True, False, True, True])] == [False] * 5
    assert not detector.speaking
    assert detector.push(True, 0.12) is True  # third voiced frame in a row
    assert detector.started_at == 0.12 - 0.06


def test_isolated_voiced_frames_do_not_reset_the_silence() -> None:
    detector = SpeechDetector(VadSettings(start_ms=60), frame_ms=20)
    for i in range(10):
        detector.push(True, i * 0.02)
    last_speech = detector.last_speech_at
    # A pause with noise: single and double voiced frames among silent ones.
    pattern = [False, False, True, False, False, True, True, False, False, True, False]
    for j, voiced in enumerate(pattern):
        detector.push(voiced, 0.2 + j * 0.02)
    assert detector.last_speech_at == last_speech
    assert detector.silence(0.2 + len(pattern) * 0.02) > 0.2


def test_a_long_enough_voiced_run_resumes_speech() -> None:
    detector = SpeechDetector(VadSettings(start_ms=60), frame_ms=20)
    for i in range(5):
        detector.push(True, i * 0.02)
    for j in range(10):
        detector.push(False, 0.1 + j * 0.02)
    for k in range(3):
        detector.push(True, 0.3 + k * 0.02)
    assert detector.silence(0.34) == pytest.approx(0.0)
