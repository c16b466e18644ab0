"""Barge-in, in real time over scripted ports: the caller talks over the assistant and the reply stops (or,
for "ajá" or a cough, it does not), and a booking write is never cut half-way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest

from adapters.echo_responder import EchoResponder
from engine.dialogue import Dialogue
from engine.endpointing import EndpointSettings
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta, ToolCall, ToolSpec
from engine.ports.speech import Transcript
from engine.session import Session, SessionSettings, TurnRecord
from engine.tools import Tool, Toolbox
from engine.turns import Interruption, TurnSettings, TurnState
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import noise, silence, speech

QUESTION = "Quiero saber el horario de la clínica."
OVER = "Espere, mejor quiero una cita para el martes."
SETTINGS = SessionSettings()
MIN_INTERRUPTION = SETTINGS.turn.min_interruption_ms / 1000


@pytest.fixture(scope="module")
def question() -> np.ndarray:
    return speech(QUESTION)


@pytest.fixture(scope="module")
def over() -> np.ndarray:
    return speech(OVER)


def call(*parts: np.ndarray, tail: float = 2.5) -> np.ndarray:
    return np.concatenate([silence(0.3), *parts, silence(tail)])


async def serve(
    audio: np.ndarray, stt: ScriptedStt, dialogue: Dialogue, tts: ToneTts, turns: int
) -> tuple[Session, ScriptedTransport, list[TurnRecord]]:
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        if len(records) == turns:
            transport.hung_up.set()

    session = Session("barge", transport, stt, dialogue, tts, SETTINGS, done)
    await asyncio.wait_for(session.run(), 40)
    assert session.error is None
    return session, transport, records


def event_time(transport: ScriptedTransport, kind: str) -> float:
    return next(t for e, t in zip(transport.events, transport.event_times, strict=True) if e["type"] == kind)


async def test_talking_over_the_reply_stops_it_and_starts_the_next_turn(
    question: np.ndarray, over: np.ndarray
) -> None:
    # Each clause: two seconds of audio, made in three (so text-to-speech is still at work when cut).
    tts = ToneTts(seconds=2.0, pace=0.15)
    audio = call(question, silence(1.2), over)
    stt = ScriptedStt(QUESTION, then=(OVER,))
    session, transport, records = await serve(audio, stt, Dialogue(EchoResponder()), tts, turns=2)

    first, second = records
    assert first.interrupted and not second.interrupted
    assert second.transcript == OVER
    # Only what the caller heard counts as said: a prefix of the reply, in whole words.
    assert first.reply and "Muy pronto" not in first.reply
    assert first.reply.startswith("Entendí")
    assert next(m.content for m in session.dialogue.history if m.role == "assistant") == first.reply + "…"
    # The reply's text-to-speech was cancelled, and no reply frame left after the interruption.
    assert tts.cancelled >= 1
    interrupted_at = event_time(transport, "interrupted")
    first_turn_frames = [t for t in transport.played_at if t < interrupted_at]
    assert first_turn_frames, "the reply had started playing"
    late = [t for t in transport.played_at if interrupted_at < t < interrupted_at + 0.5]
    assert late == []
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    assert states[:5] == ["user_speaking", "thinking", "assistant_speaking", "user_speaking", "thinking"]
    # The pause came once the interruption had lasted the minimum, measured from its first voiced frame.
    over_start = 0.3 + len(question) / 16_000 + 1.2
    started = transport.heard_at[0] - 0.02 + over_start
    assert interrupted_at - started >= MIN_INTERRUPTION - 0.05


async def test_a_false_interruption_lets_the_reply_resume(question: np.ndarray) -> None:
    tts = ToneTts(seconds=1.0)
    mumble = noise(0.8, amplitude=0.2)  # long enough to pause the reply; the transcript is empty
    audio = call(question, silence(1.0), mumble, tail=6.0)
    stt = ScriptedStt(QUESTION, then=("",))
    _session, transport, records = await serve(audio, stt, Dialogue(EchoResponder()), tts, turns=1)

    (record,) = records
    assert not record.interrupted
    assert record.reply.endswith("información del centro.")
    kinds = [e["type"] for e in transport.events]
    assert "interrupted" in kinds
    # Every clause played whole: 2 clauses of 1 s at 48 kHz in 20 ms frames.
    assert len(transport.played) == pytest.approx(100, abs=3)
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    assert states[-4:] == ["user_speaking", "thinking", "assistant_speaking", "listening"]


async def test_a_cough_does_not_interrupt(question: np.ndarray) -> None:
    tts = ToneTts(seconds=1.0)
    cough = noise(0.25, amplitude=0.3)
    audio = call(question, silence(1.0), cough, tail=5.0)
    stt = ScriptedStt(QUESTION, then=("",))
    _session, transport, records = await serve(audio, stt, Dialogue(EchoResponder()), tts, turns=1)
    assert not records[0].interrupted
    assert "interrupted" not in [e["type"] for e in transport.events]
    assert len(transport.played) == pytest.approx(100, abs=3)


class BookingModel:
    """Says it is booking, calls the (slow) booking tool, then confirms at length."""

    name = "booking"

    def __init__(self) -> None:
        self.steps = 0

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        self.steps += 1
        await asyncio.sleep(0)
        if self.steps == 1:
            yield TextDelta("Con gusto, un momento que le reservo la cita. ")
            yield ToolCall("c1", "book", json.dumps({"slot": "martes 10:00"}))
        elif self.steps == 2:
            yield TextDelta("Listo, su cita quedó reservada para el martes a las diez de la mañana. ")
            yield TextDelta("Le esperamos con su cédula y su seguro. ¿Le ayudo con algo más?")
        else:
            yield TextDelta("Dígame.")


async def test_a_booking_write_is_never_cut_half_way(question: np.ndarray, over: np.ndarray) -> None:
    written: list[dict[str, Any]] = []

    async def book(arguments: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(1.5)  # a slow booking system: the caller talks over it
        written.append(arguments)
        return {"booked": True, "appointment_id": "apt-1"}

    spec = ToolSpec(
        "book",
        "Reserva",
        {
            "type": "object",
            "properties": {"slot": {"type": "string"}},
            "required": ["slot"],
            "additionalProperties": False,
        },
    )
    dialogue = Dialogue(BookingModel(), toolbox=Toolbox([Tool(spec, book, writes=True)]))
    tts = ToneTts(seconds=0.6)
    # The interruption starts while the first clause plays and the write is in flight.
    audio = call(question, silence(0.8), over, tail=3.0)
    stt = ScriptedStt(QUESTION, then=(OVER,))
    _session, _transport, records = await serve(audio, stt, dialogue, tts, turns=2)

    first, _second = records
    assert written == [{"slot": "martes 10:00"}]  # the write ran to its end
    assert first.interrupted
    assert [a.tool for a in first.actions] == ["book"] and first.actions[0].result["booked"]
    tool_results = [m for m in dialogue.history if m.role == "tool"]
    assert len(tool_results) == 1 and "apt-1" in tool_results[0].content


async def test_a_reply_cut_by_the_hang_up_is_recorded_with_what_was_heard(question: np.ndarray) -> None:
    tts = ToneTts(seconds=2.0, pace=0.05)
    transport = ScriptedTransport(call(question, tail=1.6), realtime=True)  # hangs up ~1 s into the reply
    records: list[TurnRecord] = []
    session = Session(
        "hang",
        transport,
        ScriptedStt(QUESTION),
        Dialogue(EchoResponder()),
        tts,
        SETTINGS,
        records.append,
    )
    run = asyncio.create_task(session.run())
    await asyncio.sleep(0.3 + len(question) / 16_000 + 1.6)
    transport.hung_up.set()
    await asyncio.wait_for(run, 20)
    assert session.error is None
    (record,) = records
    assert record.interrupted and record.reply.startswith("Entendí") and "Muy pronto" not in record.reply


async def test_an_interrupted_greeting_is_remembered_as_far_as_it_was_heard(over: np.ndarray) -> None:
    greeting = "Hola, soy TAINA, la asistente virtual de la clínica. ¿En qué le puedo ayudar?"
    settings = SessionSettings(greeting=greeting)
    transport = ScriptedTransport(call(silence(1.0), over), realtime=True)  # talks over the greeting
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        if len(records) == 2:
            transport.hung_up.set()

    dialogue = Dialogue(EchoResponder())
    session = Session(
        "greet-cut", transport, ScriptedStt(OVER), dialogue, ToneTts(seconds=3.0), settings, done
    )
    await asyncio.wait_for(session.run(), 40)
    assert session.error is None
    first, second = records
    assert first.interrupted and first.transcript == "" and second.transcript == OVER
    assert first.reply and first.reply != greeting and greeting.startswith(first.reply)
    # The model remembers only what the caller heard of the greeting, as for any interrupted reply.
    assert dialogue.history[0].role == "assistant" and dialogue.history[0].content == first.reply + "…"
    assert [m.content for m in dialogue.history if m.content == greeting] == []


class _SlowUntilOverheard(ScriptedStt):
    """The first utterance's transcript comes only once the caller has started speaking again, over the
    assistant that is still thinking about it, and their speech has got as far as ``until`` says."""

    session: Session

    def __init__(self, until: Callable[[Session], bool], *texts: str) -> None:
        super().__init__(texts[0], then=texts[1:])
        self.until, self.first = until, True

    async def finish(self) -> Transcript:
        if self.first:
            self.first = False
            for _ in range(1_000):
                if self.until(self.session):
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("the caller was never heard over the assistant")
        return await super().finish()


def _pending(session: Session) -> bool:
    return session.turns.interruption is Interruption.PENDING


def _paused(session: Session) -> bool:
    turns = session.turns
    return turns.interruption is Interruption.PAUSED and turns.state is TurnState.USER_SPEAKING


def _paused_and_over(session: Session) -> bool:  # the interruption has ended: its transcript is awaited
    turns = session.turns
    return turns.interruption is Interruption.PAUSED and turns.state is TurnState.THINKING


def _given_back(session: Session) -> bool:  # the interruption was too short to be a turn: the floor came back
    transport = session.transport
    assert isinstance(transport, ScriptedTransport)
    interrupted = any(e["type"] == "interrupted" for e in transport.events)
    return interrupted and session.turns.interruption is Interruption.NONE


async def _until_quiet(session: Session, transport: ScriptedTransport, seconds: float) -> None:
    """Runs the session over its audio and ``seconds`` more, then hangs up."""
    run = asyncio.create_task(session.run())
    await asyncio.sleep(seconds)
    transport.hung_up.set()
    await asyncio.wait_for(run, 20)


@pytest.mark.parametrize("until", [_pending, _paused, _paused_and_over])
async def test_speech_while_an_empty_utterance_is_transcribed_is_the_callers_turn(
    over: np.ndarray, until: Callable[[Session], bool]
) -> None:
    mumble = noise(0.6, amplitude=0.2)  # a turn for the endpointer; nothing for speech-to-text
    audio = call(mumble, silence(0.9), over, tail=3.0)
    stt = _SlowUntilOverheard(until, "", OVER)
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []
    session = Session(
        "empty-race", transport, stt, Dialogue(EchoResponder()), ToneTts(), SETTINGS, records.append
    )
    stt.session = session
    await _until_quiet(session, transport, len(audio) / 16_000 + 1.5)

    assert session.error is None
    (record,) = records  # the caller's second utterance is their turn, not lost
    assert record.transcript == OVER and not record.interrupted and record.reply.startswith("Entendí")
    assert (session.turns.state, session.turns.interruption) == (TurnState.LISTENING, Interruption.NONE)
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    assert states[-3:] == ["thinking", "assistant_speaking", "listening"]
    assert not transport._playout.paused  # the reply that was never said does not hold the audio back


async def test_a_cough_while_an_empty_utterance_is_transcribed_ends_cleanly() -> None:
    mumble, cough = noise(0.6, amplitude=0.2), noise(0.3, amplitude=0.3)
    audio = call(mumble, silence(0.9), cough, tail=1.0)
    stt = _SlowUntilOverheard(_pending, "", "")
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []
    session = Session(
        "cough-race", transport, stt, Dialogue(EchoResponder()), ToneTts(), SETTINGS, records.append
    )
    stt.session = session
    await _until_quiet(session, transport, len(audio) / 16_000 + 0.5)

    assert session.error is None and records == []
    assert (session.turns.state, session.turns.interruption) == (TurnState.LISTENING, Interruption.NONE)
    assert "interrupted" not in [e["type"] for e in transport.events]


async def test_words_transcribed_while_the_caller_speaks_again_are_answered_then_cut(
    question: np.ndarray, over: np.ndarray
) -> None:
    audio = call(question, silence(0.9), over, tail=3.0)
    stt = _SlowUntilOverheard(_pending, QUESTION, OVER)
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []
    tts = ToneTts(seconds=2.0)
    session = Session("words-race", transport, stt, Dialogue(EchoResponder()), tts, SETTINGS, records.append)
    stt.session = session
    await _until_quiet(session, transport, len(audio) / 16_000 + 1.5)

    assert session.error is None
    first, second = records
    assert first.transcript == QUESTION and first.interrupted
    assert second.transcript == OVER and not second.interrupted


async def test_an_interruption_too_short_to_be_a_turn_gives_the_floor_back_to_the_thinking(
    question: np.ndarray,
) -> None:
    # Speech past the minimum interruption that is still too short to be a turn: the endpointer discards it.
    settings = SessionSettings(
        endpoint=EndpointSettings(min_utterance_ms=700), turn=TurnSettings(min_interruption_ms=300)
    )
    audio = call(question, silence(0.9), noise(0.5, amplitude=0.2), tail=3.0)
    stt = _SlowUntilOverheard(_given_back, QUESTION)
    transport = ScriptedTransport(audio, realtime=True)
    records: list[TurnRecord] = []
    session = Session(
        "discarded", transport, stt, Dialogue(EchoResponder()), ToneTts(), settings, records.append
    )
    stt.session = session
    await _until_quiet(session, transport, len(audio) / 16_000 + 1.0)

    assert session.error is None
    (record,) = records
    assert record.transcript == QUESTION and not record.interrupted
    states = [e["state"] for e in transport.events if e["type"] == "state"]
    # Back to thinking (its transcript was still to come), not to listening: the reply is said as a reply.
    assert states == [
        "user_speaking",
        "thinking",
        "user_speaking",
        "thinking",
        "assistant_speaking",
        "listening",
    ]
