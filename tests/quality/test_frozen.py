"""The labelled set of issue 18 and its frozen half: the frozen file cannot change without this test failing
(its sha256 is recorded here), and both halves are exactly what tests/quality/split.py makes of the set."""

from __future__ import annotations

import hashlib

import yaml

from taina.eval.suite import load_suite
from tests.quality.split import FROZEN, LABELLED, TUNING, halves, render

FROZEN_SHA256 = "1026ade5ce6361fdc1b9ce86664263e10435bdc8d5dd15736c14c1a619bfe3fd"


def test_the_frozen_half_is_unchanged() -> None:
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == FROZEN_SHA256


def test_the_halves_are_the_labelled_set_dealt_by_sorted_id() -> None:
    frozen, tuning = halves(yaml.safe_load(LABELLED.read_text(encoding="utf-8")))
    assert FROZEN.read_text(encoding="utf-8") == render(frozen)
    assert TUNING.read_text(encoding="utf-8") == render(tuning)


def test_the_set_is_large_enough_and_loads_as_suites() -> None:
    labelled, frozen, tuning = (load_suite(path) for path in (LABELLED, FROZEN, TUNING))
    assert len(labelled.questions) >= 150
    assert {q.id for q in frozen.questions} | {q.id for q in tuning.questions} == {
        q.id for q in labelled.questions
    }
    assert not {q.id for q in frozen.questions} & {q.id for q in tuning.questions}
    for half in (frozen, tuning):
        kinds = [next(t for t in q.tags if t in ("fact", "offtopic")) for q in half.questions]
        assert kinds.count("fact") >= 75 and kinds.count("offtopic") >= 15
