from __future__ import annotations

from pathlib import Path

import pytest

from adapters.policy.intents import asks_fact, classify, is_yes

LABELLED = Path(__file__).parent / "dialogue_intents.tsv"


def test_intents_of_labelled_spanish_utterances() -> None:
    rows = [
        line.split("\t") for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert len(rows) >= 90
    wrong = [(text, expected, classify(text)) for text, expected in rows if classify(text) != expected]
    assert wrong == []
    assert {expected for _text, expected in rows} == {
        "book", "reschedule", "cancel", "information", "human", "greeting", "thanks", "goodbye", "affirm", "deny"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("said", "yes"),
    [
        ("Sí", True), ("Sí, a las cuatro está bien", True), ("si, claro", True), ("si me sirve", True),
        ("Ok, sí, cancélela", True), ("Ta bien, el viernes, pero en la tarde", True), ("Claro que sí", True),
        ("Si voy en el metro, ¿en qué estación me bajo?", False), ("Si la cancelo hoy, ¿me cobran?", False),
        ("¿Si cancelo la cita me cobran algo?", False), ("si llego tarde", False), ("si no puedo ir", False),
        ("No, mejor a las cuatro", False),
    ],
)  # fmt: skip
def test_a_condition_is_not_a_yes(said: str, yes: bool) -> None:
    assert is_yes(said) is yes


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("¿Y cuánto cuesta la consulta?", True), ("¿Si cancelo la cita me cobran algo?", True),
        ("Si voy en el metro, ¿en qué estación me bajo?", True), ("¿Ustedes atienden los sábados en Santiago?", True),
        ("¿No tiene más tarde? Tipo a las tres", False), ("¿Qué otro día tiene?", False),
        ("¿Hay algo disponible el jueves?", False), ("Sí, me sirve", False), ("Klk, ¿cómo está?", False),
        # "como a las diez" is about ten, "si hay" politeness, ", que a las dos yo trabajo" a reason.
        ("el viernes temprano, como a las diez si hay", False),
        ("El jueves 3 de diciembre, en la mañana, como a las nueve y media o diez.", False),
        ("no no, espérese, mejor a las tres, que a las dos yo toy trabajando", False),
        ("oiga, que necesito llevar", True),
    ],
)  # fmt: skip
def test_a_question_about_the_clinic_in_the_middle_of_a_booking(said: str, fact: bool) -> None:
    assert asks_fact(said) is fact
