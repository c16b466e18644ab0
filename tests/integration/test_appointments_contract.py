"""The appointments contract, run twice: on the built-in service directly, and through the HTTP adapter
against the REST API over real HTTP on 127.0.0.1. Both must behave the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from adapters.appointments_db import BuiltInAppointments
from adapters.appointments_http import AppointmentsSettings, AppointmentsUnavailable, HttpAppointments
from engine.ports.appointments import AppointmentNotFound, Appointments, SlotTaken
from taina.backend import Backend
from taina.clinic.clock import CLINIC_TIMEZONE
from taina.http import deps
from taina.http.appointments import router as appointments_router
from taina.http.errors import answer_errors_as_json
from taina.settings import Settings
from tests.support.servers import serving_here

THURSDAY = date(2026, 11, 26)
TOKEN = "s3cret-token"


class Faults:
    """Lost answers: the booking is made, then the client is told 503 as if the answer never arrived."""

    def __init__(self) -> None:
        self.lose_next_bookings = 0
        self.bookings_seen = 0


def api(service: BuiltInAppointments, faults: Faults) -> FastAPI:
    app = FastAPI()
    answer_errors_as_json(app)
    app.state.appointments = service
    served = Settings.from_env({"TAINA_APPOINTMENTS_API_TOKEN": TOKEN})  # the API token its clients send
    app.dependency_overrides[deps.settings] = lambda: served
    app.include_router(appointments_router)

    @app.middleware("http")
    async def lose_answers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.method == "POST":
            faults.bookings_seen += 1
            if faults.lose_next_bookings:
                faults.lose_next_bookings -= 1
                return Response(status_code=503)
        return response

    return app


@contextlib.asynccontextmanager
async def over_http(backend: Backend) -> AsyncIterator[tuple[Appointments, Faults, str]]:
    """The HTTP adapter talking to the REST API, which serves the built-in service, over 127.0.0.1."""
    built_in = backend.appointments
    assert isinstance(built_in, BuiltInAppointments)
    faults = Faults()
    async with serving_here(api(built_in, faults)) as url:
        adapter = HttpAppointments(AppointmentsSettings(url=url, token=TOKEN, timeout_s=5, retries=2))
        yield adapter, faults, url
        await adapter.aclose()


@pytest.fixture(params=["built-in", "http"])
async def contract(
    request: pytest.FixtureRequest, backend: Backend
) -> AsyncIterator[tuple[Appointments, Faults, str]]:
    if request.param == "built-in":
        yield backend.appointments, Faults(), ""
        return
    async with over_http(backend) as served:
        yield served


@pytest.fixture
async def http(backend: Backend) -> AsyncIterator[tuple[Appointments, Faults, str]]:
    async with over_http(backend) as served:
        yield served


async def test_catalogue_and_free_slots(contract: tuple[Appointments, Faults, str]) -> None:
    service, _faults, _url = contract
    catalogue = await service.catalogue()
    assert {s.id for s in catalogue.sites} == {"santo-domingo", "santiago"} and len(catalogue.doctors) == 11
    assert next(d for d in catalogue.doctors if d.id == "cabral").site_ids == ("santiago", "santo-domingo")
    slots = await service.list_available_slots("cardiologia", THURSDAY, limit=50)
    assert len(slots) == 12 and {s.doctor_id for s in slots} == {"tavarez"}
    assert slots[0].starts_at == datetime(2026, 11, 26, 14, tzinfo=CLINIC_TIMEZONE)
    assert await service.list_available_slots("cardiologia", THURSDAY, site_id="santo-domingo") == []
    with pytest.raises(ValueError, match="unknown service 'astrologia'"):
        await service.list_available_slots("astrologia", THURSDAY)


async def test_book_retry_get_find_and_no_double_booking(contract: tuple[Appointments, Faults, str]) -> None:
    service, _faults, _url = contract
    first, second = (await service.list_available_slots("cardiologia", THURSDAY))[:2]
    booked = await service.book(first, "María Pérez", "(809) 555-0101", idempotency_key="key-0001")
    assert booked.patient_phone == "8095550101" and booked.status == "booked"
    assert (
        await service.book(first, "María Pérez", "809-555-0101", idempotency_key="key-0001")
    ).id == booked.id
    with pytest.raises(ValueError, match="already used for a different booking"):
        await service.book(second, "María Pérez", "8095550101", idempotency_key="key-0001")
    with pytest.raises(SlotTaken):
        await service.book(first, "Otra Persona", "8295550000", idempotency_key="key-0002")
    assert (await service.get(booked.id)) == booked
    assert [a.id for a in await service.find_by_patient("809.555.0101")] == [booked.id]
    assert first not in await service.list_available_slots("cardiologia", THURSDAY, limit=50)


async def test_two_concurrent_bookings_of_one_slot_exactly_one_wins(
    contract: tuple[Appointments, Faults, str],
) -> None:
    service, _faults, _url = contract
    slot = (await service.list_available_slots("pediatria", THURSDAY))[0]
    results = await asyncio.gather(
        *[
            service.book(slot, f"Paciente {i}", f"80955500{i:02d}", idempotency_key=f"race-{i:04d}")
            for i in range(6)
        ],
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1 and all(isinstance(r, SlotTaken) for r in results if r not in winners)


async def test_reschedule_and_cancel(contract: tuple[Appointments, Faults, str]) -> None:
    service, _faults, _url = contract
    first, second = (await service.list_available_slots("dermatologia", THURSDAY))[:2]
    mine = await service.book(first, "Ana Gómez", "8095551234", idempotency_key="key-ana-1")
    theirs = await service.book(second, "Luis Peña", "8095554321", idempotency_key="key-luis-1")
    later = first.starts_at + timedelta(hours=2)
    moved = await service.reschedule(mine.id, later)
    assert moved.starts_at == later and moved.ends_at == later + timedelta(minutes=20) and moved.id == mine.id
    with pytest.raises(SlotTaken):
        await service.reschedule(mine.id, theirs.starts_at)  # someone else's time
    with pytest.raises(SlotTaken):
        await service.reschedule(mine.id, later.replace(hour=22))  # outside the doctor's hours
    with pytest.raises(SlotTaken):
        await service.reschedule(mine.id, later + timedelta(minutes=7))  # not on the 20-minute grid
    with pytest.raises(AppointmentNotFound):
        await service.reschedule("nope1234", later)
    cancelled = await service.cancel(mine.id)
    assert cancelled.status == "cancelled" and await service.find_by_patient("8095551234") == []
    assert first in await service.list_available_slots(
        "dermatologia", THURSDAY, limit=50
    )  # its old time is free
    with pytest.raises(AppointmentNotFound):
        await service.cancel("nope1234")
    with pytest.raises(ValueError, match="not a phone number"):
        await service.find_by_patient("12345")


async def test_lost_answers_are_retried_without_booking_twice(http: tuple[Appointments, Faults, str]) -> None:
    service, faults, _url = http
    slot = (await service.list_available_slots("psicologia", THURSDAY))[0]
    faults.lose_next_bookings = 2  # booked, then the answer lost twice
    booked = await service.book(slot, "Rosa Díaz", "8095559999")  # no key given: the adapter makes one
    assert faults.bookings_seen == 3
    assert [a.id for a in await service.find_by_patient("8095559999")] == [booked.id]


async def test_the_rest_api_refuses_bad_requests_clearly(http: tuple[Appointments, Faults, str]) -> None:
    _service, _faults, url = http
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url) as client:
        unauthorised = await client.get("/api/appointments/catalogue")
        assert unauthorised.status_code == 401 and "Bearer" in unauthorised.json()["error"]
        assert (
            await client.get("/api/appointments/catalogue", headers={"Authorization": "Bearer wrong"})
        ).status_code == 401
        slot = {"doctor_id": "tavarez", "service_id": "cardiologia", "site_id": "santiago",
                "starts_at": "2026-11-26T14:00:00-04:00", "ends_at": "2026-11-26T14:20:00-04:00",
                "patient_name": "Juan Soto", "patient_phone": "8095557777"}  # fmt: skip
        no_key = await client.post("/api/appointments", json=slot, headers=auth)
        assert no_key.status_code == 400 and "idempotency-key" in no_key.json()["error"].lower()
        naive = await client.post("/api/appointments", json={**slot, "starts_at": "2026-11-26T14:00:00"},
                                  headers={**auth, "Idempotency-Key": "abcdefgh1"})  # fmt: skip
        assert naive.status_code == 400 and "UTC offset" in naive.json()["error"]
        broken = await client.post("/api/appointments", content=b"{not json", headers={**auth, "Idempotency-Key": "abcdefgh2",
                                                                       "Content-Type": "application/json"})  # fmt: skip
        assert broken.status_code == 400
        made = await client.post(
            "/api/appointments", json=slot, headers={**auth, "Idempotency-Key": "abcdefgh3"}
        )
        assert made.status_code == 201, made.text
        taken = await client.post("/api/appointments", json={**slot, "patient_phone": "8295550000"},
                                  headers={**auth, "Idempotency-Key": "abcdefgh4"})  # fmt: skip
        assert taken.status_code == 409 and taken.json()["error"]
        assert (await client.get("/api/appointments/..%2F..%2Fetc", headers=auth)).status_code in (400, 404)
        missing = await client.get("/api/appointments/doesnotexist", headers=auth)
        assert missing.status_code == 404 and "no appointment" in missing.json()["error"]
        bad_day = await client.get(
            "/api/appointments/slots", params={"service_id": "cardiologia", "date": "jueves"}, headers=auth
        )
        assert bad_day.status_code == 400 and "date" in bad_day.json()["error"]
        listed = await client.get("/api/appointments", params={"phone": "8095557777"}, headers=auth)
        assert [a["id"] for a in listed.json()["appointments"]] == [made.json()["id"]]


async def test_an_unreachable_booking_system_is_one_clear_error() -> None:
    from tests.support.servers import free_port

    adapter = HttpAppointments(
        AppointmentsSettings(url=f"http://127.0.0.1:{free_port()}", retries=1, timeout_s=1)
    )
    with pytest.raises(AppointmentsUnavailable, match="ConnectError"):
        await adapter.catalogue()
    await adapter.aclose()
