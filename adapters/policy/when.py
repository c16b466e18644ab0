"""When a person wants an appointment, from how they say it in (Dominican) Spanish.

"mañana a las tres y media", "el jueves que viene en la tarde", "pasado mañana temprano",
"el 5 de diciembre a las 10", "no, mejor a las cuatro". Times are the clinic's local time: "now" comes from
the caller (the app's clinic clock, taina/clinic/clock.py), so tests can fix it (TAINA_NOW).

A bare hour from 1 to 6 means the afternoon ("a las tres" is 15:00): nobody books a clinic at 3 a.m.
A weekday with a day of the month ("el miércoles nueve") is the date that is both; when none near is, both
candidates are kept (``When.unsure``) for the caller to choose. Places named after a weekday ("Santo Domingo",
"Domingo Savio") are never days.
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


# Places whose names hold a weekday: never a day ("la sede de Santo Domingo", "vivo en Domingo Savio").
PLACES_WITH_WEEKDAYS = ("santo domingo", "sto dgo", "sto. dgo", "domingo savio", "villa domingo")
# A weekday's name, not part of one of those places: for patterns of other modules ("el sábado en Santo Domingo"
# asks of one day).
A_WEEKDAY = r"(?<!santo )(?<!villa )(?:" + "|".join(WEEKDAYS) + r")(?! savio)"


@dataclass(frozen=True)
class When:
    day: date | None = None
    at: time | None = None
    part_of_day: PartOfDay | None = None
    # The weekday and the day of the month said disagree ("el martes nueve" when the 9th is a Wednesday):
    # the date of that day of the month, then the nearest date on that weekday.
    unsure: tuple[date, date] | None = None

    @property
    def empty(self) -> bool:
        return self.day is None and self.at is None and self.part_of_day is None and self.unsure is None

    def merged_into(self, earlier: When) -> When:
        """A correction: what is said now replaces what was said before, the rest stays."""
        return When(
            self.day or (None if self.unsure else earlier.day),
            self.at or (None if self.part_of_day else earlier.at),
            self.part_of_day or (None if self.at else earlier.part_of_day),
            self.unsure,
        )


def plain(text: str) -> str:
    """Lower case without accents, so "miércoles" and "miercoles" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ñ", "n")


def _value(token: str) -> int:
    return int(token) if token.isdigit() else NUMBERS[token]


def _next_with_day(number: int, today: date, month: int | None = None) -> date | None:
    """The first date from today on that falls on day ``number`` (of ``month`` when given)."""
    year, at = today.year, month or today.month
    for _ in range(13):
        try:
            candidate = date(year, at, number)
            if candidate >= today:
                return candidate
        except ValueError:
            if month is not None:
                return None
        if month is not None:
            year += 1
        else:
            at, year = (1, year + 1) if at == 12 else (at + 1, year)
    return None


def _weekday_and_day(text: str, today: date) -> date | tuple[date, date] | None:
    """'el miércoles nueve', 'el lunes 30', 'el martes primero de diciembre': the date, or the two candidates
    when the weekday and the day of the month disagree."""
    match = re.search(
        r"\b(" + "|".join(WEEKDAYS) + r")\b,? (?:dia )?" + _NUMBER + r"\b(?! y| de la|:| menos)"
        r"(?: de (" + "|".join(MONTHS) + r"))?",
        text,
    )
    if not match or _value(match.group(2)) > 31:
        return None
    weekday = WEEKDAYS[match.group(1)]
    month = MONTHS[match.group(3)] if match.group(3) else None
    dated = _next_with_day(_value(match.group(2)), today, month)
    if dated is None:
        return None
    if dated.weekday() == weekday:
        return dated
    nearest = min(
        (dated + timedelta(days=d) for d in range(-3, 4) if (dated.weekday() + d) % 7 == weekday),
        key=lambda d: (d < today, abs((d - dated).days)),
    )
    return (dated, nearest)


def _day(text: str, today: date) -> date | tuple[date, date] | None:
    for place in PLACES_WITH_WEEKDAYS:
        text = text.replace(place, " ")
    both = _weekday_and_day(text, today)
    if both is not None:
        return both
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
        return _next_with_day(int(bare_day.group(1)), today)
    # "para el nueve", "el día quince": a day in words, unless more numbers follow (a phone: "el ocho cero nueve")
    spoken = re.search(
        r"\b(?:el|pal) (?:dia )?(?!un\b|una\b|uno\b)"
        + _NUMBER
        + r"\b(?! de la| y |:| menos| ?cero\b| ?"
        + _NUMBER
        + r"\b)",
        text,
    )
    if spoken and not spoken.group(1).isdigit() and _value(spoken.group(1)) <= 31:
        return _next_with_day(_value(spoken.group(1)), today)
    return None


def _part_of_day(text: str) -> PartOfDay | None:
    if re.search(r"\b(en|por|de) la manana\b|\bmananita\b", text):
        return "mañana"
    # "en la tarde temprano", "temprano en la tarde": early in the afternoon, not the morning
    if re.search(r"\b(en|por|de) la tarde\b|\bmediodia\b", text):
        return "tarde"
    if re.search(r"\btemprano\b", text):
        return "mañana"
    if re.search(r"\b(en|por|de) la noche\b", text):
        return "noche"
    return None


# What comes before an hour: "a las", "mejor las", "la de las" (choosing an offered time), and the approximate
# "tipo", "como a las", "más o menos a las", "a eso de las", "por ahí de las": the nearest free time is offered
# anyway ("antes de las diez" is no time to search from). Of two alternatives ("a las nueve y media o diez") the
# first is searched.
_AT = (
    r"(?:\b(?:tipo|como|mas o menos|eso de|mejor)(?: a| pa| para)? las? |\ba las? |(?<!antes )\bde las |"
    r"\b(?:tipo|a eso de) (?!un\b|una\b|uno\b))"
)


def _time(text: str, part: PartOfDay | None) -> time | None:
    if re.search(r"\b(al|a) mediodia\b", text):
        return time(12, 0)
    match = re.search(
        _AT
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
    said = re.sub(r"[,;]", " ", plain(text))
    said = re.sub(r"\s+", " ", said)
    part = _part_of_day(said)
    day = _day(said, now.date())
    if isinstance(day, tuple):
        return When(None, _time(said, part), part, day)
    return When(day, _time(said, part), part)
