"""The built-in appointments service on the embedded PostgreSQL, with "now" fixed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.appointments_db import BuiltInAppointments
from adapters.postgres import Database, DatabaseSettings
from engine.ports.appointments import AppointmentNotFound, SlotTaken
from taina.clinic.clock import CLINIC_TIMEZONE, now_in_clinic
from taina.clinic.sample import SAMPLE_CENTRE

NOW = now_in_clinic("2026-11-25T09:00:00")  # a Wednesday
THURSDAY = date(2026, 11, 26)


@pytest.fixture
async def appointments(database_url: str, tmp_path: Path) -> AsyncIterator[BuiltInAppointments]:
    database = await Database.open(DatabaseSettings(url=database_url, pool_size=4), tmp_path)
    service = BuiltInAppointments(database, lambda: NOW, CLINIC_TIMEZONE)
    assert await service.seed(SAMPLE_CENTRE)
    assert not await service.seed(SAMPLE_CENTRE)  # only once
    yield service
    await database.aclose()


async def test_free_slots_follow_working_hours(appointments: BuiltInAppointments) -> None:
    slots = await appointments.list_available_slots("cardiologia", THURSDAY, limit=50)
    # Thursday: only Dra. Tavárez, in Santiago, 14:00-18:00 in 20-minute slots.
    assert {s.doctor_id for s in slots} == {"tavarez"} and {s.site_id for s in slots} == {"santiago"}
    assert len(slots) == 12
    assert slots[0].starts_at.hour == 14 and slots[-1].ends_at.hour == 18
    assert await appointments.list_available_slots("cardiologia", THURSDAY, site_id="santo-domingo") == []
    today = await appointments.list_available_slots("medicina-interna", NOW.date(), limit=100)
    assert all(s.starts_at > NOW for s in today)  # nothing in the past


async def test_booking_takes_the_slot_and_cancelling_frees_it(appointments: BuiltInAppointments) -> None:
    slot = (await appointments.list_available_slots("cardiologia", THURSDAY))[0]
    booked = await appointments.book(slot, "  María   Pérez ", "(809) 555-0101", idempotency_key="k1")
    assert booked.patient_name == "María Pérez" and booked.patient_phone == "8095550101"
    assert booked.doctor_name == "Dra. Carolina Tavárez" and booked.status == "booked"
    again = await appointments.book(slot, "María Pérez", "8095550101", idempotency_key="k1")
    assert again.id == booked.id  # a retried request does not book twice
    assert slot not in await appointments.list_available_slots("cardiologia", THURSDAY, limit=50)
    assert [a.id for a in await appointments.find_by_patient("809-555-0101")] == [booked.id]
    with pytest.raises(SlotTaken):
        await appointments.book(slot, "Juan Díaz", "8295550102")
    cancelled = await appointments.cancel(booked.id)
    assert cancelled.status == "cancelled"
    assert slot in await appointments.list_available_slots("cardiologia", THURSDAY, limit=50)
    assert await appointments.find_by_patient("8095550101") == []


async def test_two_callers_racing_for_one_slot_exactly_one_wins(appointments: BuiltInAppointments) -> None:
    slot = (await appointments.list_available_slots("pediatria", THURSDAY))[0]
    results = await asyncio.gather(
        *(appointments.book(slot, f"Paciente {i}", f"809555010{i}") for i in range(4)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, SlotTaken) for r in results if isinstance(r, BaseException))


async def test_rescheduling_moves_only_into_free_working_time(appointments: BuiltInAppointments) -> None:
    first, second = (await appointments.list_available_slots("cardiologia", THURSDAY))[:2]
    mine = await appointments.book(first, "Ana Gómez", "8095550111")
    other = await appointments.book(second, "Luis Mota", "8095550112")
    with pytest.raises(SlotTaken):
        await appointments.reschedule(mine.id, other.starts_at)  # taken
    with pytest.raises(SlotTaken):
        await appointments.reschedule(mine.id, first.starts_at.replace(hour=20))  # after hours
    later = first.starts_at + timedelta(hours=1)
    moved = await appointments.reschedule(mine.id, later)
    assert moved.starts_at == later and moved.ends_at == later + timedelta(minutes=20)
    with pytest.raises(AppointmentNotFound):
        await appointments.cancel("nope")


async def test_bad_patient_details_are_refused(appointments: BuiltInAppointments) -> None:
    slot = (await appointments.list_available_slots("dermatologia", THURSDAY))[0]
    with pytest.raises(ValueError, match="phone number"):
        await appointments.book(slot, "Ana Gómez", "12")
    with pytest.raises(ValueError, match="name"):
        await appointments.book(slot, "A", "8095550111")
    assert slot in await appointments.list_available_slots("dermatologia", THURSDAY, limit=50)
