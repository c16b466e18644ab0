"""`taina converse`: one turn of the real session pipeline, with files for the microphone and speaker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.wavfile import FileTransport, write_wav
from engine.audio import AudioFrame
from engine.session import TurnRecord
from taina.app import App


class NoTurnError(RuntimeError):
    """The input held no speech the assistant could take as a turn."""


@dataclass(frozen=True)
class ConverseResult:
    record: TurnRecord
    reply_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "transcript": self.record.transcript,
            "reply": self.record.reply,
            "actions": [action.as_json() for action in self.record.actions],
            "sources": list(self.record.sources),
            "timings_ms": self.record.timings_ms,
            "reply_seconds": round(self.reply_seconds, 2),
        }


async def converse(app: App, audio: AudioFrame, out: Path, name: str = "the input") -> ConverseResult:
    """One turn: ``audio`` (as read by read_wav) plays as the microphone; the reply is written to ``out``."""
    transport = FileTransport(audio, app.settings.audio)
    records: list[TurnRecord] = []

    def turn_done(record: TurnRecord) -> None:
        records.append(record)
        transport.hang_up()

    session = app.new_session(transport, on_turn=turn_done)
    await session.run()
    if session.error is not None:
        raise session.error
    if not records:
        raise NoTurnError(f"{name}: no speech the assistant could understand")
    reply = transport.reply_audio
    write_wav(out, reply, transport.output_rate)
    return ConverseResult(records[0], len(reply) / transport.output_rate)
