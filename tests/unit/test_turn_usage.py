"""A turn's usage as the session measures it: the caller's audio sent to speech-to-text, the characters sent to
text-to-speech, and the language model's tokens when it reports them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from engine.dialogue import Dialogue
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta, TokenUsage
from engine.session import Session, SessionSettings, TurnRecord
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence, speech


class CountingModel:
    """Says one sentence, and reports its usage as a cloud model does."""

    name = "openai:test"

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        yield TextDelta("Con gusto le ayudo.")
        if prompt.usage is not None:
            prompt.usage.append(TokenUsage(prompt=120, completion=6, cached=64))


async def test_a_turn_keeps_its_usage_per_provider() -> None:
    heard = np.concatenate([silence(0.4), speech("Quiero una cita para mañana."), silence(1.0)])
    transport = ScriptedTransport(heard)
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        transport.hung_up.set()

    stt = ScriptedStt("Quiero una cita para mañana.")
    session = Session("u", transport, stt, Dialogue(CountingModel()), ToneTts(), SessionSettings(), done)
    await asyncio.wait_for(session.run(), 30)
    (record,) = records
    usage = record.usage
    assert usage["language_model"] == {"openai:test": {"prompt": 120, "cached": 64, "completion": 6}}
    assert usage["text_to_speech"] == {ToneTts.name: len("Con gusto le ayudo.")}
    (seconds,) = usage["speech_to_text"].values()
    assert 1.0 < seconds < 3.5  # the utterance, from its start to the end-of-turn decision
