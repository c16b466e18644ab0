"""The session's wiring, with scripted ports: what it hears, says, reports and does when a part fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from frames import frames_of
from speech import silence, speech, tone

from adapters.echo_responder import EchoResponder
from engine.audio import AudioChunk, AudioFrame
from engine.dialogue import Dialogue
from engine.playout import PacedPlayout
from engine.ports import Transcript
from engine.session import Session, TurnRecord
from engine.settings import Settings
from engine.waterfall import STAGES


class ScriptedTransport:
    """Feeds 48 kHz stereo frames in real time; collects what the session plays."""

    output_rate = 48_000

    def __init__(self, pcm16k: np.ndarray) -> None:
        from engine.resample import resample

        stereo = np.repeat(resample(pcm16k, 16_000, 48_000), 2)
        self._frames = frames_of(stereo, rate=48_000, channels=2)
        self._playout = PacedPlayout(48_000, 20, 30_000)
        self.events: list[dict[str, Any]] = []
        self.played: list[np.ndarray] = []
        self.closed = False
        self.hung_up = asyncio.Event()

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        pump = asyncio.create_task(self._pump())
        try:
            for frame in self._frames:
                await asyncio.sleep(0.002)  # faster than real time; the endpointer only reads timestamps
                yield frame
            await self.hung_up.wait()
        finally:
            pump.cancel()

    async def _pump(self) -> None:
        while True:
            samples, _due, fill = await self._playout.next_frame()
            if not fill:
                self.played.append(samples)

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        await self._playout.put(frame.samples, on_sent)

    async def drained(self) -> None:
        await self._playout.drained()

    def send_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def close(self) -> None:
        self.closed = True


class ScriptedStt:
    name = "scripted-stt"

    def __init__(self, text: str, fail: bool = False) -> None:
        self.text, self.fail = text, fail
        self.frames_heard = 0
        self.pauses = 0

    def start(self) -> None:
        pass

    def open(self, on_interim: object = None) -> ScriptedStt:
        return self

    async def send(self, frame: AudioFrame) -> None:
        assert frame.sample_rate == 16_000 and len(frame.samples) == 320
        self.frames_heard += 1

    def speech_paused(self) -> None:
        self.pauses += 1

    def speech_resumed(self) -> None:
        pass

    async def finish(self) -> Transcript:
        if self.fail:
            raise ConnectionError("speech-to-text went away")
        return Transcript(self.text)

    async def aclose(self) -> None:
        pass


class ToneTts:
    name = "tone"

    def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        yield AudioChunk(tone(0.2, rate=22_050), 22_050)


def make_session(transport: ScriptedTransport, stt: ScriptedStt) -> tuple[Session, list[TurnRecord]]:
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        transport.hung_up.set()

    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
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
