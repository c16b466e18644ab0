"""When a person wants an appointment, from how they say it in (Dominican) Spanish.

"mañana a las tres y media", "el jueves que viene en la tarde", "pasado mañana temprano",
"el 5 de diciembre a las 10", "no, mejor a las cuatro". Times are the clinic's local time: "now" comes from
the caller (the app's clinic clock, taina/clinic/clock.py), so tests can fix it (TAINA_NOW).

A bare hour from 1 to 6 means the afternoon ("a las tres" is 15:00): nobody books a clinic at 3 a.m.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

PartOfDay = Literal["mañana", "tarde", "noche"]

MONTHS = {m: i + 1 for i, m in enumerate(
    ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
     "noviembre", "diciembre"])}  # fmt: skip
MONTHS["setiembre"] = 9
WEEKDAYS = {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6}
NUMBERS = {
    "una": 1, "uno": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
    "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30,
    "cuarenta": 40, "cincuenta": 50, "primero": 1,
}  # fmt: skip
_NUMBER = r"(\d{1,2}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"


@dataclass(frozen=True)
class When:
    day: date | None = None
    at: time | None = None
    part_of_day: PartOfDay | None = None

    @property
    def empty(self) -> bool:
        return self.day is None and self.at is None and self.part_of_day is None

    def merged_into(self, earlier: When) -> When:
        """A correction: what is said now replaces what was said before, the rest stays."""
        return When(
            self.day or earlier.day,
            self.at or (None if self.part_of_day else earlier.at),
            self.part_of_day or (None if self.at else earlier.part_of_day),
        )


def plain(text: str) -> str:
    """Lower case without accents, so "miércoles" and "miercoles" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ñ", "n")


def _value(token: str) -> int:
    return int(token) if token.isdigit() else NUMBERS[token]


def _day(text: str, today: date) -> date | None:
    if "pasado manana" in text:
        return today + timedelta(days=2)
    # "mañana" is tomorrow unless it is the part of the day ("en/por/de la mañana").
    if re.search(r"(?<!la )\bmanana\b", text):
        return today + timedelta(days=1)
    if re.search(r"\bhoy\b", text):
        return today
    month_day = re.search(_NUMBER + r" de (" + "|".join(MONTHS) + r")\b", text)
    if month_day:
        day, month = _value(month_day.group(1)), MONTHS[month_day.group(2)]
        year = today.year + (1 if (month, day) < (today.month, today.day) else 0)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    slash = re.search(r"\b(\d{1,2})/(\d{1,2})\b", text)
    if slash:
        day, month = int(slash.group(1)), int(slash.group(2))
        year = today.year + (1 if (month, day) < (today.month, today.day) else 0)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    weekday = re.search(r"\b(" + "|".join(WEEKDAYS) + r")\b", text)
    if weekday:
        target = WEEKDAYS[weekday.group(1)]
        ahead = (target - today.weekday()) % 7 or 7
        if re.search(r"semana (que viene|proxima|entrante)", text):
            next_monday = today + timedelta(days=7 - today.weekday())
            return next_monday + timedelta(days=target)
        return today + timedelta(days=ahead)
    bare_day = re.search(r"\bel (?:dia )?(\d{1,2})\b(?! de la| y|:)", text)
    if bare_day and not re.search(r"\ba las? " + bare_day.group(1) + r"\b", text):
        day = int(bare_day.group(1))
        month, year = today.month, today.year
        if day < today.day:
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def _part_of_day(text: str) -> PartOfDay | None:
    if re.search(r"\b(en|por|de) la manana\b|\btemprano\b|\bmananita\b", text):
        return "mañana"
    if re.search(r"\b(en|por|de) la tarde\b|\bmediodia\b", text):
        return "tarde"
    if re.search(r"\b(en|por|de) la noche\b", text):
        return "noche"
    return None


def _time(text: str, part: PartOfDay | None) -> time | None:
    if re.search(r"\b(al|a) mediodia\b", text):
        return time(12, 0)
    match = re.search(
        r"\ba las? "
        + _NUMBER
        + r"(?::(\d{2})| y (media|cuarto|"
        + _NUMBER[1:-1]
        + r")| menos (cuarto|"
        + _NUMBER[1:-1]
        + r"))?(?: (?:de la|en punto|en la|por la))?",
        text,
    )
    if not match:
        return None
    hour = _value(match.group(1))
    minute = 0
    if match.group(2):
        minute = int(match.group(2))
    elif match.group(3):
        minute = {"media": 30, "cuarto": 15}.get(match.group(3)) or _value(match.group(3))
    elif match.group(4):
        hour -= 1
        minute = 60 - ({"cuarto": 15}.get(match.group(4)) or _value(match.group(4)))
    if hour > 23 or minute > 59:
        return None
    if hour < 12 and (part in ("tarde", "noche") or (part is None and 1 <= hour <= 6)):
        hour += 12
    return time(hour, minute)


def parse_when(text: str, now: datetime) -> When:
    """Day, time and part of day mentioned in ``text``, each None when not said."""
    said = plain(text)
    part = _part_of_day(said)
    return When(_day(said, now.date()), _time(said, part), part)
