"""Policy turn time, retrieval included: the embedded default's dialogue (e5 query embedding, hybrid search on
the embedded PostgreSQL, the policy, and the appointment tools on the built-in service), turn by turn.

Turns are the 48 labelled questions about the sample centre and whole booking-then-cancelling conversations,
alternated, with the clock fixed so the same slots are free on every run.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from taina.assistant import Assistant
from taina.backend import Backend
from taina.settings import Settings

TARGET_P95_MS = 60.0
NOW = "2026-11-25T09:00:00"
QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "support" / "data" / "kb_questions.tsv"
BOOKING = [
    "Buenos días, quiero una cita con la pediatra el lunes a las nueve",
    "Sí, me sirve",
    "Me llamo Laura Méndez",
    "Mi número es {phone}",
    "Sí, correcto",
    "Quiero cancelar esa cita",
    "Sí",
    "Gracias, adiós",
]


def _questions() -> list[str]:
    rows = [
        line.split("\t")[0]
        for line in QUESTIONS.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    return [q for q in rows if q]


async def _measure(settings: Settings, turns: int) -> dict[str, list[float]]:
    from taina.app import App

    async with App.open(settings, samples=True) as app:
        assert app.backend is not None
        return await _timed(app.assistant, app.backend, turns)


async def _timed(assistant: Assistant, backend: Backend, turns: int) -> dict[str, list[float]]:
    search = backend.library.search
    retrieval_ms: list[float] = []

    async def timed_search(query: str, k: int = 5) -> Any:
        start = time.perf_counter()
        try:
            return await search(query, k)
        finally:
            retrieval_ms.append((time.perf_counter() - start) * 1000)

    backend.library.search = timed_search  # type: ignore[method-assign]
    times: dict[str, list[float]] = {"question": [], "booking": []}
    questions = _questions()
    try:
        warm = assistant.dialogue("warm-up")
        async for _ in warm.reply(questions[0]):
            pass
        retrieval_ms.clear()
        done = conversation = 0
        while done < turns:
            question = questions[done % len(questions)]
            done += await _turns(assistant.dialogue(f"q{done}"), [question], times["question"])
            conversation += 1
            script = [line.format(phone=f"809555{conversation:04d}") for line in BOOKING]
            done += await _turns(assistant.dialogue(f"b{conversation}"), script, times["booking"])
    finally:
        backend.library.search = search  # type: ignore[method-assign]
    return {**times, "retrieval": retrieval_ms}


async def _turns(dialogue: Any, script: list[str], into: list[float]) -> int:
    for said in script:
        start = time.perf_counter()
        async for _piece in dialogue.reply(said):
            pass
        into.append((time.perf_counter() - start) * 1000)
    return len(script)


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def run(runs: int | None) -> dict[str, Any]:
    turns = runs or 400
    with tempfile.TemporaryDirectory(prefix="taina-dialogue-") as folder:
        env = {"TAINA_DATA_DIR": folder, "TAINA_NOW": NOW, "TAINA_LOG_LEVEL": "warning"}
        from taina.logs import configure_logging

        settings = Settings.from_env(env)
        configure_logging(settings.log)
        times = asyncio.run(_measure(settings, turns))
    every = times["question"] + times["booking"]
    return {
        "benchmark": "dialogue",
        "turns": len(every),
        "turn_p50_ms": _p(every, 50),
        "turn_p95_ms": _p(every, 95),
        "question_p50_ms": _p(times["question"], 50),
        "question_p95_ms": _p(times["question"], 95),
        "booking_turn_p50_ms": _p(times["booking"], 50),
        "booking_turn_p95_ms": _p(times["booking"], 95),
        "retrieval_p50_ms": _p(times["retrieval"], 50),
        "retrieval_share_of_median_turn": round(
            statistics.median(times["retrieval"]) / statistics.median(every), 2
        ),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": _p(every, 95) <= TARGET_P95_MS,
    }
