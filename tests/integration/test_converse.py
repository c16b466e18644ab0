"""`taina converse` as a user runs it: a real subprocess, real models, files in and out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from adapters.wavfile import read_wav, write_wav
from engine.audio import rms_dbfs
from tests.support.speech import silence, speech


def taina(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAINA_DATA_DIR": str(data_dir), "TAINA_LOG_FORMAT": "json"}
    return subprocess.run(
        [sys.executable, "-m", "taina.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def test_converse_on_a_stereo_44k_wav(data_dir: Path, tmp_path: Path) -> None:
    voice = np.concatenate(
        [
            silence(0.4, 44_100),
            speech("Buenos días, necesito información sobre los precios.", 44_100),
            silence(2.0, 44_100),
        ]
    )
    source = tmp_path / "pregunta.wav"
    import wave

    with wave.open(str(source), "wb") as out:  # stereo, 44.1 kHz
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes(np.repeat(voice, 2).astype("<i2").tobytes())
    reply = tmp_path / "respuesta.wav"

    result = taina(data_dir, "converse", str(source), "--out", str(reply))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert "informacion" in plain(output["transcript"]) and "precios" in plain(output["transcript"])
    # Answered from the sample centre's price list (loaded on first start), not invented.
    assert "pesos dominicanos" in output["reply"], output["reply"]
    assert len(output["sources"]) == 1 and output["actions"] == []  # the price list, and no booking
    timings = output["timings_ms"]
    assert {"end_of_speech", "transcript", "reply_text", "first_audio"} <= set(timings)
    assert 0 < timings["end_of_speech"] <= timings["transcript"] <= timings["first_audio"]
    audio = read_wav(reply)
    assert audio.sample_rate == 48_000 and audio.duration > 2.0
    assert rms_dbfs(audio.samples) > -30


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing.wav", "no such file"),
        (lambda p: (p / "notes.wav").write_text("esto no es audio") and p / "notes.wav", "not a WAV file"),
        (lambda p: (p / "empty.wav").write_bytes(b"") or p / "empty.wav", "not a WAV file"),
    ],
)
def test_bad_input_exits_2_with_one_line(data_dir: Path, tmp_path: Path, make: object, expected: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = taina(data_dir, "converse", str(path), "--out", str(tmp_path / "r.wav"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("taina: error:")
    assert not (tmp_path / "r.wav").exists()


def test_silence_only_is_not_a_turn(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "silencio.wav"
    write_wav(source, silence(1.0), 16_000)
    env_result = subprocess.run(
        [sys.executable, "-m", "taina.cli", "converse", str(source), "--out", str(tmp_path / "r.wav")],
        env={**os.environ, "TAINA_DATA_DIR": str(data_dir), "TAINA_LOG_FORMAT": "json"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert env_result.returncode == 1
    assert "no speech" in env_result.stderr.strip().splitlines()[-1]
