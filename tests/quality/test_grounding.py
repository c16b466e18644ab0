"""Grounding over the whole suite: the labelled set's two halves, the held-out sets' questions, the two
development sets and the shipped suite, run through `taina eval`
on the embedded default (the policy, the sample clinic's documents). Every number, price, time, phone and name in
every reply must appear in what that turn was grounded on (the passages retrieved for it, the conversation's tool
results, the caller's words)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from taina.eval.run import ungrounded
from tests.quality.split import FROZEN, TUNING
from tests.support.clock import TEST_NOW

SHIPPED = Path(__file__).resolve().parents[2] / "taina" / "eval" / "sample_clinic.yaml"
HELD_OUT = Path(__file__).resolve().parent / "holdout" / "questions.yaml"
HELD_OUT_URGENT = Path(__file__).resolve().parent / "holdout2" / "urgent.yaml"
HELD_OUT_3 = Path(__file__).resolve().parent / "holdout3" / "questions.yaml"
PROBE = Path(__file__).resolve().parent / "probe" / "questions.yaml"
PROBE_2 = Path(__file__).resolve().parent / "probe2" / "questions.yaml"
PROBE_3 = Path(__file__).resolve().parent / "probe3" / "questions.yaml"


def _merged(folder: Path) -> Path:
    """The suites as one (ids prefixed by the suite they come from), so one run ingests the documents once."""
    merged: dict[str, list[object]] = {"questions": [], "conversations": []}
    suites = (
        ("frozen", FROZEN), ("tuning", TUNING), ("shipped", SHIPPED), ("held-out", HELD_OUT),
        ("held-out-urgent", HELD_OUT_URGENT), ("held-out-3", HELD_OUT_3), ("probe", PROBE), ("probe-2", PROBE_2),
        ("probe-3", PROBE_3),
    )  # fmt: skip
    for prefix, path in suites:
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in merged:
            merged[key] += [{**case, "id": f"{prefix}/{case['id']}"} for case in suite.get(key, [])]
    out = folder / "all.yaml"
    out.write_text(yaml.safe_dump({"name": "all", **merged}, allow_unicode=True))
    return out


def _eval(suite: Path, out: Path, data: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAINA_DATA_DIR": str(data), "DATABASE_URL": database_url, "TAINA_NOW": TEST_NOW,
           "TAINA_INGEST_SAMPLE_KB": "true"}  # fmt: skip
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(  # ~240 questions and the sample documents' ingestion: minutes on a busy machine
        [sys.executable, "-m", "taina.cli", "eval", str(suite), "--model", "policy", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=1_400,
    )  # fmt: skip


@pytest.mark.timeout(1_500)  # the whole run is one `taina eval` of ~1,100 cases, ingestion included
async def test_every_reply_of_every_suite_is_grounded(tmp_path: Path, database_url: str) -> None:
    out = tmp_path / "report.json"
    result = _eval(_merged(tmp_path), out, tmp_path / "data", database_url)
    assert out.exists(), result.stderr
    report = json.loads(out.read_text())
    turns = [turn for case in report["cases"] for turn in case["turns"]]
    assert len(report["cases"]) >= 213 + 20 + 168 + 44 + 186 + 188 + 148 + 156 and all(
        turn["reply"] for turn in turns
    )
    assert report["grounding_violations"] == [], report["grounding_violations"]


def test_the_grounding_check_catches_what_the_documents_do_not_hold() -> None:
    passages = "Dra. Carolina Tavárez, cardióloga: consulta en Santiago. Consulta de cardiología: RD$3,000."
    assert ungrounded("La consulta de cardiología: RD$3,000, con la Dra. Carolina Tavárez.", passages) == []
    assert ungrounded("Cuesta RD$3,500 y la atiende la Dra. Carolina Pérez.", passages) == [
        "RD$3,500",
        "Pérez",
    ]
    assert ungrounded("Abrimos a las 7:00 en La Romana, al lado de Blue Mall.", passages) == [
        "7:00", "La", "Romana", "Blue", "Mall"
    ]  # fmt: skip
    assert ungrounded("Llame al 809-555-0199.", passages) == ["809-555-0199"]
    assert ungrounded("Soy TAINA, la asistente.", passages, own_words="TAINA") == []
    # A caller's name with its accents restored is the caller's word; a doctor's name must be the documents'.
    assert ungrounded("Queda a nombre de Ramón Núñez.", passages + " ramon nunez") == []
    assert ungrounded("Con la Dra. Carolina Tavarez.", passages) == ["Tavarez"]
