"""A table's row for what the caller asks, at the site they name: the hours of a service, or a phone or address.

Hours and contacts come as rows under a site's heading ("Sede Santiago": "Laboratorio: lunes a sábado de 6:30 a. m. a 12:00 del
mediodía."). As with prices (price_lines.py), a caller's story hides the row from a count of the question's words,
so the row is judged by its label: "¿hasta qué hora está abierto el laboratorio en Santiago?" names the label
"Laboratorio" and the site of the heading. A row under another site's heading is not read for a caller who named
a site.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.policy.answer_types import AnswerType, has_value
from adapters.policy.intents import SPECIALIST
from adapters.policy.price_lines import LABEL
from adapters.policy.when import A_WEEKDAY, WEEKDAYS, plain

MIN_NAMED = 0.5
MOST_LABEL_WORDS = 4  # a row's label is a short name ("Laboratorio", "Correo electrónico")
_LONGEST_LABEL = 6  # ... or a name with what it is for ("WhatsApp para citas y resultados")
_NOT_A_NAME = re.compile(r"^(?:el|la|los|las|un|una|si|para|no)\b|\bno\b", re.IGNORECASE)


def is_label(text: str) -> bool:
    """A row's label: a short name, not the start of a sentence ("La sede no tiene emergencia: llame al 9-1-1")."""
    words = text.split()
    return len(words) <= MOST_LABEL_WORDS or (len(words) <= _LONGEST_LABEL and not _NOT_A_NAME.search(text))


MOST_ROWS = 2


@dataclass(frozen=True)
class Row:
    sentence: str
    named: float
    index: int
    closed: bool = False  # it does not cover the day the caller asked about


_DAYS = list(WEEKDAYS)
# A weekday said, singular or plural ("el sábado", "los sábados"): shared by answers.py.
DAY = re.compile(rf"\b({A_WEEKDAY})s?\b")
_RANGE = re.compile(rf"\b({'|'.join(_DAYS[:-1])})s? a ({'|'.join(_DAYS[1:])})s?\b")
# Asking when something is open: the hours or the days (not how long a thing takes, nor when is best).
ASKS_HOURS = re.compile(
    r"\b(a que hora|hasta que hora|desde que hora|que hora|horarios?|abre\w*|abierto|abierta|cierra\w*|que dias?|"
    r"empiezan|terminan|atienden)\b"
)
# A doctor's days are in the doctors' list, not in a site's hours.
_A_DOCTOR = re.compile(rf"\b(?:dr|dra|lic|licenciad[oa]|{SPECIALIST})\b")


def days_in(text: str) -> set[str]:
    """The weekdays a row's text covers ("lunes a viernes": five; "sábados": one)."""
    if re.search(r"\btodos los dias\b|\b24 horas\b|\bdiario\b", text):
        return set(_DAYS)
    found = {m.group(1) for m in DAY.finditer(text)}
    for match in _RANGE.finditer(text):
        start, end = _DAYS.index(match.group(1)), _DAYS.index(match.group(2))
        found.update(_DAYS[start : end + 1])
    return found


def schedule_rows(
    question: str,
    said: list[str],
    own: list[str],
    rows: Iterable[tuple[str, str]],
    stems: Callable[[str], list[str]],
    same: Callable[[str, str], bool],
) -> list[Row]:
    """Among ``rows`` ((sentence, its passage's title and heading)), the hours rows whose label the caller named
    (``said``: their stems, the lexicon's words beside their own), under the heading of the site they named, if
    they named one (a word of one hours table's heading and not of every one: "Santiago", "Naco")."""
    flat = plain(question)
    asked_days = {m.group(1) for m in DAY.finditer(flat)}
    if not (ASKS_HOURS.search(flat) or asked_days) or _A_DOCTOR.search(flat):
        return []  # neither hours nor a day asked about ("¿el sábado hacen rayos X en Santiago?" asks a day)
    return _named_rows("schedule", said, own, rows, stems, same, asked_days)


def contact_rows(
    said: list[str],
    own: list[str],
    rows: Iterable[tuple[str, str]],
    stems: Callable[[str], list[str]],
    same: Callable[[str, str], bool],
) -> list[Row]:
    """The contact rows ("Teléfono: 809-555-0275.", "Emergencias: ...", "Correo electrónico: ...") whose label
    the caller named, at the site they named: "¿el teléfono de la sede de Santiago?"."""
    return _named_rows("contact", said, own, rows, stems, same, set())


def _named_rows(
    kind: AnswerType,
    said: list[str],
    own: list[str],
    rows: Iterable[tuple[str, str]],
    stems: Callable[[str], list[str]],
    same: Callable[[str, str], bool],
    asked_days: set[str],
) -> list[Row]:
    hours: list[tuple[int, str, re.Match[str], set[str]]] = []
    for index, (sentence, heading) in enumerate(rows):
        match = LABEL.match(sentence.strip())
        if match is None or not is_label(match.group(1)):
            continue  # "La sede no tiene emergencia: llame al 9-1-1" is a sentence, not a row
        if has_value(kind, plain(match.group(2))):
            hours.append((index, sentence, match, set(stems(heading))))
    if not hours:
        return []
    headings = [h[3] for h in hours]
    labels = {w for h in hours for w in stems(h[2].group(1))}
    shared = set(headings[0]).intersection(*headings[1:])
    sites = set().union(*headings) - shared - labels  # "Sede Santiago", not "Teléfono y WhatsApp"
    places = {s for s in said if any(same(s, w) for w in sites)}
    found: list[tuple[Row, tuple[float, float, float]]] = []
    for index, sentence, match, heading_words in hours:
        # A label names a thing, then perhaps what it is for: "WhatsApp para citas y resultados" is the WhatsApp
        words = [w for w in stems(re.split(r"\bpara\b", match.group(1))[0]) if not w.isdigit()]
        every = [w for w in stems(match.group(1)) if not w.isdigit()]
        named = [w for w in words if any(same(w, s) for s in said)]
        if not words or not named:
            continue
        if places and not any(same(p, w) for p in places for w in heading_words):
            continue
        # "¿el domingo dan consulta?": a row without Sundays answers no
        closed = bool(asked_days - days_in(plain(match.group(2))))
        share = len(named) / len(words)
        # named in the caller's own words ("emergencias", not "número" for "Teléfono"): its thing, then any word
        own_thing = sum(any(same(w, s) for s in own) for w in words) / len(words)
        by_own = sum(any(same(w, s) for s in own) for w in every) / len(every)
        if share >= MIN_NAMED:
            found.append((Row(sentence.strip(), share, index, closed), (own_thing, share, by_own)))
    if not found:
        return []
    # A label the caller named in their own words comes before one named only through the lexicon ("¿a qué
    # correo le escribo?": "Correo electrónico", not "WhatsApp para citas" for "escribo").
    top = max(key for _, key in found)
    chosen = [row for row, key in found if key == top]
    if not all(row.closed for row in chosen):
        chosen = [row for row in chosen if not row.closed]
    return chosen if len(chosen) <= MOST_ROWS else []
