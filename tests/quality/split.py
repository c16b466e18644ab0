"""The labelled set (tests/quality/questions.yaml) split in two halves: after sorting by id, the 1st, 3rd, 5th...
question go to the frozen half (never used for tuning), the others to the tuning half.

    python -m tests.quality.split          # writes tests/quality/frozen/questions.yaml and tuning/questions.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "questions.yaml"
FROZEN = HERE / "frozen" / "questions.yaml"
TUNING = HERE / "tuning" / "questions.yaml"


def halves(labelled: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(frozen, tuning): the same suite header, the questions sorted by id and dealt alternately."""
    questions = sorted(labelled["questions"], key=lambda q: str(q["id"]))
    head = {k: v for k, v in labelled.items() if k != "questions"}
    frozen = {**head, "name": f"{labelled['name']}, frozen half", "questions": questions[0::2]}
    tuning = {**head, "name": f"{labelled['name']}, tuning half", "questions": questions[1::2]}
    return frozen, tuning


def render(suite: dict[str, Any]) -> str:
    return yaml.safe_dump(suite, allow_unicode=True, sort_keys=False, width=120)


def main() -> None:
    frozen, tuning = halves(yaml.safe_load(LABELLED.read_text(encoding="utf-8")))
    FROZEN.write_text(render(frozen), encoding="utf-8")
    TUNING.write_text(render(tuning), encoding="utf-8")


if __name__ == "__main__":
    main()
