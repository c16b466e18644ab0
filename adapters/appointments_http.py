"""The Appointments port over HTTP: an external booking system that speaks TAINA's appointments API.

The contract is the one this server exposes (taina/http/appointments.py); the contract tests run this adapter
against the built-in service over real HTTP. Every request has a time limit; a refused connection, a timeout,
a 429 or a 5xx is retried with backoff. Retries never book twice: a booking always carries an Idempotency-Key
(made up here when the caller gave none), the same on every attempt, so the server returns the first booking.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any, ClassVar

import httpx
import structlog

from adapters.http_retry import backoff_s, error_text, retryable
from engine.options import Section, knob
from engine.ports.appointments import (
    Appointment,
    AppointmentNotFound,
    Catalogue,
    Doctor,
    Service,
    Site,
    Slot,
    SlotTaken,
)


class AppointmentsSettings(Section):
    prefix: ClassVar[str] = "TAINA_APPOINTMENTS"
    url: str = knob(
        "",
        "An external booking system speaking TAINA's appointments API; empty means the built-in service.",
        env="APPOINTMENTS_URL",
        form=(r"^$|^https?://", "be an http(s) URL"),
    )
    token: str = knob("", "Bearer token sent to APPOINTMENTS_URL.", env="APPOINTMENTS_TOKEN", secret=True)
    timeout_s: float = knob(5.0, "Time limit of one request to the booking system, in s.", gt=0, le=120)
    retries: int = knob(
        2, "Retries after a failed connection, a timeout or a 5xx (bookings carry a key).", ge=0, le=10
    )
    api_token: str = knob(
        "",
        "When set, this server's /api/appointments routes need 'Authorization: Bearer <token>'.",
        secret=True,
    )
    seed_sample: bool = knob(
        True, "Load the sample centre's services, doctors and hours into an empty built-in service."
    )


log = structlog.get_logger("taina.appointments")


class AppointmentsUnavailable(RuntimeError):
    """The booking system could not be reached or kept failing."""


class HttpAppointments:
    def __init__(self, settings: AppointmentsSettings, client: httpx.AsyncClient | None = None) -> None:
        self._base = settings.url.rstrip("/") + "/api/appointments"
        self._retries = settings.retries
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def catalogue(self) -> Catalogue:
        body = await self._request("GET", "/catalogue")
        return Catalogue(
            tuple(Service(s["id"], s["name"], int(s["minutes"])) for s in body["services"]),
            tuple(Doctor(d["id"], d["name"], d["service_id"], tuple(d["site_ids"])) for d in body["doctors"]),
            tuple(Site(s["id"], s["name"], s.get("address", "")) for s in body["sites"]),
        )

    async def list_available_slots(
        self,
        service_id: str,
        day: date,
        site_id: str | None = None,
        doctor_id: str | None = None,
        limit: int = 10,
    ) -> list[Slot]:
        params = {"service_id": service_id, "date": day.isoformat(), "limit": str(limit)}
        params |= {k: v for k, v in (("site_id", site_id), ("doctor_id", doctor_id)) if v}
        body = await self._request("GET", "/slots", params=params)
        return [slot_from_json(s) for s in body["slots"]]

    async def book(
        self, slot: Slot, patient_name: str, patient_phone: str, idempotency_key: str | None = None
    ) -> Appointment:
        key = idempotency_key or uuid.uuid4().hex
        payload = {**slot_json(slot), "patient_name": patient_name, "patient_phone": patient_phone}
        body = await self._request("POST", "", json=payload, headers={"Idempotency-Key": key})
        return appointment_from_json(body)

    async def cancel(self, appointment_id: str) -> Appointment:
        return appointment_from_json(await self._request("DELETE", f"/{_segment(appointment_id)}"))

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment:
        payload = {"starts_at": starts_at.isoformat()}
        return appointment_from_json(
            await self._request("PATCH", f"/{_segment(appointment_id)}", json=payload)
        )

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        body = await self._request("GET", "", params={"phone": patient_phone})
        return [appointment_from_json(a) for a in body["appointments"]]

    async def get(self, appointment_id: str) -> Appointment:
        return appointment_from_json(await self._request("GET", f"/{_segment(appointment_id)}"))

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self._base + path
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # timeouts included
                if last:
                    raise AppointmentsUnavailable(
                        f"{method} {url}: {type(exc).__name__} {exc}".strip()
                    ) from None
                await self._wait(attempt, None, str(exc) or type(exc).__name__)
                continue
            if retryable(response.status_code) and not last:
                await self._wait(attempt, response, f"status {response.status_code}")
                continue
            return _answer(method, url, response)
        raise AppointmentsUnavailable(f"{method} {url}: no answer")  # unreachable: the loop returns or raises

    async def _wait(self, attempt: int, response: httpx.Response | None, reason: str) -> None:
        delay = backoff_s(attempt, response, base_s=0.2)
        log.warning("appointments.retry", reason=reason, attempt=attempt + 1, delay_s=delay)
        await asyncio.sleep(delay)


def _answer(method: str, url: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status == 404:
        raise AppointmentNotFound(error_text(response))
    if status == 409:
        raise SlotTaken(error_text(response))
    if status in (400, 422):
        raise ValueError(error_text(response))
    if status >= 300:
        raise AppointmentsUnavailable(f"{method} {url} answered {status} {error_text(response)}")
    try:
        return response.json()
    except ValueError:
        raise AppointmentsUnavailable(f"{method} {url} answered with something that is not JSON") from None


def _segment(appointment_id: str) -> str:
    if not appointment_id or not appointment_id.replace("-", "").replace("_", "").isalnum():
        raise AppointmentNotFound(appointment_id)
    return appointment_id


def slot_json(slot: Slot) -> dict[str, Any]:
    return {
        "doctor_id": slot.doctor_id,
        "doctor_name": slot.doctor_name,
        "service_id": slot.service_id,
        "site_id": slot.site_id,
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
    }


def slot_from_json(data: dict[str, Any]) -> Slot:
    return Slot(
        data["doctor_id"],
        data.get("doctor_name", ""),
        data["service_id"],
        data["site_id"],
        datetime.fromisoformat(data["starts_at"]),
        datetime.fromisoformat(data["ends_at"]),
    )


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    data = {name: getattr(appointment, name) for name in Appointment.__dataclass_fields__}
    data["starts_at"] = appointment.starts_at.isoformat()
    data["ends_at"] = appointment.ends_at.isoformat()
    return data


def appointment_from_json(data: dict[str, Any]) -> Appointment:
    values = {name: data[name] for name in Appointment.__dataclass_fields__}
    values["starts_at"] = datetime.fromisoformat(data["starts_at"])
    values["ends_at"] = datetime.fromisoformat(data["ends_at"])
    return Appointment(**values)
