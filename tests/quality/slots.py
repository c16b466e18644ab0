"""Whether a labelled dialogue's expected appointment is a real slot of the sample clinic's built-in appointments:
the doctor works that weekday at that site, the time is on the grid of the service's length, and it is after the
suite's clock. Shared by the held-out sets' tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from taina.clinic.sample import SAMPLE_CENTRE
from taina.eval.suite import Conversation


def slot_problem(conversation: Conversation, now: datetime) -> str | None:
    """Why ``conversation``'s expected appointment is not a bookable slot, or None when it is."""
    minutes = {service_id: length for service_id, _name, length in SAMPLE_CENTRE.services}
    doctors = {doctor_id: (service, hours) for doctor_id, _name, service, hours in SAMPLE_CENTRE.doctors}
    wanted = conversation.expect_appointment
    service, hours = doctors[wanted["doctor_id"]]
    length = timedelta(minutes=minutes[service])
    starts = datetime.fromisoformat(wanted["starts_at"])
    if starts <= now:
        return f"{conversation.id}: {starts} is not after the suite's clock"
    day = starts.date()
    fits = [
        site
        for site, weekday, (since, until) in hours
        if site == wanted["site_id"] and weekday == starts.weekday()
        and datetime.combine(day, since) <= starts and starts + length <= datetime.combine(day, until)
        and (starts - datetime.combine(day, since)) % length == timedelta(0)
    ]  # fmt: skip
    return (
        None
        if fits
        else f"{conversation.id}: {wanted['doctor_id']} has no slot at {wanted['site_id']} {starts}"
    )
