"""How `taina eval` compares an appointment's fields with what a suite expects."""

from __future__ import annotations

from taina.eval.run import _field_matches


def test_a_name_matches_whatever_its_accents_and_capitals() -> None:
    assert _field_matches("patient_name", "María del Carmen Núñez", "maria del carmen nuñez")
    assert _field_matches("patient_name", "Ramón  Peña", "Ramon Pena")


def test_a_name_with_other_letters_does_not_match() -> None:
    assert not _field_matches("patient_name", "María Núñez", "Mario Núñez")
    assert not _field_matches("patient_name", "Ana Pérez", "Ana Pérez Gómez")


def test_a_phone_matches_by_its_digits_and_a_time_by_its_start() -> None:
    assert _field_matches("patient_phone", "809-555-1234", "8095551234")
    assert not _field_matches("patient_phone", "809-555-1234", "8095551235")
    assert _field_matches("starts_at", "2026-11-26T09:00", "2026-11-26T09:00:00-04:00")
    assert not _field_matches("starts_at", "2026-11-26T09:00", "2026-11-26T09:20:00-04:00")


def test_other_fields_keep_their_accents() -> None:
    assert not _field_matches("site_id", "santo-domingo", "santiago")
