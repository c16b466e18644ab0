"""The second held-out set (tests/quality/holdout2/): written apart from the policy, without running the assistant,
and frozen.

It measures, it never tunes: the sha256 of each file is pinned here, so any edit fails this test. The set must also
stay usable as written: both files load as suites, hold the agreed number of cases of each kind, every urgent case
wants 9-1-1 and the clinic's emergency line, and every dialogue's expected appointment is a real slot of the
built-in appointments service (the doctor works that weekday at that site, on the grid of the service's length,
after the suite's clock), with no two dialogues wanting the same doctor's time.
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

HOLDOUT2 = Path(__file__).parent / "holdout2"
DIALOGUES = HOLDOUT2 / "dialogues.yaml"
URGENT = HOLDOUT2 / "urgent.yaml"
SHA256 = {
    DIALOGUES: "a8c360897cd09503da6ed76dec8eef0c9736d33d2337dc20c43f7b69e4431f58",
    URGENT: "6670ed27af833426e7f3e3e4412e1904343e8bca3593b20bb3ed42fdd0aac1aa",
}
EMERGENCY_LINE = "809-555-0199"  # contacto-y-como-llegar.docx
APPOINTMENT_FIELDS = {"doctor_id", "site_id", "starts_at", "patient_name", "patient_phone"}


@pytest.fixture(scope="module")
def dialogues() -> Suite:
    return load_suite(DIALOGUES)


@pytest.fixture(scope="module")
def urgent() -> Suite:
    return load_suite(URGENT)


@pytest.mark.parametrize("path", [DIALOGUES, URGENT], ids=lambda p: p.name)
def test_the_files_are_frozen(path: Path) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path], f"{path.name} was edited"


@pytest.mark.parametrize("path", [DIALOGUES, URGENT], ids=lambda p: p.name)
def test_each_file_says_who_wrote_it_and_that_it_is_not_for_tuning(path: Path) -> None:
    comments = [
        line.lstrip("#") for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    header = " ".join(" ".join(comments).split())  # a phrase may run over two comment lines
    assert "written by" in header and "never ran the assistant" in header
    assert "never read the policy" in header and "NEVER used for tuning" in header


def test_the_urgent_set_holds_enough_cases(urgent: Suite) -> None:
    tags = Counter(tag for q in urgent.questions for tag in q.tags)
    assert tags["urgent"] >= 30 and tags["urgent-negative"] >= 10 and not urgent.conversations
    kinds = {"chest", "breathing", "stroke", "bleeding", "unconscious", "self-harm", "seizure", "allergy"}
    assert all(tags[kind] >= 3 for kind in kinds), tags
    assert tags["in-booking"] >= 3
    assert len({q.id for q in urgent.questions}) == len(urgent.questions)


def test_urgent_cases_want_9_1_1_and_the_emergency_line(urgent: Suite) -> None:
    for q in urgent.questions:
        assert ("urgent" in q.tags) != ("urgent-negative" in q.tags), q.id
        if "urgent" in q.tags:
            assert "9-1-1" in q.expect, q.id
            line = [p for p in q.expect if re.fullmatch(p, EMERGENCY_LINE)]
            assert line and all(re.fullmatch(p, "809 555 0199") for p in line), q.id
        else:
            assert "9-1-1" in q.forbid and "9-1-1" not in q.expect, q.id


def test_the_dialogues_book_move_and_cancel(dialogues: Suite) -> None:
    assert dialogues.now == "2026-11-25T09:00:00" and len(dialogues.conversations) >= 16
    writes = Counter(c.expect_tools[-1] for c in dialogues.conversations)
    assert writes["book_appointment"] >= 9 and writes["reschedule_appointment"] >= 4
    assert writes["cancel_appointment"] >= 3
    tags = Counter(tag for c in dialogues.conversations for tag in c.tags)
    assert tags["relative"] >= 3 and tags["question-in-the-middle"] >= 4 and tags["phone-words"] >= 3
    for c in dialogues.conversations:
        assert c.no_repeat and c.expect_tools, c.id
        assert set(c.expect_appointment) == APPOINTMENT_FIELDS, c.id
        assert bool(c.before) == (c.expect_tools[-1] != "book_appointment"), c.id
        if c.before:  # a move or a cancellation first finds the appointment by the caller's phone
            assert c.expect_tools[0] == "find_appointments", c.id
        assert re.fullmatch(r"\d{10}", c.expect_appointment["patient_phone"]), c.id


def test_every_expected_appointment_is_a_real_slot(dialogues: Suite) -> None:
    now = datetime.fromisoformat(dialogues.now)
    taken: dict[tuple[str, str], str] = {}
    for c in dialogues.conversations:
        assert slot_problem(c, now) is None, slot_problem(c, now)
        key = (c.expect_appointment["doctor_id"], c.expect_appointment["starts_at"])
        assert key not in taken, f"{c.id} wants the slot of {taken.get(key)}"
        taken[key] = c.id
