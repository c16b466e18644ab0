"""Decides where a user's utterance starts and ends, frame by frame, with no I/O.

Events, at most one per frame:
- UtteranceStarted: speech confirmed; carries the pre-roll (the audio just before, including the voiced run).
- SpeechPaused: silence has lasted ``pause_ms``; speech-to-text may start on the audio so far.
- SpeechResumed: speech came back after a pause; whatever was started on the pause is stale.
- UtteranceEnded: silence has lasted ``silence_ms`` (or the utterance hit ``max_utterance_ms``).
- UtteranceDiscarded: the speech was too short to be a turn (a cough, a click).

The silence that ends a turn adapts to what was heard and said. An end-of-turn model (``judging`` when it is
asked at a pause, ``judged`` with its verdict) listens to the utterance: complete, the turn ends at a short
silence; incomplete (a number half dictated, a voice left hanging), it waits longer. The words of an interim or
speculative transcript (``hint``) are the fallback when there is no model, and its second opinion: a transcript
that trails off ("y...", "para el", "este...", "ocho cero nueve") never ends the turn at the short silence.
Without either, the turn ends after ``silence_ms``.
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
# Sounds a Spanish speaker makes while thinking of what comes next: the pause after them is a long one. A lone
# "este..." is often heard by Whisper as "estén" or "esté".
FILLERS = frozenset(
    ["eh", "em", "ehm", "mm", "mmm", "este", "esté", "estén", "éste", "esto", "pues", "bueno", "sea", "digo"]
)
# Digits as said one by one (a phone number, an ID being dictated).
_DIGIT_WORDS = frozenset(
    ["cero", "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
)
_WORDS = re.compile(r"[\wáéíóúüñ]+", re.IGNORECASE)
_TRAILING_DIGITS = re.compile(r"(?:\d[\s.,-]*)+$")


def _digits_at_end(text: str, words: list[str]) -> int:
    """How many digits the transcript ends with ("809." 3, "ocho cero nueve" 3, "a las 10" 2)."""
    found = _TRAILING_DIGITS.search(text.rstrip(" .?!"))
    if found:
        return sum(c.isdigit() for c in found.group())
    spoken = 0
    for word in reversed(words):
        if word not in _DIGIT_WORDS:
            break
        spoken += 1
    return spoken if spoken >= 2 else 0  # one "uno" or "una" is an article as often as a digit


def sounds_finished(text: str) -> bool | None:
    """Whether a transcript so far reads as a finished turn: True (a full stop, ? or !), False (it trails
    off: "...", a comma, a last word like "y" or "este", or a number being dictated: 3 to 9 digits, a phone
    number's first groups, whatever punctuation speech-to-text put after them), None (no way to tell)."""
    text = text.strip()
    if not text:
        return None
    if text.endswith(("...", "…", ",", ";", ":", "-")):
        return False
    words = _WORDS.findall(text.lower())
    if words and (words[-1] in TRAILING_WORDS or words[-1] in FILLERS):
        return False
    digits = _digits_at_end(text, words)
    if 3 <= digits <= 9:
        return False
    if digits:
        return None  # "a las 10." may be the end or not: the full stop says nothing
    if text[-1] in ".?!":
        return True
    return None


def ends_with_filler(text: str) -> bool:
    """Whether the transcript so far ends with a filler ("este...", "eh", "o sea"): the speaker is thinking."""
    words = _WORDS.findall(text.lower())
    return bool(words) and words[-1] in FILLERS


class Endpointer:
    def __init__(
        self,
        vad: VadSettings,
        endpoint: EndpointSettings,
        sample_rate: int,
        frame_ms: int,
        end_of_turn: EndOfTurnSettings | None = None,
    ) -> None:
        self._classifier = VoiceClassifier(vad, sample_rate)
        self._detector = SpeechDetector(vad, frame_ms)
        self._preroll = FrameRing(endpoint.preroll_ms // frame_ms)
        self._pause = endpoint.pause_ms / 1000
        self._words_silence = {
            None: endpoint.silence_ms / 1000,
            True: endpoint.silence_complete_ms / 1000,
            False: endpoint.silence_incomplete_ms / 1000,
            "filler": endpoint.silence_filler_ms / 1000,
        }
        eot = end_of_turn or EndOfTurnSettings()
        self._model_complete = eot.silence_complete_ms / 1000
        self._model_incomplete = eot.silence_incomplete_ms / 1000
        self._cap = eot.max_silence_ms / 1000
        self._wait_for_words = eot.wait_for_words
        self._min_utterance = endpoint.min_utterance_ms / 1000
        self._max_utterance = endpoint.max_utterance_ms / 1000
        self._paused = False
        # What the transcript so far says (sounds_finished, or "filler"), and whether one came since speech
        # (re)started.
        self._words: bool | str | None = None
        self._worded = False
        self._model: bool | None = None  # the end-of-turn model's verdict on this pause
        self._judging = False  # the model is listening to this pause
        self._silence = self._needed()

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
        """The silence that ends the utterance in progress, in seconds (as adapted by the model and words)."""
        return self._silence

    def hint(self, transcript: str) -> None:
        """The utterance's transcript so far: adapt the silence that will end it."""
        if not self._detector.speaking:
            return
        finished = sounds_finished(transcript)
        self._words = "filler" if finished is False and ends_with_filler(transcript) else finished
        self._worded = True
        self._silence = self._needed()

    def judging(self) -> None:
        """The end-of-turn model is listening to this pause: the turn waits for its verdict (at most the
        incomplete silence)."""
        if self._detector.speaking and self._paused:
            self._judging, self._model = True, None
            self._silence = self._needed()

    def judged(self, complete: bool | None) -> None:
        """The model's verdict on this pause; None: it could not say (missing, busy, failed): words decide."""
        if self._detector.speaking and self._judging:
            self._judging, self._model = False, complete
            self._silence = self._needed()

    def _needed(self) -> float:
        """The silence that ends the turn, from the model's verdict with the words as its second opinion."""
        words = self._words_silence[self._words]
        trailing = self._words is False or self._words == "filler"
        if self._judging:
            return max(words, self._model_incomplete)
        if self._model is None:
            return words
        if self._model:
            if not self._worded and self._wait_for_words:
                return self._model_incomplete  # the words of the pause may still veto it
            return words if trailing else self._model_complete
        return self._cap if trailing else max(self._model_incomplete, words)

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
            self._forget()  # what the transcript and the model said of the pause is stale now
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
        self._forget()
        if duration < self._min_utterance:
            return UtteranceDiscarded(duration)
        return UtteranceEnded(started_at, end_of_speech, now, forced)

    def _forget(self) -> None:
        self._paused = self._judging = False
        self._words = self._model = None
        self._worded = False
        self._silence = self._needed()


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
        'Silence that ends the turn when the transcript so far trails off ("y...", "para el", a number half '
        "dictated), in ms.",
    )
    silence_filler_ms: int = knob(
        2_000,
        'Silence that ends the turn when the transcript so far ends with a filler ("este...", "eh...", "o sea"): '
        "the caller is thinking, in ms.",
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
        if not self.silence_incomplete_ms <= self.silence_filler_ms <= 5_000:
            raise ValueError(
                "TAINA_ENDPOINT_SILENCE_FILLER_MS must be between TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS and 5000"
            )
        return self


class EndOfTurnSettings(Section):
    """How the end-of-turn model's verdicts end a turn (the model itself: adapters/smart_turn.py)."""

    prefix: ClassVar[str] = "TAINA_END_OF_TURN"
    enabled: bool = knob(
        True,
        "Ask the end-of-turn model (smart-turn) at each pause whether the caller has finished; off: the word "
        "rules alone decide.",
    )
    threshold: float = knob(
        0.5,
        "Probability of a finished turn at or above which the model calls the utterance complete.",
        gt=0,
        lt=1,
    )
    silence_complete_ms: int = knob(
        300,
        "Silence that ends the turn when the model calls the utterance complete and its words do not trail "
        "off, in ms.",
        ge=100,
        le=5_000,
    )
    silence_incomplete_ms: int = knob(
        1_600,
        "Silence that ends the turn when the model calls the utterance incomplete (also the longest wait for "
        "its verdict), in ms.",
        ge=100,
        le=5_000,
    )
    wait_for_words: bool = knob(
        True,
        "After the model's complete verdict, wait for the pause's transcript too (at most the incomplete "
        "silence), so that words trailing off can veto it; the reply waits for that transcript anyway.",
    )
    max_silence_ms: int = knob(
        2_500,
        "The longest silence waited for: when the model and the words both say the caller is not done, in ms.",
        ge=100,
        le=10_000,
    )

    @model_validator(mode="after")
    def _silences_in_order(self) -> EndOfTurnSettings:
        if not self.silence_complete_ms <= self.silence_incomplete_ms <= self.max_silence_ms:
            raise ValueError(
                "TAINA_END_OF_TURN_SILENCE_COMPLETE_MS <= TAINA_END_OF_TURN_SILENCE_INCOMPLETE_MS <= "
                "TAINA_END_OF_TURN_MAX_SILENCE_MS must hold"
            )
        return self
