"""Callers who pause inside a sentence are not cut off: the three cuts seen in a spoken test (issue 18), through
the real session with the real speech models (Whisper's speculative transcripts, the smart-turn model, as
composed by taina/speech.py), in real time.

The voices are Kokoro's (natural intonation, from the labelled set): espeak-ng's flat voice sounds finished at
every word boundary, to the model as to a listener.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.echo_responder import EchoResponder
from adapters.wavfile import FileTransport
from engine.audio import AudioFrame, AudioSettings, Pcm
from engine.dialogue import Dialogue
from engine.session import Session, TurnRecord
from taina.settings import Settings
from taina.speech import Speech
from tests.support.speech import silence
from tests.support.turn_audio import clip


@pytest.fixture(scope="module")
def speech(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path
) -> Iterator[tuple[Speech, Settings]]:
    data = tmp_path_factory.mktemp("data")
    (data / "models").symlink_to(shared_models)
    settings = Settings.from_env({"TAINA_DATA_DIR": str(data)})
    models = Speech(settings, progress=False)
    assert models.turn_model is not None  # installed by `make install`
    yield models, settings
    models.close()


class WatchedTransport(FileTransport):
    """The file transport, keeping the interim transcripts (the speculative ones at each pause)."""

    def __init__(self, audio: AudioFrame, settings: AudioSettings) -> None:
        super().__init__(audio, settings)
        self.interims: list[str] = []

    def send_event(self, event: dict[str, Any]) -> None:
        if event.get("interim"):
            self.interims.append(str(event["text"]))


def paused(name: str, after: str, pause_s: float) -> Pcm:
    """The clip with a pause of ``pause_s`` after the word boundary where Whisper heard ``after``."""
    c = clip(name)
    at = next(cut for cut, heard in zip(c.cuts, c.heard, strict=True) if heard.endswith(after))
    return np.concatenate([silence(0.4), c.before(at), silence(pause_s), c.pcm[at:], silence(3.0)])


async def first_turn(speech: tuple[Speech, Settings], audio: Pcm) -> tuple[TurnRecord, list[str]]:
    models, settings = speech
    transport = WatchedTransport(AudioFrame(audio, 16_000), settings.audio)
    records: list[TurnRecord] = []

    def done(record: TurnRecord) -> None:
        records.append(record)
        transport.hang_up()

    session = Session(
        "cuts",
        transport,
        models.speech_to_text(),
        Dialogue(EchoResponder()),
        models.text_to_speech(),
        settings.session(),
        done,
        turn_model=models.turn_model,
    )
    await asyncio.wait_for(session.run(), 90)
    assert session.error is None and records
    return records[0], transport.interims


async def test_a_phone_number_dictated_with_a_pause_after_809(speech: tuple[Speech, Settings]) -> None:
    """ "Mi número es ocho cero nueve" ... 0.85 s ... "cinco cinco cinco, uno dos tres cuatro." """
    record, interims = await first_turn(speech, paused("s01-jm_kumo", "809,", 0.85))
    assert len(re.findall(r"\d", record.transcript)) >= 10 or "cuatro" in record.transcript.lower(), (
        record.transcript,
        interims,
    )


async def test_a_cita_para_el_then_a_pause(speech: tuple[Speech, Settings]) -> None:
    """ "Quisiera hacer una cita para el" ... 0.9 s ... "lunes en la mañana." """
    record, interims = await first_turn(speech, paused("s00-jm_kumo", "para el", 0.9))
    assert "lunes" in record.transcript.lower() or "mañana" in record.transcript.lower(), (
        record.transcript,
        interims,
    )


async def test_este_then_a_long_pause(speech: tuple[Speech, Settings]) -> None:
    """ "Este..." ... 1.5 s ... "quería preguntar por los precios de la consulta." """
    record, interims = await first_turn(speech, paused("s03-jf_alpha", "Este", 1.5))
    assert "precios" in record.transcript.lower() or "consulta" in record.transcript.lower(), (
        record.transcript,
        interims,
    )
