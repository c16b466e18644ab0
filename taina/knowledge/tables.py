"""Table rows and wrapped lines made into sentences a voice can read.

A table row read raw ("ARS Humano — Sí — Sí") means nothing spoken; with its header it becomes one sentence:
"ARS Humano: sí en consultas y en laboratorio e imágenes." A header-less row of two cells becomes "label: value."
A PDF wraps lines wherever the page ends; a line that does not end a sentence is joined to the next one when that
one goes on in lower case ("... Con seguro, el paciente paga" + "solo el copago de su plan.").
"""

from __future__ import annotations

import re

_YES = frozenset({"sí", "si", "yes", "x", "✓", "✔"})
_NO = frozenset({"no", "—", "-", "–", "✗", "✘"})
_ENDS_SENTENCE = (".", "!", "?", ":", ";", "…")


def _lower_first(text: str) -> str:
    """ "Consultas" -> "consultas", but "ARS" and "RD$" stay as written."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} y {items[-1]}"


def _sentence(text: str) -> str:
    text = text.strip().rstrip(";,")
    return text if text.endswith(_ENDS_SENTENCE) else f"{text}."


def spoken_row(cells: list[str], header: list[str] | None = None) -> str:
    """One table row as one sentence: the first cell names the row, each other cell is said with its column's
    header ("sí en consultas", "precio sin seguro, RD$3,000"), or as the rest of the sentence without one."""
    cells = [re.sub(r"\s+", " ", c).strip() for c in cells]
    label, values = cells[0], cells[1:]
    if not values:
        return _sentence(label)
    if header is None or len(header) != len(cells):
        return _sentence(f"{label}: {'; '.join(v for v in values if v)}")
    yes: list[str] = []
    no: list[str] = []
    parts: list[str] = []
    for column, value in zip(header[1:], values, strict=True):
        name = _lower_first(column.strip())
        if not value:
            continue
        if value.lower().rstrip(".") in _YES:
            yes.append(name)
        elif value.lower().rstrip(".") in _NO:
            no.append(name)
        else:
            parts.append(f"{name}, {_lower_first(value)}" if name else value)
    if yes:
        parts.insert(0, "sí en " + _and([f"en {n}" if i else n for i, n in enumerate(yes)]))
    if no:
        parts.insert(len(parts) if not yes else 1, "no en " + _and(no))
    return _sentence(f"{label}: {'; '.join(parts)}") if parts else _sentence(label)


def unwrap(lines: list[str]) -> list[str]:
    """Lines a page layout wrapped, joined back: a line that ends no sentence goes on in the next line when that one
    starts in lower case."""
    joined: list[str] = []
    for line in lines:
        if joined and not joined[-1].endswith(_ENDS_SENTENCE) and line[:1].islower():
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined
