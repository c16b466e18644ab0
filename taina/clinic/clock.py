"""The clinic's time zone and clock: the real time in Santo Domingo, or a fixed moment (TAINA_NOW)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

CLINIC_TIMEZONE = ZoneInfo("America/Santo_Domingo")


def now_in_clinic(fixed: str = "") -> datetime:
    """The clinic's current time, or ``fixed`` (ISO 8601, as in TAINA_NOW) when given."""
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return (
            moment.replace(tzinfo=CLINIC_TIMEZONE)
            if moment.tzinfo is None
            else moment.astimezone(CLINIC_TIMEZONE)
        )
    return datetime.now(CLINIC_TIMEZONE)


@dataclass(frozen=True)
class ClinicClock:
    """A callable giving the clinic's current time; ``fixed`` (TAINA_NOW, ISO 8601) stops it at that moment."""

    timezone: ClassVar[ZoneInfo] = CLINIC_TIMEZONE
    fixed: str = ""

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        return now_in_clinic(self.fixed)
