"""The held-out labelled set (tests/quality/holdout/): written by another author, apart from the policy, and frozen.

It exists to measure generalisation honestly, so it must never be edited to fit the assistant: the sha256 of each
file is pinned here, and any change fails this test. The set must also stay usable as written: both files load as
suites, hold the agreed number of cases per kind, and every dialogue's expected appointment is a real slot of the
built-in appointments service (the doctor works that weekday at that site, on the grid of the service's length,
after the suite's clock).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from taina.eval.suite import Suite, load_suite
from tests.quality.slots import slot_problem

HOLDOUT = Path(__file__).parent / "holdout"
QUESTIONS = HOLDOUT / "questions.yaml"
DIALOGUES = HOLDOUT / "dialogues.yaml"
SHA256 = {
    QUESTIONS: "2107bb0be58db1ced33af74359a25b9ae7fa2c3f6db13ea007e99ecddae3dcdc",
    DIALOGUES: "93f41d5a9661c7b650cc83b9145f176a2d2b27b2d0a472f8429c6847f001e0bd",
}
ANSWER_TYPES = {"price", "schedule", "place", "phone", "person", "yesno", "preparation", "procedure"}
EMERGENCY_LINE = "809-555-0199"  # contacto-y-como-llegar.docx


@pytest.fixture(scope="module")
def questions() -> Suite:
    return load_suite(QUESTIONS)


@pytest.fixture(scope="module")
def dialogues() -> Suite:
    return load_suite(DIALOGUES)


@pytest.mark.parametrize("path", [QUESTIONS, DIALOGUES], ids=lambda p: p.name)
def test_the_files_are_frozen(path: Path) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path], f"{path.name} was edited"


@pytest.mark.parametrize("path", [QUESTIONS, DIALOGUES], ids=lambda p: p.name)
def test_each_file_says_who_wrote_it_and_that_it_is_not_for_tuning(path: Path) -> None:
    header = "".join(
        line for line in path.read_text(encoding="utf-8").splitlines(True) if line.startswith("#")
    )
    assert (
        "written by" in header and "never ran the assistant" in header and "NEVER used for tuning" in header
    )


def test_the_questions_hold_enough_cases_of_each_kind(questions: Suite) -> None:
    tags = Counter(tag for q in questions.questions for tag in q.tags)
    assert len(questions.questions) >= 110
    assert (
        tags["fact"] >= 85
        and tags["offtopic"] >= 20
        and tags["urgent"] >= 15
        and tags["urgent-negative"] >= 5
    )
    facts = [q for q in questions.questions if "fact" in q.tags]
    assert all(len(ANSWER_TYPES & set(q.tags)) == 1 and q.expect for q in facts), (
        "a fact needs one answer type"
    )
    assert all(q.forbid and not q.expect for q in questions.questions if "offtopic" in q.tags)


def test_urgent_questions_want_9_1_1_and_the_emergency_line(questions: Suite) -> None:
    for q in questions.questions:
        if "urgent" in q.tags:
            assert "9-1-1" in q.expect and any(re.fullmatch(p, EMERGENCY_LINE) for p in q.expect), q.id
        if "urgent-negative" in q.tags:
            assert "9-1-1" in q.forbid, q.id


def test_the_dialogues_book_move_and_cancel(dialogues: Suite) -> None:
    assert dialogues.now == "2026-11-25T09:00:00" and len(dialogues.conversations) >= 12
    writes = Counter(c.expect_tools[-1] for c in dialogues.conversations)
    assert writes["book_appointment"] >= 8 and writes["reschedule_appointment"] >= 2
    assert writes["cancel_appointment"] >= 2
    for c in dialogues.conversations:
        assert c.no_repeat and c.expect_tools, c.id
        assert set(c.expect_appointment) == {
            "doctor_id",
            "site_id",
            "starts_at",
            "patient_name",
            "patient_phone",
        }
        assert bool(c.before) == (c.expect_tools[-1] != "book_appointment"), c.id


def test_every_expected_appointment_is_a_real_slot(dialogues: Suite) -> None:
    now = datetime.fromisoformat(dialogues.now)
    for c in dialogues.conversations:
        assert slot_problem(c, now) is None, slot_problem(c, now)
