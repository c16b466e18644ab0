"""The frozen half of the booking dialogues stays as it was written before the policy was tuned (issue 18), and
the split between the halves is the recorded rule, not a choice: the dialogues of both files sorted by the sha256
of their id, the first half (rounded up) frozen."""

from __future__ import annotations

import hashlib
from pathlib import Path

from taina.eval.suite import load_suite

QUALITY = Path(__file__).parent
FROZEN = QUALITY / "frozen" / "dialogues.yaml"
TUNING = QUALITY / "tuning" / "dialogues.yaml"
FROZEN_SHA256 = "5b037a1087d052017fada364db723b5c8820ceb77a9e8105b708d05829a097e8"


def test_the_frozen_dialogues_are_unchanged() -> None:
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == FROZEN_SHA256, (
        f"{FROZEN} changed: the frozen half is never edited (tune on {TUNING.name} in tuning/)"
    )


def test_the_halves_follow_the_split_rule() -> None:
    frozen = [c.id for c in load_suite(FROZEN).conversations]
    tuning = [c.id for c in load_suite(TUNING).conversations]
    ranked = sorted(frozen + tuning, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    cut = (len(ranked) + 1) // 2
    assert sorted(frozen) == sorted(ranked[:cut]) and sorted(tuning) == sorted(ranked[cut:])
    assert len(ranked) >= 20 and len(set(ranked)) == len(ranked)


def test_every_dialogue_states_its_appointment_and_no_repeated_question() -> None:
    for path in (FROZEN, TUNING):
        for conversation in load_suite(path).conversations:
            assert conversation.expect_appointment and conversation.expect_tools, conversation.id
            assert conversation.no_repeat, conversation.id
            assert conversation.expect_tools[-1] in (
                "book_appointment", "reschedule_appointment", "cancel_appointment"
            ), conversation.id  # fmt: skip
