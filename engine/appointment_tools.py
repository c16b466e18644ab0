"""The appointment tools a language model books with, over the Appointments port, one instance per conversation.

Guard rails the model cannot talk its way around:
- a slot is booked only if list_available_slots offered it in this conversation, and only with
  ``patient_confirmed`` true (the system prompt asks for a spoken confirmation first);
- an appointment is read out, moved or cancelled only if find_appointments found it in this conversation for
  the caller's phone AND the patient's full name as booked (a phone number alone reveals nothing: a name that
  does not match finds nothing, exactly as a phone without appointments);
- a booking carries an idempotency key made from the conversation, the slot and the phone, so a retry (by the
  model, or by the HTTP adapter underneath) never books twice.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.ports.appointments import (
    Appointment,
    AppointmentNotFound,
    Appointments,
    Catalogue,
    Slot,
    SlotTaken,
)
from engine.ports.language import ToolSpec
from engine.spoken import written_moment, written_phone
from engine.tools import Tool, ToolError, ToolResult

DATE = r"\d{4}-\d{2}-\d{2}"
TIME = r"([01]\d|2[0-3]):[0-5]\d"
PHONE = r"[0-9+()\s.-]{10,24}"
PARTS_OF_DAY = {"mañana": (0, 12), "tarde": (12, 18), "noche": (18, 24)}


def slot_id(slot: Slot) -> str:
    """'tavarez@santiago@2026-11-26T19:40Z': readable, and the same whoever lists the slot."""
    return f"{slot.doctor_id}@{slot.site_id}@{slot.starts_at.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


class AppointmentTools:
    def __init__(
        self,
        appointments: Appointments,
        catalogue: Catalogue,
        conversation_id: str,
        now: Callable[[], datetime],
    ) -> None:
        self.appointments = appointments
        self.catalogue = catalogue
        self._conversation = conversation_id
        self._now = now
        self._offered: dict[str, Slot] = {}
        self._found: dict[str, Appointment] = {}
        self._sites = {site.id: site for site in catalogue.sites}
        self._services = {service.id: service for service in catalogue.services}

    def tools(self) -> list[Tool]:
        services = sorted(self._services)
        sites = sorted(self._sites)
        doctors = sorted(d.id for d in self.catalogue.doctors)
        return [
            Tool(
                ToolSpec(
                    "list_available_slots",
                    "Free appointment times for a service on one day (the clinic's local time), soonest first. "
                    "Always call it before offering or booking a time.",
                    _schema(
                        {
                            "service_id": {"type": "string", "enum": services},
                            "date": {"type": "string", "pattern": DATE, "description": "YYYY-MM-DD"},
                            "site_id": {"type": ["string", "null"], "enum": [*sites, None]},
                            "doctor_id": {"type": ["string", "null"], "enum": [*doctors, None]},
                            "part_of_day": {"type": ["string", "null"], "enum": [*PARTS_OF_DAY, None]},
                            "from_time": {
                                "type": ["string", "null"],
                                "pattern": TIME,
                                "description": "HH:MM, only slots starting then or later",
                            },
                            "days": {
                                "type": ["integer", "null"],
                                "description": "search this many days from date (1-14, default 1) and "
                                "return the first day with free slots",
                            },
                        },
                        required=[
                            "service_id",
                            "date",
                            "site_id",
                            "doctor_id",
                            "part_of_day",
                            "from_time",
                            "days",
                        ],
                    ),
                ),
                self._list_slots,
            ),
            Tool(
                ToolSpec(
                    "book_appointment",
                    "Book a slot that list_available_slots returned, after the patient confirmed aloud the "
                    "service, doctor, site, date, time, their name and their phone.",
                    _schema(
                        {
                            "slot_id": {"type": "string"},
                            "patient_name": {"type": "string"},
                            "patient_phone": {"type": "string", "pattern": PHONE, "description": "10 digits"},
                            "patient_confirmed": {"type": "boolean"},
                        },
                        required=["slot_id", "patient_name", "patient_phone", "patient_confirmed"],
                    ),
                ),
                self._book,
                writes=True,
            ),
            Tool(
                ToolSpec(
                    "find_appointments",
                    "The caller's upcoming appointments, by the phone number they booked with and the "
                    "patient's full name as booked (ask for both; an appointment is found only if both match).",
                    _schema(
                        {
                            "patient_phone": {"type": "string", "pattern": PHONE, "description": "10 digits"},
                            "patient_name": {"type": "string", "description": "first name and surname(s)"},
                        },
                        required=["patient_phone", "patient_name"],
                    ),
                ),
                self._find,
            ),
            Tool(
                ToolSpec(
                    "reschedule_appointment",
                    "Move an appointment found by find_appointments to a slot of the same doctor that "
                    "list_available_slots returned, after the patient confirmed aloud.",
                    _schema(
                        {
                            "appointment_id": {"type": "string"},
                            "slot_id": {"type": "string"},
                            "patient_confirmed": {"type": "boolean"},
                        },
                        required=["appointment_id", "slot_id", "patient_confirmed"],
                    ),
                ),
                self._reschedule,
                writes=True,
            ),
            Tool(
                ToolSpec(
                    "cancel_appointment",
                    "Cancel an appointment found by find_appointments, after the patient confirmed aloud.",
                    _schema(
                        {"appointment_id": {"type": "string"}, "patient_confirmed": {"type": "boolean"}},
                        required=["appointment_id", "patient_confirmed"],
                    ),
                ),
                self._cancel,
                writes=True,
            ),
        ]

    # -- the tools --------------------------------------------------------------------------------------------

    async def _list_slots(self, args: dict[str, Any]) -> ToolResult:
        try:
            first = date.fromisoformat(args["date"])
        except ValueError:
            raise ToolError(f"{args['date']!r} is not a date") from None
        today = self._now().date()
        if first < today:
            raise ToolError(f"{first.isoformat()} is in the past; today is {today.isoformat()}")
        days = args.get("days") or 1
        if not 1 <= days <= 14:
            raise ToolError("days must be 1 to 14")
        for offset in range(days):
            day = first + timedelta(days=offset)
            slots = await self._slots_on(day, args)
            if slots:
                break
        for slot in slots:
            self._offered[slot_id(slot)] = slot
        return {
            "date": day.isoformat(),
            "slots": [self._slot_json(s) for s in slots[:12]],
            "more": len(slots) > 12,
        }

    async def _slots_on(self, day: date, args: dict[str, Any]) -> list[Slot]:
        try:
            slots = await self.appointments.list_available_slots(
                args["service_id"], day, args.get("site_id"), args.get("doctor_id"), limit=200
            )
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        part = args.get("part_of_day")
        if part:
            start, end = PARTS_OF_DAY[part]
            slots = [s for s in slots if start <= self._local(s.starts_at).hour < end]
        if args.get("from_time"):
            earliest = time.fromisoformat(args["from_time"])
            slots = [s for s in slots if self._local(s.starts_at).time() >= earliest]
        return slots

    async def _book(self, args: dict[str, Any]) -> ToolResult:
        slot = self._offered_slot(args["slot_id"])
        _require_confirmation(args)
        key = hashlib.sha256(
            f"{self._conversation}|{slot_id(slot)}|{re.sub(r'[^0-9]', '', args['patient_phone'])}".encode()
        ).hexdigest()[:32]
        try:
            booked = await self.appointments.book(slot, args["patient_name"], args["patient_phone"], key)
        except SlotTaken as exc:
            self._offered.pop(slot_id(slot), None)
            raise ToolError(f"that slot cannot be booked ({exc}); list the free slots again") from None
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        self._found[booked.id] = booked
        return {"booked": self._appointment_json(booked)}

    async def _find(self, args: dict[str, Any]) -> ToolResult:
        if len(_name_words(args["patient_name"])) < 2:
            raise ToolError("ask for the patient's full name (first name and surname) as the booking has it")
        try:
            booked = await self.appointments.find_by_patient(args["patient_phone"])
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        found = [a for a in booked if same_person(args["patient_name"], a.patient_name)]
        self._found.update((a.id, a) for a in found)
        if not found:  # the same answer whether the phone has no appointments or the name does not match
            return {
                "appointments": [],
                "note": "no upcoming appointment for that phone and that name; say so, and read out nothing",
            }
        return {"appointments": [self._appointment_json(a) for a in found]}

    async def _reschedule(self, args: dict[str, Any]) -> ToolResult:
        current = self._found_appointment(args["appointment_id"])
        slot = self._offered_slot(args["slot_id"])
        if slot.doctor_id != current.doctor_id or slot.site_id != current.site_id:
            raise ToolError(
                "the new slot must be with the same doctor at the same site; list that doctor's slots"
            )
        _require_confirmation(args)
        try:
            moved = await self.appointments.reschedule(current.id, slot.starts_at)
        except SlotTaken as exc:
            self._offered.pop(slot_id(slot), None)
            raise ToolError(f"that slot cannot be taken ({exc}); list the free slots again") from None
        except AppointmentNotFound:
            raise ToolError("that appointment no longer exists or was cancelled") from None
        self._found[moved.id] = moved
        return {"rescheduled": self._appointment_json(moved)}

    async def _cancel(self, args: dict[str, Any]) -> ToolResult:
        current = self._found_appointment(args["appointment_id"])
        _require_confirmation(args)
        try:
            cancelled = await self.appointments.cancel(current.id)
        except AppointmentNotFound:
            raise ToolError("that appointment no longer exists") from None
        self._found.pop(current.id, None)
        return {"cancelled": self._appointment_json(cancelled)}

    # -- helpers ----------------------------------------------------------------------------------------------

    def _offered_slot(self, wanted: str) -> Slot:
        slot = self._offered.get(wanted)
        if slot is None:
            raise ToolError(
                f"slot {wanted!r} was not offered in this conversation; call list_available_slots first"
            )
        return slot

    def _found_appointment(self, wanted: str) -> Appointment:
        found = self._found.get(wanted)
        if found is None:
            raise ToolError(
                f"appointment {wanted!r} is not known here; call find_appointments with the phone and the "
                "patient's full name first"
            )
        return found

    def _slot_json(self, slot: Slot) -> dict[str, Any]:
        return {
            "slot_id": slot_id(slot),
            "doctor_id": slot.doctor_id,
            "doctor": slot.doctor_name,
            "service_id": slot.service_id,
            "site_id": slot.site_id,
            "site": self._site_name(slot.site_id),
            "starts_at": self._local(slot.starts_at).isoformat(),
            "when": written_moment(self._local(slot.starts_at)),
        }

    def _appointment_json(self, appointment: Appointment) -> dict[str, Any]:
        service = self._services.get(appointment.service_id)
        return {
            "appointment_id": appointment.id,
            "status": appointment.status,
            "service_id": appointment.service_id,
            "doctor_id": appointment.doctor_id,
            "site_id": appointment.site_id,
            "service": service.name if service else appointment.service_id,
            "doctor": appointment.doctor_name,
            "site": self._site_name(appointment.site_id),
            "starts_at": self._local(appointment.starts_at).isoformat(),
            "when": written_moment(self._local(appointment.starts_at)),
            "patient_name": appointment.patient_name,
            "patient_phone": written_phone(appointment.patient_phone),
        }

    def _local(self, moment: datetime) -> datetime:
        """In the clinic's time zone (the one its clock is in)."""
        return moment.astimezone(self._now().tzinfo)

    def _site_name(self, site: str) -> str:
        return self._sites[site].name if site in self._sites else site


_PARTICLES = {"de", "del", "la", "las", "los", "y"}


def _name_words(name: str) -> list[str]:
    """'María  de la Cruz-Peña' -> ['maria', 'cruz', 'pena']: no accents, case, punctuation or particles."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [w for w in re.split(r"[^a-z0-9]+", bare) if w and w not in _PARTICLES]


def same_person(said: str, booked: str) -> bool:
    """Whether the name the caller gave is the booking's: the same words (accent- and case-insensitive), or
    the same but for the second surname missing on either side. A first name alone never matches."""
    given, known = _name_words(said), _name_words(booked)
    if len(given) < 2 or len(known) < 1:
        return False
    if given == known:
        return True
    shorter, longer = sorted((given, known), key=len)
    return len(longer) == len(shorter) + 1 and len(longer) >= 3 and longer[:-1] == shorter


def _require_confirmation(args: dict[str, Any]) -> None:
    if args.get("patient_confirmed") is not True:
        raise ToolError("read the details back to the patient and wait for their yes before this write")


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def describe_catalogue(catalogue: Catalogue) -> str:
    """The catalogue as lines for the system prompt: what can be booked, with which ids."""
    services = {s.id: s for s in catalogue.services}
    lines = [
        "Servicios (service_id): "
        + "; ".join(f"{s.name} ({s.id}, {s.minutes} min)" for s in catalogue.services)
    ]
    lines.append("Sedes (site_id): " + "; ".join(f"{s.name} ({s.id}), {s.address}" for s in catalogue.sites))
    lines.append(
        "Médicos (doctor_id): "
        + "; ".join(
            f"{d.name} ({d.id}), {services[d.service_id].name if d.service_id in services else d.service_id}, "
            f"sedes {', '.join(d.site_ids)}"
            for d in catalogue.doctors
        )
    )
    return "\n".join(lines)
