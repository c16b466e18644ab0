"""The appointments domain: what can be booked, and the booking system's port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Slot:
    doctor_id: str
    doctor_name: str
    service_id: str
    site_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    doctor_id: str
    doctor_name: str
    service_id: str
    site_id: str
    patient_name: str
    patient_phone: str
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    minutes: int


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    name: str
    service_id: str
    site_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    address: str


@dataclass(frozen=True)
class Catalogue:
    """What can be booked: the centre's services, doctors and sites."""

    services: tuple[Service, ...]
    doctors: tuple[Doctor, ...]
    sites: tuple[Site, ...]


class SlotTaken(RuntimeError):
    """The slot was booked by someone else (or is not free any more); another one must be chosen."""


class AppointmentNotFound(LookupError):
    pass


class Appointments(Protocol):
    """A booking system: the built-in one, or an external one over HTTP.

    Bad arguments (an unknown service, a malformed phone) raise ValueError with a message for the caller.
    """

    async def catalogue(self) -> Catalogue: ...

    async def list_available_slots(
        self,
        service_id: str,
        day: date,
        site_id: str | None = None,
        doctor_id: str | None = None,
        limit: int = 10,
    ) -> list[Slot]: ...

    async def book(
        self, slot: Slot, patient_name: str, patient_phone: str, idempotency_key: str | None = None
    ) -> Appointment: ...

    async def cancel(self, appointment_id: str) -> Appointment: ...

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment: ...

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        """The patient's upcoming booked appointments, soonest first."""

    async def get(self, appointment_id: str) -> Appointment: ...
