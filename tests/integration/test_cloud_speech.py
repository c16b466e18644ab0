"""Whole turns through `taina converse` with Deepgram and ElevenLabs pointed at local fakes, normally and in
every fault mode: each turn is answered, by the cloud or by the local adapters that take over."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.wavfile import read_wav
from tests.support.cloud_fakes import Fakes
from tests.support.speech import speech_wav

QUESTION = "Muchas gracias por la ayuda."  # a short reply: the fallback voice plays it in real time


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    served = Fakes()
    yield served
    served.close()


@pytest.fixture(scope="module")
def database(postgres_url: str) -> str:
    """One database on the shared embedded PostgreSQL for the module's runs (no initdb per run)."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"cloud_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()

    asyncio.run(create())
    return urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))


def converse(data_dir: Path, tmp_path: Path, fakes: Fakes, database: str) -> tuple[dict[str, Any], str]:
    source = speech_wav(tmp_path / "pregunta.wav", QUESTION, tail_s=1.5)
    env = {**os.environ, "TAINA_DATA_DIR": str(data_dir), "TAINA_LOG_FORMAT": "json", "TAINA_INGEST_SAMPLE_KB": "false",
           "DATABASE_URL": database, **fakes.env()}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "taina.cli", "converse", str(source), "--out", str(tmp_path / "respuesta.wav")],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), result.stderr


@pytest.mark.parametrize(
    ("deepgram_fault", "elevenlabs_fault"),
    [("", ""), ("refuse", ""), ("close_mid_utterance", ""), ("stall", ""), ("malformed", ""),
     ("", "refuse"), ("", "close_mid_sentence"), ("", "stall"), ("", "malformed"), ("", "odd_audio"),
     ("", "quota"), ("", "server_error")],
)  # fmt: skip
def test_every_turn_is_answered(
    data_dir: Path, tmp_path: Path, fakes: Fakes, database: str, deepgram_fault: str, elevenlabs_fault: str
) -> None:
    fakes.reset(QUESTION, deepgram_fault, elevenlabs_fault)
    spoken_before = len(fakes.elevenlabs.sentences)  # the fakes serve the whole module
    output, logs = converse(data_dir, tmp_path, fakes, database)
    assert output["reply"].startswith("¡Con mucho gusto!"), output
    audio = read_wav(tmp_path / "respuesta.wav")
    assert audio.duration > 0.5
    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    names = [e.get("event") for e in events]
    ready = next(e for e in events if e.get("event") == "speech.ready")
    assert ready["speech_to_text"].startswith("deepgram") and ready["text_to_speech"].startswith("elevenlabs")
    assert ("stt.failover" in names) == bool(deepgram_fault)
    assert ("tts.failover" in names) == bool(elevenlabs_fault)
    if not deepgram_fault:
        assert output["transcript"] == QUESTION  # Deepgram's (the fake's) transcript
    else:
        assert "gracias" in output["transcript"].lower()  # Whisper's, after the failover
    if not elevenlabs_fault:
        # the whole reply, and only it, was spoken by the cloud voice, sentence by sentence
        assert " ".join(fakes.elevenlabs.sentences[spoken_before:]) == output["reply"]
    assert fakes.deepgram.violations == [] and fakes.elevenlabs.violations == []
