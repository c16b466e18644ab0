from __future__ import annotations

from pathlib import Path

from adapters.policy.intents import classify

LABELLED = Path(__file__).parent / "dialogue_intents.tsv"


def test_intents_of_labelled_spanish_utterances() -> None:
    rows = [
        line.split("\t") for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert len(rows) >= 60
    wrong = [(text, expected, classify(text)) for text, expected in rows if classify(text) != expected]
    assert len(wrong) <= len(rows) * 0.05, wrong
    assert {expected for _text, expected in rows} == {
        "book", "reschedule", "cancel", "information", "human", "greeting", "thanks", "goodbye", "affirm", "deny"
    }  # fmt: skip
