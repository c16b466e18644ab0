"""Decides where a user's utterance starts and ends, frame by frame, with no I/O.

Events, at most one per frame:
- UtteranceStarted: speech confirmed; carries the pre-roll (the audio just before, including the voiced run).
- SpeechPaused: silence has lasted ``pause_ms``; speech-to-text may start on the audio so far.
- SpeechResumed: speech came back after a pause; whatever was started on the pause is stale.
- UtteranceEnded: silence has lasted ``silence_ms`` (or the utterance hit ``max_utterance_ms``).
- UtteranceDiscarded: the speech was too short to be a turn (a cough, a click).

The silence that ends a turn adapts to what was said, when speech-to-text tells (``hint``, with an interim or
speculative transcript): shorter after a complete sentence or question, longer after a trailing "y..." or
"este...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pydantic import model_validator

from engine.audio import AudioFrame, FrameRing
from engine.options import Section, knob
from engine.vad import SpeechDetector, VadSettings, VoiceClassifier


@dataclass(frozen=True, slots=True)
class UtteranceStarted:
    started_at: float
    preroll: list[AudioFrame]


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    at: float


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    at: float


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    started_at: float
    end_of_speech: float  # when the last speech was heard
    detected_at: float  # when the endpointer decided (end_of_speech + silence)
    forced: bool = False  # cut at max_utterance_ms rather than ended by silence


@dataclass(frozen=True, slots=True)
class UtteranceDiscarded:
    duration: float


EndpointEvent = UtteranceStarted | SpeechPaused | SpeechResumed | UtteranceEnded | UtteranceDiscarded

# Words after which a Spanish speaker is still going: conjunctions, prepositions, articles, fillers.
TRAILING_WORDS = frozenset(
    [
        "y",
        "e",
        "o",
        "u",
        "ni",
        "pero",
        "que",
        "porque",
        "como",
        "cuando",
        "donde",
        "si",
        "de",
        "del",
        "con",
        "sin",
        "para",
        "por",
        "a",
        "al",
        "en",
        "entre",
        "hasta",
        "desde",
        "sobre",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "mi",
        "mis",
        "su",
        "sus",
        "tu",
        "este",
        "esta",
        "ese",
        "esa",
        "eh",
        "em",
        "ehm",
        "mm",
        "mmm",
        "pues",
        "entonces",
        "bueno",
        "o",
        "sea",
        "digo",
    ]
)
_WORDS = re.compile(r"[\wáéíóúüñ]+", re.IGNORECASE)


def sounds_finished(text: str) -> bool | None:
    """Whether a transcript so far reads as a finished turn: True (a full stop, ? or !), False (it trails
    off: "...", a comma, or a last word like "y" or "este"), None (no way to tell)."""
    text = text.strip()
    if not text:
        return None
    if text.endswith(("...", "…", ",", ";", ":", "-")):
        return False
    words = _WORDS.findall(text.lower())
    if words and words[-1] in TRAILING_WORDS:
        return False
    if text[-1] in ".?!":
        return True
    return None


class Endpointer:
    def __init__(self, vad: VadSettings, endpoint: EndpointSettings, sample_rate: int, frame_ms: int) -> None:
        self._classifier = VoiceClassifier(vad, sample_rate)
        self._detector = SpeechDetector(vad, frame_ms)
        self._preroll = FrameRing(endpoint.preroll_ms // frame_ms)
        self._pause = endpoint.pause_ms / 1000
        self._default_silence = self._silence = endpoint.silence_ms / 1000
        self._complete_silence = endpoint.silence_complete_ms / 1000
        self._incomplete_silence = endpoint.silence_incomplete_ms / 1000
        self._min_utterance = endpoint.min_utterance_ms / 1000
        self._max_utterance = endpoint.max_utterance_ms / 1000
        self._paused = False

    @property
    def in_utterance(self) -> bool:
        return self._detector.speaking

    @property
    def voiced_for(self) -> float:
        """Seconds from the start of the utterance in progress to the last speech heard in it (0 outside)."""
        detector = self._detector
        return detector.last_speech_at - detector.started_at if detector.speaking else 0.0

    @property
    def silence_needed(self) -> float:
        """The silence that ends the utterance in progress, in seconds (as adapted by ``hint``)."""
        return self._silence

    def hint(self, transcript: str) -> None:
        """The utterance's transcript so far: adapt the silence that will end it."""
        if not self._detector.speaking:
            return
        finished = sounds_finished(transcript)
        if finished is None:
            self._silence = self._default_silence
        else:
            self._silence = self._complete_silence if finished else self._incomplete_silence

    def push(self, frame: AudioFrame) -> EndpointEvent | None:
        voiced = self._classifier.is_voiced(frame)
        detector = self._detector
        if not detector.speaking:
            self._preroll.append(frame)
            if detector.push(voiced, frame.timestamp):
                self._paused = False
                return UtteranceStarted(detector.started_at, self._preroll.drain())
            return None

        heard_before = detector.last_speech_at
        detector.push(voiced, frame.timestamp)
        now = frame.timestamp
        if now - detector.started_at >= self._max_utterance:
            return self._end(now, forced=True)
        if detector.last_speech_at != heard_before and self._paused:
            self._paused = False
            self._silence = self._default_silence  # the transcript that set it is stale now
            return SpeechResumed(now)
        silence = detector.silence(now) + 1e-6  # frame timestamps are sums of floats
        if silence >= self._silence:
            return self._end(now, forced=False)
        if silence >= self._pause and not self._paused:
            self._paused = True
            return SpeechPaused(now)
        return None

    def _end(self, now: float, forced: bool) -> EndpointEvent:
        detector = self._detector
        end_of_speech = now if forced else detector.last_speech_at
        duration = end_of_speech - detector.started_at
        started_at = detector.started_at
        detector.reset()
        self._paused = False
        self._silence = self._default_silence
        if duration < self._min_utterance:
            return UtteranceDiscarded(duration)
        return UtteranceEnded(started_at, end_of_speech, now, forced)


class EndpointSettings(Section):
    prefix: ClassVar[str] = "TAINA_ENDPOINT"
    silence_ms: int = knob(
        440,
        "Silence after speech that ends the user's turn, in ms (counted in whole frames: keep it a multiple).",
        ge=100,
        le=5_000,
    )
    pause_ms: int = knob(
        200,
        "Silence after which speech-to-text starts on the audio so far, in case the turn is over (ms).",
        gt=0,
    )
    min_utterance_ms: int = knob(
        200, "Speech shorter than this (a cough, a click) is not a turn, in ms.", ge=0, le=5_000
    )
    max_utterance_ms: int = knob(
        20_000, "A turn is ended after this much speech, in ms.", ge=1_000, le=120_000
    )
    preroll_ms: int = knob(
        300, "Audio kept from before speech starts and sent along with it, in ms.", ge=0, le=2_000
    )
    silence_complete_ms: int = knob(
        300,
        "Silence that ends the turn once the transcript so far is a complete sentence or question, in ms.",
    )
    silence_incomplete_ms: int = knob(
        1_000,
        'Silence that ends the turn when the transcript so far trails off ("y...", "este..."), in ms.',
    )

    @model_validator(mode="after")
    def _silences_in_order(self) -> EndpointSettings:
        if not self.pause_ms < self.silence_ms:
            raise ValueError("TAINA_ENDPOINT_PAUSE_MS must be above 0 and below TAINA_ENDPOINT_SILENCE_MS")
        if not self.pause_ms < self.silence_complete_ms <= self.silence_ms:
            raise ValueError(
                "TAINA_ENDPOINT_SILENCE_COMPLETE_MS must be above TAINA_ENDPOINT_PAUSE_MS and at most "
                "TAINA_ENDPOINT_SILENCE_MS"
            )
        if not self.silence_ms <= self.silence_incomplete_ms <= 5_000:
            raise ValueError(
                "TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS must be between TAINA_ENDPOINT_SILENCE_MS and 5000"
            )
        return self
