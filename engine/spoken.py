"""Written Spanish -> the words to say: amounts, times, dates, phone numbers, numbers and abbreviations.

A text-to-speech voice reads "RD$1,500 a las 7:30 p. m. con la Dra. Peña" badly or not at all; this turns it
into "mil quinientos pesos a las siete y media de la noche con la doctora Peña". Dominican conventions: a comma
groups thousands and a point marks decimals; phone numbers are read digit by digit in their groups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time

from num2words import num2words

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre"]  # fmt: skip
DIGITS = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]

_ABBREVIATIONS = [
    (r"\bDra\.", "doctora"),
    (r"\bDr\.", "doctor"),
    (r"\bSra\.", "señora"),
    (r"\bSrta\.", "señorita"),
    (r"\bSr\.", "señor"),
    (r"\bLic\.", "licenciado"),
    (r"\bIng\.", "ingeniero"),
    (r"\bAv\.", "avenida"),
    (r"\bC/\s*", "calle "),
    (r"\b(?:núm|No|Nº|n\.º)\.?\s*(?=\d)", "número "),
    (r"\bapto\.", "apartamento"),
    (r"\betc\.", "etcétera"),
    (r"\bARS\b", "A R S"),
]


def _number(value: str) -> str:
    """'1,500' -> 'mil quinientos'; '2.5' -> 'dos punto cinco'."""
    whole, _, decimals = value.replace(",", "").partition(".")
    words = num2words(int(whole), lang="es")
    if decimals:
        words += " punto " + " ".join(DIGITS[int(d)] for d in decimals)
    return str(words)


def _feminine(words: str) -> str:
    """Hours and feminine nouns: 'uno' -> 'una', 'veintiuno' -> 'veintiuna'."""
    return re.sub(r"uno$", "una", words).replace("veintiún", "veintiuna")


def _amount(match: re.Match[str]) -> str:
    whole, _, cents = match.group(1).replace(",", "").partition(".")
    pesos = num2words(int(whole), lang="es")
    unit = "peso" if int(whole) == 1 else "pesos"
    text = f"{pesos} {unit}".replace("uno peso", "un peso").replace("uno pesos", "un pesos")
    if cents and int(cents):
        text += f" con {num2words(int(cents.ljust(2, '0')[:2]), lang='es')} centavos"
    return text


def _time(match: re.Match[str]) -> str:
    article, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    meridiem = (match.group(4) or "").replace(" ", "").replace(".", "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return match.group(0)
    spoken_hour = hour % 12 or 12
    words = _feminine(num2words(spoken_hour, lang="es"))
    if article:
        words = ("la " if spoken_hour == 1 else "las ") + words
    if minute == 30:
        words += " y media"
    elif minute == 15:
        words += " y cuarto"
    elif minute:
        words += " y " + num2words(minute, lang="es")
    if meridiem or hour >= 13 or hour == 0:
        if hour < 12:
            words += " de la mañana" if hour >= 5 else " de la madrugada"
        elif hour == 12:
            words += " del mediodía"
        elif hour < 19:
            words += " de la tarde"
        else:
            words += " de la noche"
    # "p. m." at the end of a sentence carried the sentence's full stop: keep it.
    rest = match.string[match.end() :]
    if match.group(0).endswith(".") and (not rest.strip() or rest.lstrip()[:1].isupper()):
        words += "."
    return words


def _spoken_date(written: str, day: int, month: int, year: str | None) -> str:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return written
    words = f"{'primero' if day == 1 else num2words(day, lang='es')} de {MONTHS[month - 1]}"
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        words += f" de {num2words(full, lang='es')}"
    return words


def _date(match: re.Match[str]) -> str:
    """5/12/2026 (day first, as written in the Dominican Republic)."""
    return _spoken_date(match.group(0), int(match.group(1)), int(match.group(2)), match.group(3))


def _iso_date(match: re.Match[str]) -> str:
    """2026-12-05."""
    return _spoken_date(match.group(0), int(match.group(3)), int(match.group(2)), match.group(1))


def _day_of_month(match: re.Match[str]) -> str:
    day = int(match.group(1))
    return f"{'primero' if day == 1 else num2words(day, lang='es')} de {match.group(2)}"


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    groups = (
        re.findall(r"\d+", match.group(0))
        if re.search(r"\D", match.group(0))
        else [digits[:-7], digits[-7:-4], digits[-4:]]
    )
    return ", ".join(" ".join(DIGITS[int(d)] for d in group) for group in groups)


def _plain_number(match: re.Match[str]) -> str:
    words = _number(match.group(0))
    # Before a noun "uno" is "un": "un médico", "veintiún médicos" (the noun's gender is not known here).
    if re.match(r" [a-záéíóúñ]", match.string[match.end() :]):
        words = re.sub(r"veintiuno$", "veintiún", words)
        words = re.sub(r"\buno$", "un", words)
    return words


def _percent(match: re.Match[str]) -> str:
    return f"{_number(match.group(1))} por ciento"


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"RD\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"), _amount),
    (re.compile(r"\b(?:\+?1[-\s])?(?:\(?8[024]9\)?[-\s]?)\d{3}[-\s]?\d{4}\b"), _phone),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), _iso_date),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b"), _date),
    (re.compile(r"(?:\b(las?)\s+)?\b(\d{1,2}):(\d{2})(?:\s*([ap]\.?\s?m\.?))?", re.IGNORECASE), _time),
    (re.compile(r"\b(\d{1,2}) de (" + "|".join(MONTHS) + r")\b", re.IGNORECASE), _day_of_month),
    (re.compile(r"(\d+(?:\.\d+)?)\s?%"), _percent),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b|\b\d+(?:\.\d+)?\b"), _plain_number),
]
_ABBREVIATION_RULES = [(re.compile(pattern), spoken) for pattern, spoken in _ABBREVIATIONS]


def speakable(text: str) -> str:
    """The spoken form of a written sentence, for text-to-speech."""
    for pattern, spoken in _ABBREVIATION_RULES:
        text = pattern.sub(spoken, text)
    for rule, render in _RULES:
        text = rule.sub(render, text)
    return re.sub(r"\s{2,}", " ", text).strip()


WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]


def written_day(day: date) -> str:
    """'jueves 26 de noviembre' (written; speakable() reads the number)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def written_time(moment: time) -> str:
    """'3:40 p. m.', '8:00 a. m.', '12:20 p. m.': the clinic's way of writing a time."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'a. m.' if moment.hour < 12 else 'p. m.'}"


def written_moment(moment: datetime) -> str:
    """'el jueves 26 de noviembre a las 3:40 p. m.' ('a la 1:00 p. m.' for one o'clock)."""
    article = "a la" if moment.hour % 12 == 1 else "a las"
    return f"el {written_day(moment.date())} {article} {written_time(moment.time())}"


def written_phone(digits: str) -> str:
    """'8095550101' -> '809-555-0101' (other lengths are left as they are)."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits
