"""`taina eval`: the shipped suite on the embedded default (the policy, text mode) with its reports, and bad
input refused with exit 2 and one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_chat_cli import taina

SUITE = Path(__file__).resolve().parents[2] / "taina" / "eval" / "sample_clinic.yaml"


async def test_the_shipped_suite_runs_on_the_policy(tmp_path: Path, database_url: str) -> None:
    env_dir = tmp_path / "data"
    out, page = tmp_path / "report.json", tmp_path / "report.html"
    result = taina(env_dir, database_url, "eval", str(SUITE), "--model", "policy", "--json", str(out),
                   "--html", str(page), sample_kb=True)  # fmt: skip
    report = json.loads(out.read_text())
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    assert report["model"] == "policy" and report["mode"] == "text"
    cases = {c["id"]: c for c in report["cases"]}
    assert len(cases) >= 20 and report["scores"]["total"] == len(cases)
    urgent = [c for c in cases.values() if "urgent" in c["tags"] or "urgent-negative" in c["tags"]]
    assert len(urgent) >= 10 and all(c["passed"] for c in urgent)
    assert cases["book-rosario"]["passed"] and cases["price-pediatrics"]["passed"]
    assert report["scores"]["grounding_violations"] == 0 and report["grounding_violations"] == []
    assert "first_piece_ms" in report["scores"]["latency_ms"]
    assert "passed" in result.stdout and "urgent" in result.stdout
    assert "<table>" in page.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("questions: [unclosed", "not valid YAML"),
        ("questions:\n  - {id: a, ask: hola, expected: [x]}\n", "unknown key 'expected'"),
        ("questions:\n  - {id: a, ask: hola, expect: ['(']}\n", "bad regular expression"),
        ("colour: blue\n", "unknown key 'colour'"),
    ],
)
def test_bad_suites_exit_2_with_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    suite = tmp_path / "suite.yaml"
    if content is not None:
        suite.write_text(content)
    result = taina(tmp_path / "data", "postgresql://unused@127.0.0.1:1/none", "eval", str(suite))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and result.stdout == ""
