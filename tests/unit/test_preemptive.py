"""Preemptive generation: the reply starts on the interim transcript heard at the first pause, and is used
only if the final transcript says the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from engine.dialogue import Dialogue
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta
from engine.session import Session, SessionSettings, TurnRecord
from engine.turns import TurnSettings
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence, speech

SAID = "Quiero una cita para mañana."


class SlowModel:
    """Answers what the last user message said, 300 ms after being asked; keeps when and what it was asked."""

    name = "slow"

    def __init__(self) -> None:
        self.asked: list[tuple[float, str]] = []

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        heard = next(m.content for m in reversed(prompt.messages) if m.role == "user")
        self.asked.append((time.monotonic(), heard))
        await asyncio.sleep(0.3)
        yield TextDelta(f"Usted dijo: {heard}")


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    return np.concatenate([silence(0.4), speech(SAID), silence(1.0)])


async def converse(audio: np.ndarray, stt: ScriptedStt, preemptive: bool) -> tuple[SlowModel, TurnRecord]:
    transport = ScriptedTransport(audio)
    model = SlowModel()
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        transport.hung_up.set()

    settings = SessionSettings(turn=TurnSettings(preemptive_generation=preemptive))
    session = Session("pre", transport, stt, Dialogue(model), ToneTts(), settings, done)
    await asyncio.wait_for(session.run(), 30)
    assert session.error is None
    return model, records[0]


async def test_a_stable_interim_starts_the_reply_before_the_transcript(utterance: np.ndarray) -> None:
    stt = ScriptedStt(SAID, interim=SAID, delay=0.5)  # the final transcript takes half a second
    model, record = await converse(utterance, stt, preemptive=True)
    assert [heard for _t, heard in model.asked] == [SAID]  # asked once, on the interim
    assert record.reply == f"Usted dijo: {SAID}"
    t = record.timings_ms
    # The model's 300 ms ran while the transcript was still being made: the first words came right after it.
    assert t["first_token"] - t["transcript"] < 250


async def test_a_final_transcript_that_differs_throws_the_preview_away(utterance: np.ndarray) -> None:
    stt = ScriptedStt("Quiero una cita para el lunes.", interim=SAID, delay=0.5)
    model, record = await converse(utterance, stt, preemptive=True)
    assert [heard for _t, heard in model.asked] == [SAID, "Quiero una cita para el lunes."]
    assert record.reply == "Usted dijo: Quiero una cita para el lunes."


async def test_without_the_setting_nothing_starts_early(utterance: np.ndarray) -> None:
    stt = ScriptedStt(SAID, interim=SAID, delay=0.5)
    model, record = await converse(utterance, stt, preemptive=False)
    assert [heard for _t, heard in model.asked] == [SAID]
    assert record.timings_ms["first_token"] - record.timings_ms["transcript"] >= 290
