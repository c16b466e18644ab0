"""The session's wiring, with scripted ports: what it hears, says, reports and does when a part fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from adapters.echo_responder import EchoResponder
from engine.dialogue import Dialogue
from engine.ports.knowledge import Passage
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta, ToolCall, ToolSpec
from engine.ports.speech import Transcript
from engine.session import Session, SessionSettings, TurnRecord
from engine.tools import Tool, Toolbox
from engine.waterfall import STAGES
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence, speech


def make_session(transport: ScriptedTransport, stt: ScriptedStt) -> tuple[Session, list[TurnRecord]]:
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        transport.hung_up.set()

    settings = SessionSettings()
    return Session("test", transport, stt, Dialogue(EchoResponder()), ToneTts(), settings, done), records


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    return np.concatenate([silence(0.4), speech("Quiero una cita para mañana."), silence(1.0)])


async def test_one_turn_from_speech_to_reply_audio(utterance: np.ndarray) -> None:
    transport = ScriptedTransport(utterance)
    stt = ScriptedStt("Quiero una cita para mañana.")
    session, records = make_session(transport, stt)
    await asyncio.wait_for(session.run(), 30)

    assert session.error is None and transport.closed
    assert stt.frames_heard > 50 and stt.pauses >= 1
    (record,) = records
    assert record.transcript == "Quiero una cita para mañana."
    assert record.reply.startswith("Entendí: «Quiero una cita para mañana»")
    # Waterfall: every stage, in order, from the end of speech.
    assert list(record.timings_ms) == list(STAGES)
    t = record.timings_ms
    assert 0 < t["end_of_speech"] <= t["transcript"] <= t["first_token"] <= t["first_clause"]
    assert t["first_clause"] <= t["tts_first_audio"] <= t["first_audio"]
    assert t["first_token"] <= t["reply_text"]
    # Two sentences of 0.2 s of tone each, at 48 kHz, in 20 ms frames.
    assert len(transport.played) == pytest.approx(20, abs=2)
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    assert states == ["user_speaking", "thinking", "assistant_speaking", "listening"]
    lines = [(e["role"], e["text"]) for e in transport.events if e["type"] == "transcript"]
    assert lines[0] == ("user", "Quiero una cita para mañana.")
    assert [role for role, _ in lines[1:]] == ["assistant"] * 2


async def test_a_failing_provider_ends_the_session_cleanly(utterance: np.ndarray) -> None:
    transport = ScriptedTransport(utterance)
    session, records = make_session(transport, ScriptedStt("", fail=True))
    await asyncio.wait_for(session.run(), 30)  # does not raise
    assert isinstance(session.error, ConnectionError)
    assert transport.closed and records == []
    assert transport.events[-1]["type"] == "error"


async def test_an_empty_transcript_goes_back_to_listening(utterance: np.ndarray) -> None:
    transport = ScriptedTransport(utterance)
    session, records = make_session(transport, ScriptedStt("   "))
    run = asyncio.create_task(session.run())
    for _ in range(200):
        await asyncio.sleep(0.02)
        states = [e["state"] for e in transport.events if e["type"] == "state"]
        if states[-2:] == ["thinking", "listening"]:
            break
    transport.hung_up.set()
    await asyncio.wait_for(run, 10)
    assert states[-2:] == ["thinking", "listening"] and records == []


async def test_a_greeting_opens_the_call_and_the_caller_answers_it() -> None:
    audio = np.concatenate([silence(1.5), speech("Quiero una cita para mañana."), silence(1.0)])
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        if len(records) == 2:
            transport.hung_up.set()

    greeting = "Hola, soy TAINA. ¿En qué le puedo ayudar?"
    settings = SessionSettings(greeting=greeting)
    dialogue = Dialogue(EchoResponder())
    session = Session(
        "greet",
        transport,
        ScriptedStt("Quiero una cita para mañana."),
        dialogue,
        ToneTts(),
        settings,
        done,
    )
    await asyncio.wait_for(session.run(), 30)
    assert session.error is None
    first, second = records
    assert (first.turn_id, first.transcript, first.reply, first.interrupted) == (1, "", greeting, False)
    assert second.turn_id == 2 and second.transcript == "Quiero una cita para mañana."
    assert dialogue.history[0].role == "assistant" and dialogue.history[0].content == greeting
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    assert states[:3] == ["thinking", "assistant_speaking", "listening"]


class _Clinic:
    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return [Passage("doc1", "Horario", "Horario", "Abrimos de 8 a 5.", 1.0, 0.9)]


class _HangsUpAsTheSecondTurnIsHeard(ScriptedStt):
    """The caller hangs up just as their second turn's transcript comes: the hang-up is seen first, and the
    turn's reply is cancelled before it has taken a step."""

    transport: ScriptedTransport
    last_said: str

    async def finish(self) -> Transcript:
        transcript = await super().finish()
        if transcript.text == self.last_said:
            self.transport.hung_up.set()
            await asyncio.sleep(0)  # the listening task ends first, then the turn starts
        return transcript


class _LooksUpOnce:
    """Looks the hours up (a tool call) on the first turn; answers in words after that."""

    name = "looks-up"

    def __init__(self) -> None:
        self.steps = 0

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        self.steps += 1
        await asyncio.sleep(0)
        if self.steps == 1:
            yield ToolCall("c1", "hours", "{}")
        else:
            yield TextDelta("Abrimos de ocho a cinco.")


async def test_a_reply_cancelled_before_its_first_step_records_no_actions_or_sources() -> None:
    first_said, second_said = "¿A qué hora abren?", "¿Y los sábados?"
    audio = np.concatenate(
        [silence(0.3), speech(first_said), silence(2.5), speech(second_said), silence(0.8)]
    )
    transport = ScriptedTransport(audio, realtime=True)
    stt = _HangsUpAsTheSecondTurnIsHeard(first_said, then=(second_said,), delay=0.6)  # the audio is over then
    stt.transport, stt.last_said = transport, second_said

    async def hours(_arguments: dict[str, Any]) -> dict[str, Any]:
        return {"hours": "8-17"}

    toolbox = Toolbox([Tool(ToolSpec("hours", "Horario", {"type": "object", "properties": {}}), hours)])
    dialogue = Dialogue(_LooksUpOnce(), _Clinic(), toolbox)
    records: list[TurnRecord] = []
    session = Session("race", transport, stt, dialogue, ToneTts(), SessionSettings(), records.append)
    await asyncio.wait_for(session.run(), 30)
    assert session.error is None
    first, second = records
    assert [a.tool for a in first.actions] == ["hours"] and first.sources == ("doc1",)
    assert second.transcript == second_said and second.interrupted and second.reply == ""
    assert (second.actions, second.sources) == ((), ())
    # The first turn's reply stays in the memory as it was said.
    assert [m.content for m in dialogue.history if m.role == "assistant" and not m.tool_calls] == [
        "Abrimos de ocho a cinco."
    ]
