"""What the policy understands of a booking request: labelled Dominican Spanish utterances, slot by slot."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.policy.details import find_details, find_name, find_phone
from adapters.policy.when import parse_when
from engine.ports.appointments import Catalogue, Doctor, Service, Site
from taina.clinic.clock import now_in_clinic
from taina.clinic.sample import SAMPLE_DOCTORS, SAMPLE_SERVICES, SAMPLE_SITES

LABELLED = Path(__file__).parent / "dialogue_slots.tsv"
NOW = now_in_clinic("2026-11-25T09:00:00")
CATALOGUE = Catalogue(
    tuple(Service(*s) for s in SAMPLE_SERVICES),
    tuple(Doctor(i, n, s, tuple(sorted({h[0] for h in hours}))) for i, n, s, hours in SAMPLE_DOCTORS),
    tuple(Site(*s) for s in SAMPLE_SITES),
)


def understood(said: str) -> list[str]:
    details = find_details(said, CATALOGUE)
    when = parse_when(said, NOW)
    values = [
        details.service_id, details.doctor_id, details.site_id,
        when.day.isoformat() if when.day else None, when.at.strftime("%H:%M") if when.at else None,
        when.part_of_day, details.phone, find_name(said, expecting=False),
    ]  # fmt: skip
    return [v or "-" for v in values]


def test_slots_of_labelled_spanish_utterances() -> None:
    rows = [
        line.split("\t") for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert len(rows) >= 80 and all(len(row) == 9 for row in rows)
    wrong = [(said, expected, understood(said)) for said, *expected in rows if understood(said) != expected]
    assert wrong == [], "\n".join(f"{s}: expected {e}, got {g}" for s, e, g in wrong)


@pytest.mark.parametrize(
    ("said", "expecting", "correcting", "name"),
    [
        ("maria del carmen de la cruz", True, False, "María del Carmen de la Cruz"),
        ("la niña, Camila Rodríguez", True, False, "Camila Rodríguez"),
        ("Génesis Paulino", True, False, "Génesis Paulino"),
        ("Sí, correcto", True, False, None),
        ("el domingo", True, False, None),
        ("No, es Yokasta Mercedes Rosario", False, True, "Yokasta Mercedes Rosario"),
        ("No, el teléfono es ocho cero nueve", False, True, None),
        ("No, es el jueves", False, True, None),
        ("No, es Yokasta Mercedes Rosario", False, False, None),  # not at the read-back: no name
        ("pa mi niña", False, False, None),
        # What the patient is, or an order about the appointment, is no name.
        ("hola, e pa una cita con la endocrinóloga, la doctora Mejía, yo soy diabética", False, False, None),
        ("soy hipertenso", False, False, None),
        ("yo soy asegurada de Humano", False, False, None),
        ("soy paciente nueva", False, False, None),
        ("sí, cancélela", True, False, None),
        ("ok, resérvemela", True, False, None),
        ("Hola, soy María Tejada", False, False, "María Tejada"),
        ("mi nombre es Yanelis Castillo, Yanelis con y griega", True, False, "Yanelis Castillo"),
    ],
)
def test_names_asked_for_and_corrected(
    said: str, expecting: bool, correcting: bool, name: str | None
) -> None:
    assert find_name(said, expecting=expecting, correcting=correcting) == name


@pytest.mark.parametrize(
    ("said", "phone"),
    [
        ("809 555 6743, no perdón, 809 555 6734", "8095556734"),  # the number that corrects the first
        ("ocho cero nueve cinco cinco cinco uno uno dos dos, no, digo, ocho cero nueve cinco cinco cinco uno uno "
         "dos tres", "8095551123"),
        ("809 555 1111", "8095551111"),
    ],
)  # fmt: skip
def test_a_corrected_phone_is_the_last_one_said(said: str, phone: str) -> None:
    assert find_phone(said) == phone
