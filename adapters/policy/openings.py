"""A booking opened without the words for one: "es pa medicina general en Santiago, el sábado" names a service
and a day; "ok, pa este sábado a las nueve", right after a question about a doctor or service, books with them.
A receptionist hears both as a request for an appointment."""

from __future__ import annotations

import re
from datetime import datetime

from adapters.policy.details import find_details
from adapters.policy.intents import asks_in_passing, is_question
from adapters.policy.when import parse_when, plain
from engine.ports.appointments import Catalogue

_FOR = re.compile(r"\b(?:pa|para|pal)\b")


def opens_booking(said: str, earlier: str, catalogue: Catalogue, now: datetime) -> bool:
    """``said`` asks nothing, gives a day "for" something or a time, and names a service or doctor, or follows
    ``earlier``, a question about one."""
    if not said or is_question(said) or asks_in_passing(said):
        return False
    when = parse_when(said, now)
    if when.day is None and when.at is None:
        return False
    if when.at is None and not _FOR.search(plain(said)):
        return False  # "el cardiólogo atiende el sábado" asks, with no question mark
    details = find_details(said, catalogue)
    if details.service_named or details.doctor_id:
        return True
    before = find_details(earlier, catalogue) if earlier else None
    return before is not None and (before.service_named or before.doctor_id is not None)
