"""The engine's ports: what it needs from the world, as small typing.Protocol interfaces.

Adapters (adapters/) implement them; the composition root (taina/runtime.py) picks which ones from settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engine.audio import AudioChunk, AudioFrame


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply as the language model produces it."""

    text: str


LanguageModelEvent = TextDelta


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
    name: str

    def open(self) -> SpeechToTextStream: ...


class LanguageModel(Protocol):
    name: str

    def respond(self, conversation: Sequence[Message]) -> AsyncIterator[LanguageModelEvent]:
        """Stream the assistant's next reply to the conversation so far. Cancelling the iteration stops it."""


class TextToSpeech(Protocol):
    name: str

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        """Stream the spoken form of ``text`` (a clause or sentence) as mono audio chunks."""


class Transport(Protocol):
    """Where the conversation's audio comes from and goes to (a browser over WebRTC, a file, ...)."""

    output_rate: int

    def inbound(self) -> AsyncIterator[AudioFrame]:
        """The user's audio as it arrives; ends when the user hangs up."""

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        """Queue one output frame (``output_rate``, mono, one frame long); ``on_sent(t)`` when it leaves."""

    async def drained(self) -> None:
        """Return once every queued frame has left."""

    def send_event(self, event: dict[str, Any]) -> None:
        """A state or transcript event for the user's screen; dropped if there is no screen."""

    async def close(self) -> None: ...
