"""The appointments REST API (/api/appointments): the built-in service's face, and the contract that
adapters/appointments_http.py speaks to an external booking system.

GET  /api/appointments/catalogue             services, doctors, sites
GET  /api/appointments/slots?service_id&date[&site_id&doctor_id&limit]
POST /api/appointments                       book; needs an Idempotency-Key header (a retry returns the first)
GET  /api/appointments?phone=...             a patient's upcoming appointments
GET  /api/appointments/upcoming[?site_id&doctor_id]  every upcoming appointment (the built-in service)
GET  /api/appointments/{id}
PATCH /api/appointments/{id}                 {"starts_at"}: reschedule with the same doctor
DELETE /api/appointments/{id}                cancel

Callers: a service with the API token (``TAINA_APPOINTMENTS_API_TOKEN``), or a person logged in (taina.auth):
reading needs the viewer role, booking, moving and cancelling the editor role. Booking, moving and cancelling
are written to the audit log (when the app has accounts), with who did it: the person, or "api_token".

Errors are JSON {"error": "..."}: 400 bad input, 401 missing or wrong token, 403 role too low, 404 unknown id,
409 slot taken.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, Field

from adapters.accounts_db import Role
from adapters.appointments_http import appointment_json, slot_json
from engine.ports.appointments import AppointmentNotFound, Slot, SlotTaken
from taina.auth import Auth, Principal
from taina.http.deps import AppointmentsDep, SettingsDep, auth_if_any
from taina.http.errors import ApiError
from taina.http.security import address as caller_address

AppointmentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="appointment id")]


class BookingRequest(BaseModel):
    doctor_id: str = Field(min_length=1, max_length=64)
    service_id: str = Field(min_length=1, max_length=64)
    site_id: str = Field(min_length=1, max_length=64)
    starts_at: datetime
    ends_at: datetime
    patient_name: str = Field(min_length=2, max_length=120)
    patient_phone: str = Field(min_length=1, max_length=24)
    doctor_name: str = Field(default="", max_length=200)


class RescheduleRequest(BaseModel):
    starts_at: datetime


def allowed(role: Role) -> Any:
    """A route's guard: the service's API token (TAINA_APPOINTMENTS_API_TOKEN), or a person of at least ``role``.
    With neither a token nor accounts the API is open (a library's own use, tests)."""

    async def check(
        request: Request,
        settings: SettingsDep,
        auth: Annotated[Auth | None, Depends(auth_if_any)],
        authorization: Annotated[str, Header()] = "",
    ) -> None:
        api_token = settings.appointments.api_token
        request.state.caller = None
        if api_token and hmac.compare_digest(authorization.encode(), f"Bearer {api_token}".encode()):
            return
        if auth is not None:
            request.state.caller = await auth.check(authorization, role)
        elif api_token:
            raise ApiError(401, "this API needs 'Authorization: Bearer <token>' with the right token")

    return Depends(check)


async def audit(
    request: Request, settings: SettingsDep, action: str, target: str, detail: dict[str, Any]
) -> None:
    """A change to an appointment in the audit log: who (the person, or the service's API token) and from where."""
    auth: Auth | None = getattr(request.app.state, "auth", None)
    if auth is None:
        return  # no accounts, so no audit log (a library's own use, tests)
    caller: Principal | None = getattr(request.state, "caller", None)
    by = {} if caller is not None else {"by": "api_token"}
    await auth.accounts.audit(
        action,
        caller.user_id if caller else None,
        target,
        {**detail, **by},
        address=caller_address(request, settings.http),
    )


reader, editor = [allowed("viewer")], [allowed("editor")]
router = APIRouter(prefix="/api/appointments", tags=["appointments"])


@router.get("/catalogue", dependencies=reader)
async def catalogue(appointments: AppointmentsDep) -> dict[str, Any]:
    return asdict(await appointments.catalogue())


@router.get("/slots", dependencies=reader)
async def slots(
    service_id: Annotated[str, Query(min_length=1, max_length=64)],
    day: Annotated[date, Query(alias="date")],
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    doctor_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 10,
    *,
    appointments: AppointmentsDep,
) -> dict[str, Any]:
    found = await _call(appointments.list_available_slots(service_id, day, site_id, doctor_id, limit))
    return {"slots": [slot_json(s) for s in found]}


@router.post("", status_code=201, dependencies=editor)
async def book(
    request: BookingRequest,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=128)],
    appointments: AppointmentsDep,
    http: Request,
    settings: SettingsDep,
) -> dict[str, Any]:
    slot = Slot(
        request.doctor_id, request.doctor_name, request.service_id, request.site_id,
        _aware(request.starts_at, "starts_at"), _aware(request.ends_at, "ends_at"),
    )  # fmt: skip
    booked = await _call(
        appointments.book(slot, request.patient_name, request.patient_phone, idempotency_key)
    )
    starts = booked.starts_at.isoformat()
    await audit(
        http, settings, "appointment_booked", booked.id, {"doctor_id": booked.doctor_id, "starts_at": starts}
    )
    return appointment_json(booked)


@router.get("/upcoming", dependencies=reader)
async def upcoming(
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    doctor_id: Annotated[str | None, Query(max_length=64)] = None,
    *,
    appointments: AppointmentsDep,
) -> dict[str, Any]:
    """Every booked appointment not yet over, soonest first, optionally of one site or doctor."""
    listing = getattr(appointments, "upcoming", None)
    if listing is None:
        raise ApiError(501, "the connected booking system does not list all appointments; search by phone")
    found = [
        a
        for a in await listing()
        if (site_id is None or a.site_id == site_id) and (doctor_id is None or a.doctor_id == doctor_id)
    ]
    return {"appointments": [appointment_json(a) for a in found]}


@router.get("", dependencies=reader)
async def by_phone(
    phone: Annotated[str, Query(min_length=1, max_length=24)], appointments: AppointmentsDep
) -> dict[str, Any]:
    return {"appointments": [appointment_json(a) for a in await _call(appointments.find_by_patient(phone))]}


@router.get("/{appointment_id}", dependencies=reader)
async def get(appointment_id: AppointmentId, appointments: AppointmentsDep) -> dict[str, Any]:
    return appointment_json(await _call(appointments.get(appointment_id)))


@router.patch("/{appointment_id}", dependencies=editor)
async def reschedule(
    appointment_id: AppointmentId,
    request: RescheduleRequest,
    appointments: AppointmentsDep,
    http: Request,
    settings: SettingsDep,
) -> dict[str, Any]:
    starts_at = _aware(request.starts_at, "starts_at")
    moved = await _call(appointments.reschedule(appointment_id, starts_at))
    await audit(
        http, settings, "appointment_moved", appointment_id, {"starts_at": moved.starts_at.isoformat()}
    )
    return appointment_json(moved)


@router.delete("/{appointment_id}", dependencies=editor)
async def cancel(
    appointment_id: AppointmentId, appointments: AppointmentsDep, http: Request, settings: SettingsDep
) -> dict[str, Any]:
    cancelled = await _call(appointments.cancel(appointment_id))
    await audit(http, settings, "appointment_cancelled", appointment_id, {})
    return appointment_json(cancelled)


async def _call(work: Any) -> Any:
    """The port's errors as HTTP answers."""
    try:
        return await work
    except SlotTaken as exc:
        raise ApiError(409, str(exc) or "that slot is taken") from None
    except AppointmentNotFound as exc:
        raise ApiError(404, f"no appointment {exc}") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ApiError(400, f"{name} needs a UTC offset (for example 2026-11-26T14:00:00-04:00)")
    return moment
