"""The second identity check before an appointment is read out, moved or cancelled: the caller's phone AND the
patient's full name as booked (accent- and case-insensitive, a missing second surname tolerated)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.appointment_tools import AppointmentTools
from engine.ports.appointments import Appointment, Catalogue, Doctor, Service, Site, Slot
from engine.ports.language import ToolCall
from engine.tools import Toolbox

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
BOOKED = Appointment(
    "a1", "tavarez", "Dra. Carolina Tavárez", "cardiologia", "santiago", "María José Núñez Peña",
    "8095551234", NOW + timedelta(days=1), NOW + timedelta(days=1, minutes=20), "booked",
)  # fmt: skip


class OneAppointment:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    async def catalogue(self) -> Catalogue:
        raise NotImplementedError

    async def list_available_slots(self, *_args: Any, **_kwargs: Any) -> list[Slot]:
        return []

    async def book(self, *_args: Any, **_kwargs: Any) -> Appointment:
        raise NotImplementedError

    async def cancel(self, appointment_id: str) -> Appointment:
        self.cancelled.append(appointment_id)
        return BOOKED

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment:
        raise NotImplementedError

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        return [BOOKED] if "".join(c for c in patient_phone if c.isdigit()) == "8095551234" else []

    async def get(self, appointment_id: str) -> Appointment:
        return BOOKED


CATALOGUE = Catalogue(
    (Service("cardiologia", "Cardiología", 20),),
    (Doctor("tavarez", "Dra. Carolina Tavárez", "cardiologia", ("santiago",)),),
    (Site("santiago", "Santiago", "Calle 1"),),
)


def toolbox() -> tuple[Toolbox, OneAppointment]:
    backend = OneAppointment()
    return Toolbox(AppointmentTools(backend, CATALOGUE, "c1", lambda: NOW).tools()), backend


async def call(box: Toolbox, name: str, **arguments: Any) -> dict[str, Any]:
    import json

    return (await box.call(ToolCall("c", name, json.dumps(arguments)))).result


@pytest.mark.parametrize(
    "said",
    ["María José Núñez Peña", "maria jose nunez pena", "MARÍA JOSÉ NÚÑEZ", "María José Núñez-Peña"],
)
async def test_the_booked_name_finds_the_appointment(said: str) -> None:
    box, _backend = toolbox()
    found = await call(box, "find_appointments", patient_phone="809-555-1234", patient_name=said)
    assert [a["appointment_id"] for a in found["appointments"]] == ["a1"]


@pytest.mark.parametrize("said", ["Pedro Almánzar", "María Núñez", "José Núñez Peña", "Ana José Núñez Peña"])
async def test_a_phone_with_another_name_reveals_nothing_and_cannot_cancel(said: str) -> None:
    box, backend = toolbox()
    found = await call(box, "find_appointments", patient_phone="809-555-1234", patient_name=said)
    unknown = await call(box, "find_appointments", patient_phone="809-555-0000", patient_name=said)
    assert found == unknown and found["appointments"] == []  # the same answer as a phone with no appointments
    assert "Tavárez" not in str(found) and "a1" not in str(found)
    refused = await call(box, "cancel_appointment", appointment_id="a1", patient_confirmed=True)
    assert "call find_appointments" in refused["error"] and backend.cancelled == []


async def test_a_phone_alone_or_a_first_name_alone_is_refused() -> None:
    box, backend = toolbox()
    alone = await call(box, "find_appointments", patient_phone="809-555-1234")
    assert alone == {"error": "missing argument 'patient_name'"}
    first = await call(box, "find_appointments", patient_phone="809-555-1234", patient_name="María")
    assert "full name" in first["error"]
    await call(box, "find_appointments", patient_phone="809-555-1234", patient_name="María José Núñez")
    done = await call(box, "cancel_appointment", appointment_id="a1", patient_confirmed=True)
    assert done["cancelled"]["appointment_id"] == "a1" and backend.cancelled == ["a1"]


def test_same_person() -> None:
    from engine.appointment_tools import same_person

    assert same_person("juan soto", "Juan Soto Pérez") and same_person("Juan Soto Pérez", "Juan Soto")
    assert not same_person("Juan", "Juan Soto") and not same_person("Juan Pérez", "Juan Soto Pérez")
    assert same_person("María de la Cruz", "MARIA DE LA CRUZ") and not same_person("", "Juan Soto")
