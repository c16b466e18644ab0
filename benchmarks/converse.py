"""End of speech to first reply audio frame on the embedded default, through the real session pipeline.

Each run is one `taina converse` turn (a file transport paced in real time, Whisper, the smart-turn end-of-turn
model, the dialogue policy answering from the sample centre's documents, espeak-ng), in one process so the
models load once, as in a server.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from adapters.espeak_tts import EspeakEngine, EspeakSettings
from adapters.wavfile import read_wav, write_wav
from taina.app import App
from taina.converse import NoTurnError, converse
from taina.settings import Settings

TARGET_MEDIAN_MS = 500.0
QUESTIONS = [
    "Buenos días, necesito información sobre los precios.",
    "¿A qué hora abren los sábados en Santiago?",
    "Quisiera hacer una cita con el médico para la próxima semana.",
    "¿Aceptan el seguro de Humano?",
    "Hola, quisiera saber el horario de la clínica en Santiago.",
    "¿Dónde queda la sede de Santo Domingo?",
    "Necesito cambiar la cita que tengo para el jueves.",
    "¿Cuánto cuesta una consulta de cardiología?",
    "¿Qué tengo que hacer antes de un análisis de sangre?",
    "Muchas gracias por la ayuda, hasta luego.",
]


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


async def _runs(settings: Settings, folder: Path, count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    async with App.open(settings, speech=True, samples=True, progress=False) as app:
        model = app.speech.turn_model if app.speech is not None else None
        if model is not None:
            model.seconds.clear()  # the warm-up call is not one of the turns'
        results = await _turns(app, folder, count)
        calls = [s * 1000 for s in model.seconds] if model is not None else []
        used = {
            "model": model.name if model is not None else "none (word rules)",
            "model_calls": len(calls),
            "model_inference_median_ms": _percentile(calls, 50) if calls else None,
            "model_inference_p95_ms": _percentile(calls, 95) if calls else None,
        }
        return results, used


async def _turns(runtime: App, folder: Path, count: int) -> list[dict[str, Any]]:
    voice = EspeakEngine(EspeakSettings(rate=150))
    results = []
    for i in range(count):
        question = QUESTIONS[i % len(QUESTIONS)]
        samples = voice.synthesize_now(question)
        pad = np.zeros(voice.sample_rate // 2, np.int16)
        source = folder / f"q{i}.wav"
        write_wav(source, np.concatenate([pad, samples, pad, pad, pad]), voice.sample_rate)
        try:
            result = await converse(runtime, read_wav(source), folder / f"r{i}.wav", name=source.name)
        except NoTurnError:
            results.append({"question": question, "unanswered": True})
            continue
        results.append({"question": question, **result.as_json()})
    return results


def run(runs: int | None) -> dict[str, Any]:
    count = max(10, runs or 10)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        level = os.environ.get("TAINA_LOG_LEVEL", "warning")
        env = {"TAINA_DATA_DIR": str(folder / "data"), "TAINA_LOG_LEVEL": level}
        # TAINA_END_OF_TURN_ENABLED=false measures the same turns with the word rules alone.
        env |= {k: v for k, v in os.environ.items() if k.startswith("TAINA_END_OF_TURN_")}
        settings = Settings.from_env(env)
        from taina.logs import configure_logging

        configure_logging(settings.log)
        results, end_of_turn = asyncio.run(_runs(settings, folder, count))
    answered = [r for r in results if not r.get("unanswered")]
    stages = answered[0]["timings_ms"].keys()
    first_audio = [r["timings_ms"]["first_audio"] for r in answered]
    median = statistics.median(first_audio)
    return {
        "benchmark": "converse",
        "runs": len(results),
        "unanswered": [r["question"] for r in results if r.get("unanswered")],
        "endpoint_silence_ms": settings.endpoint.silence_ms,
        "end_of_turn": end_of_turn,
        "first_audio_median_ms": round(median, 1),
        "first_audio_p95_ms": _percentile(first_audio, 95),
        "stage_medians_ms": {
            s: round(statistics.median(r["timings_ms"][s] for r in answered), 1) for s in stages
        },
        "transcripts": [r["transcript"] for r in answered],
        "replies": [r["reply"][:80] for r in answered],
        "target_median_ms": TARGET_MEDIAN_MS,
        "meets_target": median <= TARGET_MEDIAN_MS,
    }
