"""The built-in appointments service, in PostgreSQL (the embedded default of the Appointments port).

Free slots are the doctors' working hours cut into the service's length, less what is booked and what is
past. Booking relies on the database: the no_double_booking exclusion constraint makes two bookings of one
doctor's time impossible, so of two callers racing for a slot exactly one wins and the other gets SlotTaken.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import asyncpg

from adapters.postgres import Database
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

_COLUMNS = """a.id, a.doctor_id, d.name AS doctor_name, a.service_id, a.site_id, a.patient_name, a.patient_phone,
              a.starts_at, a.ends_at, a.status"""

Hours = tuple[str, int, tuple[time, time]]  # site id, weekday (Monday is 0), from and until


@dataclass(frozen=True)
class CentreSeed:
    """A centre's sites, services, doctors and their working hours, for an empty built-in service."""

    sites: Sequence[tuple[str, str, str]]  # id, name, address
    services: Sequence[tuple[str, str, int]]  # id, name, minutes
    doctors: Sequence[tuple[str, str, str, Sequence[Hours]]]  # id, name, service id, hours


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if not 10 <= len(digits) <= 15:
        raise ValueError(f"{phone!r} is not a phone number (10 to 15 digits)")
    return digits


class BuiltInAppointments:
    """``now`` is the clinic's clock and ``timezone`` its zone: doctors' hours are local times there."""

    def __init__(self, database: Database, now: Callable[[], datetime], timezone: tzinfo) -> None:
        self.db = database
        self._now = now
        self._timezone = timezone

    async def seed(self, centre: CentreSeed) -> bool:
        """Load ``centre``'s sites, services, doctors and hours if there are none yet."""
        async with self.db.pool.acquire() as connection, connection.transaction():
            if await connection.fetchval("SELECT count(*) FROM doctors"):
                return False
            await connection.executemany("INSERT INTO sites VALUES ($1, $2, $3)", centre.sites)
            await connection.executemany("INSERT INTO services VALUES ($1, $2, $3)", centre.services)
            await connection.executemany(
                "INSERT INTO doctors VALUES ($1, $2, $3)", [(i, n, s) for i, n, s, _ in centre.doctors]
            )
            await connection.executemany(
                "INSERT INTO working_hours VALUES ($1, $2, $3, $4, $5)",
                [(i, site, day, a, b) for i, _n, _s, hours in centre.doctors for site, day, (a, b) in hours],
            )
        return True

    async def catalogue(self) -> Catalogue:
        services = await self.db.fetch("SELECT id, name, minutes FROM services ORDER BY name")
        doctors = await self.db.fetch(
            """SELECT d.id, d.name, d.service_id,
                      array(SELECT DISTINCT w.site_id FROM working_hours w WHERE w.doctor_id = d.id
                            ORDER BY w.site_id) AS site_ids
               FROM doctors d ORDER BY d.service_id, d.id"""
        )
        sites = await self.db.fetch("SELECT id, name, address FROM sites ORDER BY id")
        return Catalogue(
            tuple(Service(r["id"], r["name"], r["minutes"]) for r in services),
            tuple(Doctor(r["id"], r["name"], r["service_id"], tuple(r["site_ids"])) for r in doctors),
            tuple(Site(r["id"], r["name"], r["address"]) for r in sites),
        )

    async def list_available_slots(
        self,
        service_id: str,
        day: date,
        site_id: str | None = None,
        doctor_id: str | None = None,
        limit: int = 10,
    ) -> list[Slot]:
        hours = await self.db.fetch(
            """SELECT w.doctor_id, d.name, d.service_id, w.site_id, w.starts, w.ends, s.minutes
               FROM working_hours w JOIN doctors d ON d.id = w.doctor_id JOIN services s ON s.id = d.service_id
               WHERE d.service_id = $1 AND w.weekday = $2 AND ($3::text IS NULL OR w.site_id = $3)
                 AND ($4::text IS NULL OR w.doctor_id = $4)
               ORDER BY w.starts, w.doctor_id""",
            service_id, day.weekday(), site_id, doctor_id,
        )  # fmt: skip
        if not hours:
            await self._check_known(service_id, site_id, doctor_id)
            return []
        day_start = datetime.combine(day, time(0), self._timezone)
        booked = await self.db.fetch(
            """SELECT doctor_id, starts_at, ends_at FROM appointments
               WHERE status = 'booked' AND doctor_id = ANY($1::text[]) AND starts_at < $3 AND ends_at > $2""",
            list({h["doctor_id"] for h in hours}), day_start, day_start + timedelta(days=1),
        )  # fmt: skip
        now = self._now()
        slots: list[Slot] = []
        for h in hours:
            length = timedelta(minutes=h["minutes"])
            start = datetime.combine(day, h["starts"], self._timezone)
            end = datetime.combine(day, h["ends"], self._timezone)
            while start + length <= end:
                taken = any(
                    b["doctor_id"] == h["doctor_id"]
                    and b["starts_at"] < start + length
                    and b["ends_at"] > start
                    for b in booked
                )
                if start > now and not taken:
                    slots.append(
                        Slot(h["doctor_id"], h["name"], h["service_id"], h["site_id"], start, start + length)
                    )
                start += length
        slots.sort(key=lambda s: (s.starts_at, s.doctor_id))
        return slots[:limit]

    async def book(
        self, slot: Slot, patient_name: str, patient_phone: str, idempotency_key: str | None = None
    ) -> Appointment:
        name = " ".join(patient_name.split())
        if not 2 <= len(name) <= 120:
            raise ValueError("the patient's name must be 2 to 120 characters")
        phone = normalize_phone(patient_phone)
        if slot.starts_at <= self._now():
            raise SlotTaken("that time has already passed")
        if idempotency_key:
            earlier = await self._by_key(idempotency_key)
            if earlier is not None:
                return _same_request(earlier, slot, phone)
        if not await self._within_hours(slot):
            raise SlotTaken("the doctor does not work at that time")
        try:
            await self.db.pool.execute(
                """INSERT INTO appointments (id, doctor_id, site_id, service_id, patient_name, patient_phone,
                                             starts_at, ends_at, idempotency_key)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                uuid.uuid4().hex[:12], slot.doctor_id, slot.site_id, slot.service_id, name, phone,
                slot.starts_at, slot.ends_at, idempotency_key,
            )  # fmt: skip
        except asyncpg.ExclusionViolationError:
            raise SlotTaken("that time was just booked by someone else") from None
        except asyncpg.UniqueViolationError:
            earlier = await self._by_key(idempotency_key or "")
            if earlier is None:
                raise
            return _same_request(earlier, slot, phone)  # the same request, retried at the same moment
        found = await self._by_key(idempotency_key) if idempotency_key else None
        return found or (await self._latest(slot, phone))

    async def cancel(self, appointment_id: str) -> Appointment:
        rows = await self.db.fetch(
            "UPDATE appointments SET status = 'cancelled', updated_at = now() WHERE id = $1 RETURNING id",
            appointment_id,
        )
        if not rows:
            raise AppointmentNotFound(appointment_id)
        return await self.get(appointment_id)

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment:
        current = await self.get(appointment_id)
        if current.status != "booked":
            raise AppointmentNotFound(f"{appointment_id} is cancelled")
        moved = Slot(
            current.doctor_id, current.doctor_name, current.service_id, current.site_id,
            starts_at, starts_at + (current.ends_at - current.starts_at),
        )  # fmt: skip
        if starts_at <= self._now() or not await self._within_hours(moved):
            raise SlotTaken("the doctor does not work at that time")
        try:
            await self.db.pool.execute(
                "UPDATE appointments SET starts_at = $2, ends_at = $3, updated_at = now() WHERE id = $1",
                appointment_id, moved.starts_at, moved.ends_at,
            )  # fmt: skip
        except asyncpg.ExclusionViolationError:
            raise SlotTaken("that time is already booked") from None
        return await self.get(appointment_id)

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        rows = await self.db.fetch(
            f"""SELECT {_COLUMNS} FROM appointments a JOIN doctors d ON d.id = a.doctor_id
                WHERE a.patient_phone = $1 AND a.status = 'booked' AND a.ends_at > $2 ORDER BY a.starts_at""",
            normalize_phone(patient_phone), self._now(),
        )  # fmt: skip
        return [_appointment(r) for r in rows]

    async def upcoming(self, limit: int = 500) -> list[Appointment]:
        """Every booked appointment not yet over, soonest first (the built-in service's own listing)."""
        rows = await self.db.fetch(
            f"""SELECT {_COLUMNS} FROM appointments a JOIN doctors d ON d.id = a.doctor_id
                WHERE a.status = 'booked' AND a.ends_at > $1 ORDER BY a.starts_at LIMIT $2""",
            self._now(), limit,
        )  # fmt: skip
        return [_appointment(r) for r in rows]

    async def purge(self, ids: Sequence[str], idempotency_keys: Sequence[str] = ()) -> list[str]:
        """Delete these appointments outright, whatever their status, and those booked under these keys: the
        ids deleted. Not for patients' bookings (those are cancelled, and the record stays): for what an
        evaluation run wrote, which must leave nothing in the agenda. The keys find a booking whose answer never
        came back (the run interrupted while the INSERT was in flight), so its id was never known."""
        rows = await self.db.fetch(
            "DELETE FROM appointments WHERE id = ANY($1::text[]) OR idempotency_key = ANY($2::text[]) RETURNING id",
            list(ids), list(idempotency_keys),
        )  # fmt: skip
        return [r["id"] for r in rows]

    async def get(self, appointment_id: str) -> Appointment:
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM appointments a JOIN doctors d ON d.id = a.doctor_id WHERE a.id = $1",
            appointment_id,
        )
        if not rows:
            raise AppointmentNotFound(appointment_id)
        return _appointment(rows[0])

    async def _check_known(self, service_id: str, site_id: str | None, doctor_id: str | None) -> None:
        """ValueError naming the first id that does not exist (a typo is not the same as a full day)."""
        for table, value in (("services", service_id), ("sites", site_id), ("doctors", doctor_id)):
            if value is not None and not await self.db.fetch(f"SELECT 1 FROM {table} WHERE id = $1", value):
                raise ValueError(f"unknown {table[:-1]} {value!r}")

    async def _by_key(self, key: str) -> Appointment | None:
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM appointments a JOIN doctors d ON d.id = a.doctor_id WHERE a.idempotency_key = $1",
            key,
        )
        return _appointment(rows[0]) if rows else None

    async def _latest(self, slot: Slot, phone: str) -> Appointment:
        rows = await self.db.fetch(
            f"""SELECT {_COLUMNS} FROM appointments a JOIN doctors d ON d.id = a.doctor_id
                WHERE a.doctor_id = $1 AND a.starts_at = $2 AND a.patient_phone = $3 AND a.status = 'booked'""",
            slot.doctor_id, slot.starts_at, phone,
        )  # fmt: skip
        return _appointment(rows[0])

    async def _within_hours(self, slot: Slot) -> bool:
        """The slot is one of the doctor's: their service, at that site, on the grid of their working hours."""
        local = slot.starts_at.astimezone(self._timezone)
        end = slot.ends_at.astimezone(self._timezone)
        rows = await self.db.fetch(
            """SELECT w.starts, s.minutes FROM working_hours w JOIN doctors d ON d.id = w.doctor_id
                 JOIN services s ON s.id = d.service_id
               WHERE w.doctor_id = $1 AND w.site_id = $2 AND d.service_id = $3 AND w.weekday = $4
                 AND w.starts <= $5 AND w.ends >= $6""",
            slot.doctor_id, slot.site_id, slot.service_id, local.weekday(), local.time(), end.time(),
        )  # fmt: skip
        if not rows or local.date() != end.date():
            return False
        length = timedelta(minutes=rows[0]["minutes"])
        offset = datetime.combine(local.date(), local.time()) - datetime.combine(
            local.date(), rows[0]["starts"]
        )
        return end - local == length and offset % length == timedelta(0)


def _same_request(earlier: Appointment, slot: Slot, phone: str) -> Appointment:
    """A retried booking returns the first one; a key reused for another booking is refused."""
    if (earlier.doctor_id, earlier.starts_at, earlier.patient_phone) != (
        slot.doctor_id,
        slot.starts_at,
        phone,
    ):
        raise ValueError("this idempotency key was already used for a different booking")
    return earlier


def _appointment(row: Any) -> Appointment:
    return Appointment(**{name: row[name] for name in Appointment.__dataclass_fields__})
