"""This engine and Pipecat, side by side in one run, on the same audio with the same scripted providers.

Both get the same call (a 16 kHz mono recording: a spoken question and a pause for the answer, several
times), in real time, 20 ms at a time, with the latency profile of ``benchmarks.profile`` for speech-to-text,
the language model and text-to-speech, and play the answer at 48 kHz through a paced output. Compared:

- CPU per second of audio: the process's CPU time over the sessions' wall time, at ``SESSIONS`` concurrent
  sessions in one process for each;
- engine-added latency per turn: from each framework's end-of-turn decision (its VAD's configured silence
  after the last speech) to the first reply audio out, less what the scripted providers really took.

Pipecat (``PIPECAT``, with its default Silero VAD) is installed only for this benchmark, in its own virtual
environment under benchmarks/.pipecat-venv, and runs as its own process (benchmarks/pipecat_side.py).
The two runs go one after the other, never at once, so neither takes CPU from the other.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from adapters.wavfile import write_wav
from benchmarks.latency import gap_s, percentile, run_sessions, spoken_question
from benchmarks.profile import REPLY, TRANSCRIPT, LatencyProfile
from taina.settings import Settings

PIPECAT = "pipecat-ai[silero]==1.14.0"
SESSIONS = 10
TURNS = 3
HERE = Path(__file__).resolve().parent
VENV = HERE / ".pipecat-venv"
TARGET_CPU_RATIO = 5.0


def pipecat_python() -> Path:
    """Pipecat's own interpreter, installing it on first use (about half a minute from PyPI)."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text().strip() != PIPECAT:
        print(f"pipecat: installing {PIPECAT} into {VENV} (first run only)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PIPECAT],
            check=True,
        )
        stamp.write_text(PIPECAT + "\n")
    return python


def _summary(added: list[float], cpu_ms_per_audio_s: float) -> dict[str, Any]:
    return {
        "turns": len(added),
        "added_ms": {
            "p50": round(statistics.median(added), 1),
            "p95": round(percentile(added, 95), 1),
        },
        "cpu_ms_per_audio_second": round(cpu_ms_per_audio_s, 2),
    }


def run(runs: int | None = None) -> dict[str, Any]:
    turns = runs or TURNS
    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    profile = LatencyProfile()
    python = pipecat_python()
    question = spoken_question(16_000)

    started = time.monotonic()
    ours = asyncio.run(run_sessions(SESSIONS, turns, profile, settings, question, rate=16_000, channels=1))
    engine = _summary(ours.pop("_added"), ours["cpu_ms_per_audio_second"])

    gap = gap_s(settings, profile)
    parts = [np.zeros(3_200, np.int16)]
    for _ in range(turns):
        parts += [np.zeros(6_400, np.int16), question, np.zeros(int(gap * 16_000), np.int16)]
    with tempfile.TemporaryDirectory() as folder:
        call = Path(folder) / "call.wav"
        write_wav(call, np.concatenate(parts), 16_000)
        done = subprocess.run(
            [str(python), "-I", str(HERE / "pipecat_side.py"), str(call), str(SESSIONS), str(turns),
             json.dumps({**profile.as_json(), "transcript": TRANSCRIPT, "reply": list(REPLY)})],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the Pipecat side failed:\n{done.stderr[-3000:]}")
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    pipecat = _summary(theirs["added_ms"], theirs["cpu_s"] * 1000 / (theirs["sessions"] * theirs["wall_s"]))
    ratio = pipecat["cpu_ms_per_audio_second"] / engine["cpu_ms_per_audio_second"]
    return {
        "sessions": SESSIONS,
        "turns_per_session": turns,
        "profile_ms": profile.as_json(),
        "taina": {
            **engine,
            "vad": "webrtcvad + smoothing",
            "endpoint_silence_ms": settings.endpoint.silence_ms,
        },
        "pipecat": {
            **pipecat,
            "version": PIPECAT,
            "vad": "Silero (default)",
            "vad_stop_ms": theirs["vad_stop_ms"],
        },
        "cpu_ratio_pipecat_over_taina": round(ratio, 2),
        "added_latency_p50_difference_ms": round(pipecat["added_ms"]["p50"] - engine["added_ms"]["p50"], 1),
        "target_cpu_ratio": TARGET_CPU_RATIO,
        "met": ratio >= TARGET_CPU_RATIO and engine["added_ms"]["p50"] < pipecat["added_ms"]["p50"],
        "seconds": round(time.monotonic() - started, 1),
    }
