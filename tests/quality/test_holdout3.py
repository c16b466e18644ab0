"""Held-out set 3 (tests/quality/holdout3/questions.yaml): pinned, so it cannot drift toward the assistant.

Written by the holdout3 helper on 2026-11-26 from the clinic's documents only; the set is NEVER used for tuning.
These checks only guard the file (its hash, its header, its shape); they never run the assistant.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from taina.eval.suite import Question, Suite, load_suite

HERE = Path(__file__).parent
SET = HERE / "holdout3" / "questions.yaml"
SHA256 = "ba3b9c0305833f8ad90f3f5858d045972aaa067898632a30646fefa8f7c59930"
TYPES = {"price", "schedule", "place", "phone", "person", "yesno", "preparation", "procedure"}
PHRASES = (
    "written by the holdout3 helper on 2026-11-26",
    "never ran the assistant",
    "NEVER used for tuning",
)


def _suite() -> Suite:
    return load_suite(SET)


def _facts(suite: Suite) -> list[Question]:
    return [q for q in suite.questions if "fact" in q.tags]


def _offtopic(suite: Suite) -> list[Question]:
    return [q for q in suite.questions if "offtopic" in q.tags]


def test_the_file_is_pinned() -> None:
    assert hashlib.sha256(SET.read_bytes()).hexdigest() == SHA256, "the held-out set 3 was edited"


def test_the_header_says_who_wrote_it_and_that_it_is_never_tuned_on() -> None:
    header = "\n".join(line for line in SET.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    for phrase in PHRASES:
        assert phrase in header, phrase


def test_it_loads_with_its_name_and_clock() -> None:
    suite = _suite()
    assert suite.name == "Centro Médico Caribe Salud (held-out 3)"
    assert suite.now == "2026-11-25T09:00:00"
    assert not suite.conversations


def test_the_counts() -> None:
    suite = _suite()
    facts, offtopic = _facts(suite), _offtopic(suite)
    assert len(facts) >= 110
    assert len(offtopic) >= 20
    assert len(facts) + len(offtopic) == len(suite.questions)
    assert {t for q in facts for t in q.tags} - {"fact"} == TYPES


def test_each_fact_has_one_answer_type_and_expect_patterns() -> None:
    for q in _facts(_suite()):
        assert "offtopic" not in q.tags, q.id
        types = [t for t in q.tags if t in TYPES]
        assert len(types) == 1 and set(q.tags) == {"fact", types[0]}, q.id
        assert q.id.startswith(f"h3-{types[0]}-"), q.id
        assert q.expect, q.id


def test_each_offtopic_has_forbid_and_no_expect() -> None:
    for q in _offtopic(_suite()):
        assert q.tags == ("offtopic",), q.id
        assert q.id.startswith("h3-offtopic-"), q.id
        assert q.forbid and not q.expect, q.id
