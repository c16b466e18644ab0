"""This engine and Pipecat, side by side in one run, on the same audio with the same scripted providers.

Both get the same calls (a 16 kHz mono recording: a spoken question and a pause for the answer, several
times, each call after its own lead of silence: the same stagger for both), in real time, 20 ms at a time,
with the latency profile of ``benchmarks.profile`` for speech-to-text, the language model (the reply streamed
in pieces with the space before each word, as models stream) and text-to-speech, and play the answer at
48 kHz through a paced output. Compared:

- CPU per second of audio: the process's CPU time over the seconds of audio the sessions played (stagger
  included, for both), at ``SESSIONS`` concurrent sessions in one process for each; Pipecat's pipelines and
  their VAD models are built before its clock starts;
- engine-added latency per turn: from each framework's end-of-turn decision (its VAD's configured silence
  after the last speech) to the first reply audio out, less the profile's nominal provider times.

Pipecat runs twice: with its default VAD (Silero) and with the engine's (webrtcvad, wrapped in Pipecat's
VADAnalyzer interface inside the benchmark), so the framework's own cost shows apart from the VAD's.
Pipecat (``PIPECAT``) is installed only for this benchmark, in its own virtual environment under
benchmarks/.pipecat-venv, and runs as its own process (benchmarks/pipecat_side.py). The runs go one after the
other, never at once, so none takes CPU from another.
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

from adapters.wavfile import write_wav
from benchmarks.latency import call_audio, gap_s, percentile, run_sessions, spoken_question
from benchmarks.profile import REPLY, TRANSCRIPT, LatencyProfile
from taina.settings import Settings

PIPECAT = ("pipecat-ai[silero]==1.14.0", "webrtcvad-wheels==2.0.14.post1")
SESSIONS = 10
TURNS = 3
HERE = Path(__file__).resolve().parent
VENV = HERE / ".pipecat-venv"
TARGET_CPU_RATIO_SAME_VAD = 3.0
TARGET_CPU_RATIO_DEFAULT = 5.0


def pipecat_python() -> Path:
    """Pipecat's own interpreter, installing it on first use (about half a minute from PyPI)."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    wanted = " ".join(PIPECAT)
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print(f"pipecat: installing {wanted} into {VENV} (first run only)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PIPECAT],
            check=True,
        )
        stamp.write_text(wanted + "\n")
    return python


def _summary(added: list[float], cpu_ms_per_audio_s: float, turns_expected: int) -> dict[str, Any]:
    return {
        "turns": len(added),
        "turns_expected": turns_expected,
        "added_ms": {
            "p50": round(statistics.median(added), 1) if added else None,
            "p95": round(percentile(added, 95), 1) if added else None,
        },
        "cpu_ms_per_audio_second": round(cpu_ms_per_audio_s, 2),
    }


def _pipecat(python: Path, call: Path, turns: int, vad: str, handed: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-I", str(HERE / "pipecat_side.py"), str(call), str(turns), vad, json.dumps(handed)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the Pipecat side ({vad}) failed:\n{done.stderr[-3000:]}")
    theirs: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        **_summary(theirs["added_ms"], theirs["cpu_s"] * 1000 / theirs["audio_s"], theirs["turns_expected"]),
        "version": PIPECAT[0],
        "vad_stop_ms": theirs["vad_stop_ms"],
    }


def run(runs: int | None = None) -> dict[str, Any]:
    turns = runs or TURNS
    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    profile = LatencyProfile()
    python = pipecat_python()
    question = spoken_question(16_000)

    started = time.monotonic()
    ours = asyncio.run(run_sessions(SESSIONS, turns, profile, settings, question, rate=16_000, channels=1))
    raw = ours["_raw"]
    engine = _summary(raw["added"], raw["cpu_s"] * 1000 / raw["audio_s"], SESSIONS * turns)

    call_samples = call_audio(question, turns, gap_s(settings, profile), 0.0, 16_000, 1).samples
    handed = {**profile.as_json(), "transcript": TRANSCRIPT, "reply": list(REPLY), "leads": raw["leads"]}
    with tempfile.TemporaryDirectory() as folder:
        call = Path(folder) / "call.wav"
        write_wav(call, call_samples, 16_000)
        same_vad = _pipecat(python, call, turns, "webrtcvad", handed)
        default = _pipecat(python, call, turns, "silero", handed)
    ours_cpu = engine["cpu_ms_per_audio_second"]
    ratio_same = same_vad["cpu_ms_per_audio_second"] / ours_cpu
    ratio_default = default["cpu_ms_per_audio_second"] / ours_cpu
    ours_p50 = engine["added_ms"]["p50"]
    return {
        "sessions": SESSIONS,
        "turns_per_session": turns,
        "profile_ms": profile.as_json(),
        "subtracted": "each side's end-of-turn silence and the profile's nominal provider times",
        "taina": {
            **engine,
            "vad": "webrtcvad + smoothing",
            "endpoint_silence_ms": settings.endpoint.silence_ms,
        },
        "pipecat_same_vad": {**same_vad, "vad": "webrtcvad (mode 2) in Pipecat's VADAnalyzer"},
        "pipecat_default": {**default, "vad": "Silero (default)"},
        "cpu_ratio_pipecat_same_vad_over_taina": round(ratio_same, 2),
        "cpu_ratio_pipecat_default_over_taina": round(ratio_default, 2),
        "added_latency_p50_difference_same_vad_ms": (
            round(same_vad["added_ms"]["p50"] - ours_p50, 1)
            if same_vad["added_ms"]["p50"] is not None and ours_p50 is not None
            else None
        ),
        "target_cpu_ratio_same_vad": TARGET_CPU_RATIO_SAME_VAD,
        "target_cpu_ratio_default": TARGET_CPU_RATIO_DEFAULT,
        "met": ratio_same >= TARGET_CPU_RATIO_SAME_VAD
        and ratio_default >= TARGET_CPU_RATIO_DEFAULT
        and ours_p50 is not None
        and (same_vad["added_ms"]["p50"] or 0) > ours_p50,
        "seconds": round(time.monotonic() - started, 1),
    }
