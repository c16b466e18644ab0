"""What a call leaves behind: its turns in the journal and its recording."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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
    usage: Mapping[str, Any] | None = None  # engine/usage.py's per-provider counts
    trace_id: str = ""  # the turn's OpenTelemetry trace (the call's), hex; "" when tracing is off


class Spool(Protocol):
    """Where a call's recording goes while the call runs."""

    def write(self, pcm: bytes) -> None:
        """Interleaved 16-bit stereo at 16 kHz, appended; kept even if the process dies right after."""

    def close(self) -> None: ...


class CallRecordings(Protocol):
    def open(self, conversation_id: str) -> Spool: ...

    async def finish(self, conversation_id: str) -> str | None:
        """Encode and store the call's recording once it has ended: where it is, or None if it is empty."""

    def discard(self, conversation_id: str) -> None:
        """Drop the call's spool unstored (no caller audio ever came)."""
