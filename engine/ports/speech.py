"""Speech in and out: one call's speech-to-text and text-to-speech."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from engine.audio import AudioChunk, AudioFrame


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str = ""
    confidence: float | None = None


class SpeechToTextStream(Protocol):
    """One utterance's worth of recognition. Opened when speech starts, finished when it ends."""

    async def send(self, frame: AudioFrame) -> None:
        """Audio of the utterance, 16 kHz mono frames in order (pre-roll first)."""

    def speech_paused(self) -> None:
        """The speaker paused; the utterance may be over. Recognition may start speculatively."""

    def speech_resumed(self) -> None:
        """Speech came back after a pause; anything started on the pause is stale."""

    async def finish(self) -> Transcript:
        """The utterance is over: its final transcript."""

    async def aclose(self) -> None:
        """Drop the utterance (too short, or the session is ending)."""


class SpeechToText(Protocol):
    """One call's speech-to-text. Cloud adapters hold one connection per call: ``start`` opens it ahead of the
    first utterance (in the background; it never blocks or raises), ``aclose`` closes it at hang-up."""

    name: str

    def start(self) -> None: ...

    def open(self, on_interim: Callable[[str], None] | None = None) -> SpeechToTextStream:
        """A new utterance; ``on_interim(text)`` receives interim transcripts, if the provider makes them."""

    async def aclose(self) -> None: ...


class ProviderError(RuntimeError):
    """A cloud provider failed (refused, closed, stalled, sent nonsense): the caller may fail over."""


class TextToSpeech(Protocol):
    """One call's text-to-speech; ``start`` and ``aclose`` as for SpeechToText."""

    name: str

    def start(self) -> None: ...

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        """Stream the spoken form of ``text`` (a clause or sentence) as mono audio chunks. Closing the
        iteration cancels the synthesis in flight."""

    async def aclose(self) -> None: ...
