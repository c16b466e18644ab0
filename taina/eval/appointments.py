"""What an evaluation run writes in the appointments system, remembered and undone when the run ends.

A suite's scripted callers book, move and cancel real appointments through the App's appointments port. Left
there, they fill a clinic's agenda with test patients and make the next run differ (the slot the first run
booked is taken, so a caller expecting 9:00 is offered 9:20). ``RunAppointments`` stands in for the port during
the run: every call goes to the real system, and the ids it writes are kept. ``undo`` then removes them: the
built-in system deletes the rows outright (nothing of the run stays, not even a cancelled record); an external
system can only cancel, so its bookings are cancelled through it. An external system is written to only when
the run was told it may (``taina eval --live-appointments``): otherwise a write raises ``LiveWritesRefused``
(the tool fails, the caller hears an apology, nothing is written; the CLI refuses such a suite before it starts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog

from adapters.appointments_db import BuiltInAppointments
from engine.ports.appointments import Appointment, AppointmentNotFound, Appointments, Catalogue, Slot

log = structlog.get_logger("taina.eval")


class LiveWritesRefused(RuntimeError):
    """The run tried to write in an external appointments system without ``--live-appointments``."""


class NotTheRunsAppointment(RuntimeError):
    """The run tried to move or cancel an appointment it did not book: one that was in the agenda before it
    (a real patient's, if a suite ever used a real name and phone). An evaluation never changes those."""


@dataclass
class Cleanup:
    """What the run wrote and what was removed at its end (appointments from before the run are never touched:
    ``NotTheRunsAppointment``). ``left`` names what could not be removed, with the reason."""

    made: int
    removed: int
    how: str = "deleted"  # or "cancelled in the external system"
    left: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"appointments made by this run: {self.made}, removed: {self.removed}"
        if self.how != "deleted" and self.made:
            text += f"; {self.how}"
        if self.left:
            text += f"; NOT REMOVED: {', '.join(self.left)}"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "made": self.made,
            "removed": self.removed,
            "how": self.how,
            "left": self.left,
        }


class RunAppointments:
    """The appointments port for one evaluation run: ``inner``'s answers, with every id the run writes kept."""

    def __init__(self, inner: Appointments, writes: bool = True) -> None:
        self.inner = inner
        self._writes = writes
        self.made: list[str] = []  # booked by the run, or the new appointment of a move
        self.keys: list[str] = []  # the idempotency keys of its bookings, kept before each is sent

    async def catalogue(self) -> Catalogue:
        return await self.inner.catalogue()

    async def list_available_slots(
        self,
        service_id: str,
        day: date,
        site_id: str | None = None,
        doctor_id: str | None = None,
        limit: int = 10,
    ) -> list[Slot]:
        return await self.inner.list_available_slots(service_id, day, site_id, doctor_id, limit)

    async def book(
        self, slot: Slot, patient_name: str, patient_phone: str, idempotency_key: str | None = None
    ) -> Appointment:
        self._may_write()
        key = idempotency_key or uuid.uuid4().hex
        self.keys.append(key)  # before the call: an interrupted booking is found by its key at the end
        booked = await self.inner.book(slot, patient_name, patient_phone, key)
        self._made(booked.id)
        return booked

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Appointment:
        self._may_write()
        self._own(appointment_id)
        moved = await self.inner.reschedule(appointment_id, starts_at)
        if moved.id != appointment_id:  # an external system may make the moved appointment a new one
            self._made(moved.id)
        return moved

    async def cancel(self, appointment_id: str) -> Appointment:
        self._may_write()
        self._own(appointment_id)
        return await self.inner.cancel(appointment_id)

    async def find_by_patient(self, patient_phone: str) -> list[Appointment]:
        return await self.inner.find_by_patient(patient_phone)

    async def get(self, appointment_id: str) -> Appointment:
        return await self.inner.get(appointment_id)

    def _may_write(self) -> None:
        if not self._writes:
            raise LiveWritesRefused(
                "the run tried to write in the external appointments system; give --live-appointments to allow it"
            )

    def _made(self, appointment_id: str) -> None:
        if appointment_id not in self.made:
            self.made.append(appointment_id)

    def _own(self, appointment_id: str) -> None:
        if appointment_id not in self.made:
            raise NotTheRunsAppointment(
                f"appointment {appointment_id} was in the agenda before this evaluation run: it is left as it is"
            )

    async def undo(self) -> Cleanup:
        """Remove everything the run wrote: deleted in the built-in system, cancelled in an external one. Then
        each appointment the run made is looked up again, so "removed" is what is really out of the agenda."""
        made = list(self.made)
        if isinstance(self.inner, BuiltInAppointments):
            deleted = await self.inner.purge(self.made, self.keys)
            made += [i for i in deleted if i not in made]  # known by their key only
            cleanup = Cleanup(len(made), 0)
        else:
            cleanup = Cleanup(len(made), 0, "cancelled in the external system")
            for appointment_id in made:
                reason = await self._cancel_at_end(appointment_id)
                if reason:
                    cleanup.left.append(f"{appointment_id} ({reason})")
        for appointment_id in made:
            if not await self._in_agenda(appointment_id):
                cleanup.removed += 1
            elif not any(left.startswith(appointment_id) for left in cleanup.left):
                cleanup.left.append(appointment_id)
        if cleanup.left:
            log.warning("eval.appointments_left", left=cleanup.left)
        return cleanup

    async def _cancel_at_end(self, appointment_id: str) -> str:
        """Cancel one appointment the run wrote, unless it already is: the reason it could not be, or ""."""
        try:
            if await self._in_agenda(appointment_id):
                await self.inner.cancel(appointment_id)
        except Exception as exc:  # one failure must not keep the others booked; each is reported
            return f"{type(exc).__name__}: {exc}"
        return ""

    async def _in_agenda(self, appointment_id: str) -> bool:
        try:
            return (await self.inner.get(appointment_id)).status != "cancelled"
        except AppointmentNotFound:
            return False
