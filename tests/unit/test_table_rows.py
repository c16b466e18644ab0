"""An hours question answered by the row of a site's hours table whose label the caller named, at their site."""

from __future__ import annotations

from adapters.policy.answers import compose_answer
from adapters.policy.table_rows import days_in
from engine.ports.knowledge import Passage

NACO = Passage(
    "horas",
    "Horarios",
    "Sede Naco",
    "Farmacia: lunes a sábado de 7:00 a. m. a 10:00 p. m.\nRayos X: lunes a viernes de 8:00 a. m. a 4:00 p. m.",
    1.0,
    0.9,
)
ESTE = Passage(
    "horas", "Horarios", "Sede Herrera", "Farmacia: todos los días de 8:00 a. m. a 8:00 p. m.", 1.0, 0.9
)


def answer(question: str) -> str:
    found = compose_answer(question, [NACO, ESTE])
    return found.text if found else ""


def test_the_row_the_caller_named_at_the_site_they_named() -> None:
    said = answer("oiga e que yo salgo tarde del trabajo, hasta que hora ta abierta la farmacia en naco")
    assert said == "Farmacia: lunes a sábado de 7:00 a. m. a 10:00 p. m."


def test_a_day_the_row_does_not_cover_is_not_answered_by_it() -> None:
    assert answer("los domingos a que hora hacen rayos x en naco").startswith("No. Rayos X: lunes a viernes")


def test_a_doctors_days_are_not_a_sites_hours() -> None:
    assert not answer("que dias atiende el cardiologo en naco").startswith("Farmacia")


def test_days_in_a_row() -> None:
    assert days_in("lunes a viernes de 8 a 4; sabados de 8 a 12") == {
        "lunes", "martes", "miercoles", "jueves", "viernes", "sabado",
    }  # fmt: skip


CONTACTS = [
    Passage("c", "Contacto", "Sede Naco", "Dirección: calle Uno 5, Naco.\nTeléfono: 809-555-1111.", 1.0, 0.9),
    Passage("c", "Contacto", "Sede Herrera", "Dirección: av. España 9.\nTeléfono: 809-555-2222.", 1.0, 0.9),
    Passage(
        "c",
        "Contacto",
        "Urgencias",
        "La sede Herrera no tiene urgencias: para una urgencia llame al 9-1-1.",
        1.0,
        0.9,
    ),
]


def test_the_phone_row_of_the_site_named() -> None:
    found = compose_answer("y el telefono de la sede de herrera cual e", CONTACTS)
    assert found is not None and found.text == "Teléfono: 809-555-2222."


def test_a_sentence_naming_more_of_what_was_asked_beats_the_row() -> None:
    found = compose_answer("a que numero llamo si tengo una urgencia en la sede de herrera", CONTACTS)
    assert found is not None and "9-1-1" in found.text


def test_a_bare_yes_is_said_with_what_follows_it() -> None:
    faq = Passage(
        "faq", "Preguntas", "¿Aceptan mascotas?", "Sí.\nLos perros de asistencia pueden entrar.", 1.0, 0.9
    )
    found = compose_answer("aceptan mascotas", [faq])
    assert found is not None and found.text == "Sí. Los perros de asistencia pueden entrar."
