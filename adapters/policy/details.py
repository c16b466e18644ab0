"""The details of a booking in what a caller says: service, doctor, site, name and phone number.

Matching is on accent-free lower case ("cardióloga", "cardiologo" -> cardiologia). Services also answer to
everyday words ("el médico de niños", "la piel"); doctors to their surnames; sites to their city or
neighbourhood. Phone numbers come as digits in any grouping or as spoken digits ("ocho cero nueve ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.policy.when import NUMBERS, plain
from engine.ports.appointments import Catalogue

# The sample centre's services by their specialists' names, then by everyday words (accent-free stems).
SPECIALTY_WORDS: dict[str, tuple[str, ...]] = {
    "cardiologia": ("cardiolog",),
    "pediatria": ("pediatr",),
    "ginecologia": ("ginecolog", "obstetr"),
    "medicina-interna": ("medicina interna", "internista"),
    "medicina-general": ("medicina general", "medico general", "medica general"),
    "dermatologia": ("dermatolog",),
    "ortopedia": ("ortoped", "traumatolog"),
    "endocrinologia": ("endocrin",),
    "psicologia": ("psicolog", "sicolog"),
}
EVERYDAY_WORDS: dict[str, tuple[str, ...]] = {
    "cardiologia": ("corazon", "presion alta"),
    "pediatria": ("nino", "nina", "bebe", "mi hijo", "mi hija", "muchach"),
    "ginecologia": ("embaraz", "prenatal"),
    "medicina-general": ("chequeo",),
    "dermatologia": ("piel", "acne", "manchas"),
    "ortopedia": ("hueso", "rodilla", "fractura", "espalda"),
    "endocrinologia": ("diabet", "tiroides", "azucar"),
    "psicologia": ("ansiedad", "terapia"),
}
SITE_WORDS: dict[str, tuple[str, ...]] = {
    "santo-domingo": ("santo domingo", "piantini", "la capital", "lincoln"),
    "santiago": ("santiago", "los jardines", "jardines metropolitanos"),
}
_TITLES = {"dr", "dra", "doctor", "doctora", "lic", "licenciado", "licenciada"}
_NAME_INTRO = re.compile(
    r"\b(?:me llamo|mi nombre es|a nombre de|el nombre es|la cita es para|es para|soy)\s+(.+)", re.IGNORECASE
)
_NOT_A_NAME = re.compile(
    r"\b(cita|manana|tarde|lunes|martes|miercoles|jueves|viernes|sabado|domingo|hora|dia|telefono|numero|"
    r"doctor\w*|si|no|quiero|necesito|para|cuando|donde)\b"
)
_FILLER = re.compile(
    r"^(?:(?:s[ií]|claro|ok|bueno|pues|este|eh|mire|ah|a ver|c[oó]mo no|perfecto|dale|mi nombre es|me llamo)"
    r"[\s,.]+)+"
)
_SPOKEN_DIGIT = {"cero": "0", **{w: str(n) for w, n in NUMBERS.items() if n < 10 and w != "primero"}}


@dataclass(frozen=True)
class Details:
    service_id: str | None = None
    doctor_id: str | None = None
    site_id: str | None = None
    phone: str | None = None


def find_details(said: str, catalogue: Catalogue) -> Details:
    text = plain(said)
    doctor = _doctor(text, catalogue)
    service = _service(text, catalogue)
    if doctor is not None:
        service = next(d.service_id for d in catalogue.doctors if d.id == doctor)
    return Details(service, doctor, _site(text, catalogue), find_phone(said))


def _service(text: str, catalogue: Catalogue) -> str | None:
    """The service named first; a specialty ("dermatóloga") beats an everyday word ("mi hijo")."""
    for table in (SPECIALTY_WORDS, EVERYDAY_WORDS):
        best: tuple[int, str] | None = None
        for service in catalogue.services:
            words = table.get(service.id, ()) + ((plain(service.name),) if table is SPECIALTY_WORDS else ())
            for word in words:
                at = text.find(word)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, service.id)
        if best:
            return best[1]
    return None


def _doctor(text: str, catalogue: Catalogue) -> str | None:
    for doctor in catalogue.doctors:
        names = [w for w in re.findall(r"[a-z]+", plain(doctor.name)) if w not in _TITLES and len(w) >= 4]
        # A surname (not the first name) after a title or "con" names the doctor: "con la Dra. Tavárez",
        # "con Polanco". A patient called Peña is not Dr. Almonte Peña.
        if any(
            re.search(rf"\b(dra?|doctora?|lic\w*|con)\b\.?( (el|la))?( \w+)? {name}\b", text)
            for name in names[1:] or names
        ):
            return doctor.id
    return None


def _site(text: str, catalogue: Catalogue) -> str | None:
    for site in catalogue.sites:
        words = SITE_WORDS.get(site.id, ()) + tuple(
            w.strip() for w in re.split(r"[()]", plain(site.name)) if len(w.strip()) >= 5
        )
        if any(re.search(rf"\b{re.escape(word)}\b", text) for word in words):
            return site.id
    return None


def find_phone(said: str) -> str | None:
    """Ten digits (a Dominican number: 809, 829 or 849 and seven more), written or spoken, or None."""
    text = plain(said)
    words = re.findall(
        r"[a-z]+|\d+|[^\sa-z\d,]", text
    )  # spoken digits come in groups: "ocho cero nueve, ..."
    spoken = " ".join(_SPOKEN_DIGIT.get(word, word) for word in words)
    for candidate in (text, spoken):
        digits = "".join(re.findall(r"\d", " ".join(re.findall(r"[\d][\d\s().+-]{8,}[\d]", candidate))))
        if digits.startswith("1") and len(digits) == 11:
            digits = digits[1:]
        if len(digits) == 10:
            return digits
    return None


def find_name(said: str, expecting: bool) -> str | None:
    """The patient's name when introduced ("me llamo Ana Pérez"), or the whole answer when we asked for it."""
    match = _NAME_INTRO.search(said)
    candidate = match.group(1) if match else (said if expecting else "")
    candidate = _FILLER.sub("", candidate.strip().lower().strip(" .,¡!¿?"))
    candidate = re.split(r"[,.;]| y mi | mi telefono| el telefono| telefono| numero", candidate, maxsplit=1)[
        0
    ]
    candidate = candidate.strip(" .,¡!¿?")
    words = candidate.split()
    if not 1 <= len(words) <= 5 or not all(re.fullmatch(r"[a-záéíóúüñ'-]+", w) for w in words):
        return None
    if (
        _NOT_A_NAME.search(plain(candidate))
        or any(plain(w) in NUMBERS for w in words)
        or words[0] in ("a", "al", "las", "los", "el", "la", "de", "del")
        or (len(words) == 1 and not expecting and not match)
    ):
        return None
    small = {"de", "del", "la", "los", "las", "y"}
    return " ".join(w if w in small else w[:1].upper() + w[1:] for w in words)
