"""`taina eval`'s "no question asked twice" check, and the suite keys it comes with (now, before, no_repeat)."""

from __future__ import annotations

import pytest

from taina.eval.run import Turn, asked_twice
from taina.eval.suite import SuiteError, parse_suite


def turns(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(said, reply, [], [], 1.0, 1.0) for said, reply in pairs]


def test_a_question_asked_again_after_an_answer_is_a_repeat() -> None:
    found = asked_twice(turns(
        ("Quiero una cita", "¿A nombre de quién hago la cita?"),
        ("maria del carmen de la cruz", "Disculpe, no le entendí. ¿A nombre de quién hago la cita?"),
    ))  # fmt: skip
    assert found == ["asked twice (turns 1 and 2): 'a nombre de quién hago la cita'"]


def test_a_read_back_is_the_question_and_a_changed_one_is_new() -> None:
    offer = "Tengo el jueves 26 de noviembre a las 2:00 p. m. con la Dra. Carolina Tavárez. ¿Le sirve?"
    read_back = "Le confirmo: cita a nombre de Ana Pérez, teléfono 809-555-{}. ¿Está correcto?"
    assert asked_twice(turns(
        ("Cita con la cardióloga mañana", offer),
        ("Sí, a las dos está bien", offer),
    ))  # fmt: skip
    assert not asked_twice(turns(
        ("Es el 809 555 0101", read_back.format("0101")),
        ("No, el teléfono es 809 555 0102", read_back.format("0102")),
    ))  # fmt: skip


def test_asking_again_after_the_caller_asked_something_is_going_on() -> None:
    offer = "Tengo el viernes 27 de noviembre a las 8:00 a. m. con el Dr. Rafael Almonte Peña. ¿Le sirve?"
    assert not asked_twice(turns(
        ("El viernes", offer),
        ("Si voy en el metro, ¿en qué estación me bajo?", f"En la estación Francisco Alberto Caamaño. {offer}"),
    ))  # fmt: skip


def test_the_suite_keys() -> None:
    suite = parse_suite({
        "now": "2026-11-25T09:00:00",
        "conversations": [{"id": "a", "turns": ["Hola"], "before": ["Quiero una cita"], "no_repeat": True}],
    })  # fmt: skip
    assert suite.now == "2026-11-25T09:00:00"
    assert suite.conversations[0].before == ("Quiero una cita",) and suite.conversations[0].no_repeat
    with pytest.raises(SuiteError, match="now: expected an ISO 8601"):
        parse_suite({"now": "mañana", "conversations": [{"id": "a", "turns": ["Hola"]}]})
    with pytest.raises(SuiteError, match="no_repeat: expected true or false"):
        parse_suite({"conversations": [{"id": "a", "turns": ["Hola"], "no_repeat": "yes"}]})
