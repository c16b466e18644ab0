"""The signs of an emergency now (engine/urgent_signs.py): a labelled list written for it (Dominican and recogniser
spellings, first and third person, signs inside booking sentences), and the rules that keep denied, hypothetical,
past and figurative mentions out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.urgent_signs import classify_urgent, spoken_form

LABELLED = Path(__file__).parent / "urgent_signs.tsv"
KINDS = {"chest", "breathing", "stroke", "bleeding", "fainting", "self_harm", "seizure"}


def labelled() -> list[tuple[str, str]]:
    rows = [
        line.split("\t") for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")
    ]
    return [(kind, text) for kind, text in rows]


def test_the_labelled_list_is_large_and_covers_every_kind() -> None:
    rows = labelled()
    positives = [k for k, _ in rows if k != "none"]
    assert len(positives) >= 60 and len(rows) - len(positives) >= 25
    assert set(positives) == KINDS
    assert all(positives.count(kind) >= 5 for kind in KINDS)


@pytest.mark.parametrize(("kind", "text"), labelled())
def test_each_labelled_phrasing(kind: str, text: str) -> None:
    assert (classify_urgent(text) or "none") == kind


def test_the_recogniser_spelling_is_spelled_out() -> None:
    assert (
        spoken_form("¡Toy ahogao! Se me 'ta cerrando el pecho")
        == "estoy ahogado | se me esta cerrando el pecho"
    )
    assert spoken_form("le duele pa'l brazo, habla enredao") == "le duele para el brazo | habla enredado"


@pytest.mark.parametrize(
    ("said", "denied"),
    [
        ("me duele el pecho", "no me duele el pecho"),
        ("tiene dolor de pecho", "no tiene dolor de pecho ni fiebre"),
        ("está convulsionando", "nunca ha convulsionado"),
        ("le sale mucha sangre", "ya no le sale sangre"),
        ("se le torció la boca", "no se le torció la boca"),
    ],
)
def test_a_denied_sign_is_not_an_emergency(said: str, denied: str) -> None:
    assert classify_urgent(said) is not None
    assert classify_urgent(denied) is None


def test_a_denial_in_another_clause_or_before_other_words_does_not_deny_the_sign() -> None:
    assert classify_urgent("no sé qué hacer, mi papá no puede respirar") == "breathing"
    assert classify_urgent("mi papá no habla y no puede mover el brazo") == "stroke"
    assert classify_urgent("no aguanto más, me quiero matar") == "self_harm"


def test_time_past_and_habit_rule_out_all_but_self_harm_unless_now_is_said() -> None:
    assert classify_urgent("hace dos meses tuve un desmayo") is None
    assert (
        classify_urgent("hace dos años tuvo convulsiones y ahora está convulsionando otra vez") == "seizure"
    )
    assert classify_urgent("cuando camino mucho me falta el aire") is None
    assert classify_urgent("a veces pienso en quitarme la vida") == "self_harm"
    assert classify_urgent("desde hace un rato no puedo coger aire") == "breathing"
    # A present pain in a clause of its own is not ruled out by an old event in another.
    assert classify_urgent("tuve un infarto hace dos años y me duele el pecho") == "chest"
    assert classify_urgent("mi papá tuvo un derrame el año pasado y tiene la boca torcida") is None


def test_a_hypothesis_is_not_an_emergency_now() -> None:
    assert classify_urgent("qué hago si mi hijo convulsiona") is None
    assert classify_urgent("por si acaso me da dolor de pecho, ¿abren de noche?") is None


def test_a_call_is_well_under_a_millisecond() -> None:
    said = (
        "Quiero hacer una cita con la doctora Rosario el lunes a las diez para mi hijo que tiene fiebre y tos"
    )
    classify_urgent(said)
    start = time.perf_counter()
    for _ in range(200):
        classify_urgent(said)
    assert (time.perf_counter() - start) / 200 < 0.001
