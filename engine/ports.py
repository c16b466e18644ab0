"""The engine's ports: what it needs from the world, as small typing.Protocol interfaces.

Adapters (adapters/) implement them; the composition root (taina/runtime.py) picks which ones from settings.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from engine.audio import AudioChunk, AudioFrame

_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for a tool: ``arguments`` is the JSON text it wrote (checked by the toolbox, not here)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that asked for tools
    tool_call_id: str = ""  # tool messages: which call this is the result of


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply as the language model produces it."""

    text: str


@dataclass(frozen=True, slots=True)
class Cited:
    """The documents the reply was actually drawn from (a model that knows says so; others cite nothing)."""

    document_ids: tuple[str, ...]


LanguageModelEvent = TextDelta | ToolCall | Cited


class LanguageModelError(RuntimeError):
    """The model could not answer (unreachable, refused, timed out, broke off) after its adapter's retries."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: ``parameters`` is a JSON Schema object (the subset engine.tools checks)."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Prompt:
    """Everything the model sees for one step of a turn."""

    messages: Sequence[Message]  # the system prompt first, then the conversation, tool results included
    tools: Sequence[ToolSpec] = ()
    passages: Sequence[Passage] = ()  # retrieved for the user's last utterance, best first (also in the text)
    now: datetime | None = None  # the clinic's current time


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


class LanguageModel(Protocol):
    name: str

    def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        """Stream the assistant's next step: text deltas, then any tool calls. Cancelling the iteration stops it
        at once (barge-in); the caller runs the tools and calls again with their results appended."""


class TextToSpeech(Protocol):
    """One call's text-to-speech; ``start`` and ``aclose`` as for SpeechToText."""

    name: str

    def start(self) -> None: ...

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        """Stream the spoken form of ``text`` (a clause or sentence) as mono audio chunks. Closing the
        iteration cancels the synthesis in flight."""

    async def aclose(self) -> None: ...


class Transport(Protocol):
    """Where the conversation's audio comes from and goes to (a browser over WebRTC, a file, ...)."""

    output_rate: int

    def inbound(self) -> AsyncIterator[AudioFrame]:
        """The user's audio as it arrives; ends when the user hangs up."""

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        """Queue one output frame (``output_rate``, mono, one frame long); ``on_sent(t)`` when it leaves."""

    async def drained(self) -> None:
        """Return once every queued frame has left."""

    def pause_output(self) -> None:
        """Silence from the next frame on, keeping the queued frames (a possible interruption)."""

    def resume_output(self) -> None:
        """Go on playing the queued frames."""

    def clear_output(self) -> int:
        """Drop every queued frame (an interrupted reply); returns how many were dropped."""

    def tap_output(self, tap: Callable[[NDArray[np.int16], int, float], None]) -> None:
        """Have ``tap(samples, rate, sent_at)`` called with every frame that leaves, silence included."""

    def send_event(self, event: dict[str, Any]) -> None:
        """A state or transcript event for the user's screen; dropped if there is no screen."""

    async def close(self) -> None: ...


class ConversationJournal(Protocol):
    """Where conversations and their turns are kept. Calls never block the media path: an implementation
    queues what it is given and writes it in the background."""

    def started(self, conversation_id: str, stt: str, lm: str, tts: str) -> None: ...

    def turn(self, conversation_id: str, turn: TurnEntry) -> None: ...

    def ended(self, conversation_id: str, turns: int, failed: bool) -> None: ...


@dataclass(frozen=True)
class TurnEntry:
    """One turn as it is kept: what was said, what the caller heard, and when each stage happened."""

    turn_id: int
    transcript: str
    reply: str
    interrupted: bool
    timings_ms: Mapping[str, float]
    actions: Sequence[Mapping[str, Any]] = ()
    sources: Sequence[str] = ()


class Spool(Protocol):
    """Where a call's recording goes while the call runs."""

    def write(self, pcm: bytes) -> None:
        """Interleaved 16-bit stereo at 16 kHz, appended; kept even if the process dies right after."""

    def close(self) -> None: ...


class CallRecordings(Protocol):
    def open(self, conversation_id: str) -> Spool: ...

    async def finish(self, conversation_id: str) -> str | None:
        """Encode and store the call's recording once it has ended: where it is, or None if it is empty."""


class ObjectStore(Protocol):
    """Blobs by key (documents' originals, call recordings). Keys are validated by engine.keys."""

    name: str

    async def check(self) -> None:
        """Raise StorageError now if the store cannot be used (unreachable, no such bucket, no access)."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


class StorageError(RuntimeError):
    """The object store cannot be used; the message says which store and why."""


def check_key(key: str) -> str:
    """A key is slash-separated segments of letters, digits, '.', '_' and '-', none of them '.' or '..'."""
    segments = key.split("/")
    if (
        not key
        or len(key) > 512
        or any(s in ("", ".", "..") or not _KEY_SEGMENT.fullmatch(s) for s in segments)
    ):
        raise ValueError(f"invalid object key {key!r}")
    return key


class Embedder(Protocol):
    """Text to unit-length vectors of ``dimensions`` floats; queries and passages are embedded differently."""

    name: str
    dimensions: int

    async def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    async def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved piece of a document, best first."""

    document_id: str
    title: str
    heading: str
    text: str
    score: float  # fused rank score: only for ordering
    similarity: float | None = None  # cosine similarity to the question, when vector search found it


class KnowledgeBase(Protocol):
    async def search(self, query: str, k: int = 5) -> list[Passage]: ...


@dataclass(frozen=True, slots=True)
class Slot:
    doctor_id: str
    doctor_name: str
    service_id: str
    site_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    doctor_id: str
    doctor_name: str
    service_id: str
    site_id: str
    patient_name: str
    patient_phone: str
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    minutes: int


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    name: str
    service_id: str
    site_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    address: str


@dataclass(frozen=True)
class Catalogue:
    """What can be booked: the centre's services, doctors and sites."""

    services: tuple[Service, ...]
    doctors: tuple[Doctor, ...]
    sites: tuple[Site, ...]


class SlotTaken(RuntimeError):
    """The slot was booked by someone else (or is not free any more); another one must be chosen."""


class AppointmentNotFound(LookupError):
    pass


class Appointments(Protocol):
    """A booking system: the built-in one, or an external one over HTTP.

    Bad arguments (an unknown service, a malformed phone) raise ValueError with a message for the caller.
    """

    async def catalogue(self) -> Catalogue: ...

    async def list_available_slots(
        self,
        service_id: str,
        day: date,
        site_id: str | None = None,
        doctor_id: str | None = None,
        limit: int = 10,
    ) -> list[Slot]: ...

    async def book(
        self, slot: Slot, patient_name: str, patient_phone: str, idempotency_key: str | None = None
    ) -> Appointment: ...

    async def cancel(self, appointment_id: str) -> Appointment: ...

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment: ...

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        """The patient's upcoming booked appointments, soonest first."""

    async def get(self, appointment_id: str) -> Appointment: ...
