"""An evaluation suite, read from YAML and checked strictly: an unknown key, a wrong type or a bad pattern is a
``SuiteError`` naming where it is.

    name: sample clinic
    now: "2026-11-25T09:00:00"                          # the clinic's clock for the run (as TAINA_NOW), optional
    latency: {first_piece_ms: 1500, turn_ms: 3000}   # the budget, on each turn's worst case
    questions:
      - id: price-pediatrics
        ask: "¿Cuánto cuesta una consulta de pediatría?"
        expect: ['RD\\$2,500']                           # regex patterns the answer must match
        forbid: ['No tengo esa información']             # regex patterns it must not match
        tags: [price]
    conversations:
      - id: book-rosario
        turns: ["Quiero una cita con la doctora Rosario el lunes a las nueve", "Sí", ...]
        expect_tools: [list_available_slots, book_appointment]   # called in this order (others may come between)
        expect_appointment: {doctor_id: rosario, patient_name: Carlos Féliz}   # the last write's fields
        before: ["Quiero una cita ...", ...]   # an earlier call of the same caller (its own session), not checked
        no_repeat: true   # fail when the assistant asks a question again after the caller answered it
        expect: [...]   # patterns for the last reply
        forbid: [...]   # patterns no reply may match
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml


class SuiteError(ValueError):
    """The suite cannot be used; the message says where and why, on one line."""


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[str, ...]
    expect_tools: tuple[str, ...] = ()
    expect_appointment: dict[str, str] = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    no_repeat: bool = False


@dataclass(frozen=True)
class Latency:
    first_piece_ms: float | None = None
    turn_ms: float | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    questions: tuple[Question, ...]
    conversations: tuple[Conversation, ...]
    latency: Latency = Latency()
    now: str = ""  # ISO 8601; empty: the clinic's clock as configured


_TOP = {"name", "now", "latency", "questions", "conversations"}
_LATENCY = {"first_piece_ms", "turn_ms"}
_QUESTION = {"id", "ask", "expect", "forbid", "tags"}
_CONVERSATION = {
    "id", "turns", "expect_tools", "expect_appointment", "expect", "forbid", "tags", "before", "no_repeat"
}  # fmt: skip


def load_suite(path: Path | str) -> Suite:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise SuiteError(f"{path}: not valid YAML{at} ({getattr(exc, 'problem', None) or exc})") from None
    return parse_suite(raw, str(path))


def parse_suite(raw: object, where: str = "suite") -> Suite:
    top = _mapping(raw, where, _TOP)
    latency = _mapping(top.get("latency", {}), f"{where}: latency", _LATENCY)
    budget = Latency(
        *(_number(latency.get(k), f"{where}: latency.{k}") for k in ("first_piece_ms", "turn_ms"))
    )
    questions = [_question(q, f"{where}: questions[{i}]") for i, q in enumerate(_list(top.get("questions", []), f"{where}: questions"))]  # fmt: skip
    conversations = [
        _conversation(c, f"{where}: conversations[{i}]")
        for i, c in enumerate(_list(top.get("conversations", []), f"{where}: conversations"))
    ]
    if not questions and not conversations:
        raise SuiteError(f"{where}: no questions and no conversations")
    ids = [q.id for q in questions] + [c.id for c in conversations]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SuiteError(f"{where}: repeated id {repeated[0]!r}")
    now = _moment(top.get("now"), f"{where}: now")
    return Suite(str(top.get("name", where)), tuple(questions), tuple(conversations), budget, now)


def _question(raw: object, where: str) -> Question:
    item = _mapping(raw, where, _QUESTION, required=("id", "ask"))
    return Question(
        _text(item["id"], f"{where}.id"),
        _text(item["ask"], f"{where}.ask"),
        _patterns(item.get("expect", []), f"{where}.expect"),
        _patterns(item.get("forbid", []), f"{where}.forbid"),
        _texts(item.get("tags", []), f"{where}.tags"),
    )


def _conversation(raw: object, where: str) -> Conversation:
    item = _mapping(raw, where, _CONVERSATION, required=("id", "turns"))
    turns = _texts(item["turns"], f"{where}.turns")
    if not turns:
        raise SuiteError(f"{where}.turns: no turns")
    fields = _mapping(item.get("expect_appointment", {}), f"{where}.expect_appointment", None)
    return Conversation(
        _text(item["id"], f"{where}.id"),
        turns,
        _texts(item.get("expect_tools", []), f"{where}.expect_tools"),
        {str(k): _text(v, f"{where}.expect_appointment.{k}") for k, v in fields.items()},
        _patterns(item.get("expect", []), f"{where}.expect"),
        _patterns(item.get("forbid", []), f"{where}.forbid"),
        _texts(item.get("tags", []), f"{where}.tags"),
        _texts(item.get("before", []), f"{where}.before"),
        _flag(item.get("no_repeat", False), f"{where}.no_repeat"),
    )


def _mapping(
    raw: object, where: str, keys: set[str] | None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: expected a mapping, got {type(raw).__name__}")
    if keys is not None:
        unknown = sorted(str(k) for k in raw if k not in keys)
        if unknown:
            raise SuiteError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")
    for key in required:
        if key not in raw:
            raise SuiteError(f"{where}: missing key {key!r}")
    return {str(k): v for k, v in raw.items()}


def _list(raw: object, where: str) -> list[object]:
    if not isinstance(raw, list):
        raise SuiteError(f"{where}: expected a list, got {type(raw).__name__}")
    return raw


def _text(raw: object, where: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float) or not str(raw).strip():
        raise SuiteError(f"{where}: expected a non-empty string")
    return str(raw)


def _texts(raw: object, where: str) -> tuple[str, ...]:
    return tuple(_text(item, f"{where}[{i}]") for i, item in enumerate(_list(raw, where)))


def _patterns(raw: object, where: str) -> tuple[str, ...]:
    patterns = _texts(raw, where)
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SuiteError(f"{where}[{i}]: bad regular expression {pattern!r} ({exc})") from None
    return patterns


def _number(raw: object, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise SuiteError(f"{where}: expected a positive number of milliseconds")
    return float(raw)


def _flag(raw: object, where: str) -> bool:
    if not isinstance(raw, bool):
        raise SuiteError(f"{where}: expected true or false")
    return raw


def _moment(raw: object, where: str) -> str:
    if raw is None:
        return ""
    try:
        return datetime.fromisoformat(str(raw)).isoformat()
    except ValueError:
        raise SuiteError(f"{where}: expected an ISO 8601 date and time, got {raw!r}") from None
