"""The details of a booking in what a caller says: service, doctor, site, name and phone number.

Matching is on accent-free lower case ("cardióloga", "cardiologo" -> cardiologia). Services also answer to
everyday words ("el médico de niños", "la piel"); doctors to their surnames; sites to their city or
neighbourhood. Phone numbers come as digits in any grouping or as spoken digits ("ocho cero nueve ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.policy.people import PARTICLES, spelled
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
# Who the appointment is for, when it is not the caller: "a nombre de la niña, Camila Rodríguez".
_RELATION = (
    r"(?:(?:el|la|mi|su|nuestr[oa]) )?(?:nin[oa]|hij[oa]|hijit[oa]|nene|nena|bebe|beba|chiquit[oa]|muchach[oa]|"
    r"esposo|esposa|marido|mujer|mama|mami|papa|papi|madre|padre|abuel[oa]|herman[oa]|ti[oa]|sobrin[oa]|"
    r"niet[oa]|suegr[oa]|senora|senor|paciente)"
)
_NAME_INTRO = re.compile(
    r"\b(?:me llamo|mi nombre es|su nombre es|el nombre es|a nombre de(?: " + _RELATION + r")?|"
    r"(?:ella|el|que) se llama|se llama|la cita es para|"
    + _RELATION
    + r" es|(?:es )?(?:para|pa) "
    + _RELATION
    + r"|es para|soy|"
    # the appointment of someone: "la de Lucía Féliz", "la cita de mi papá, ..."
    r"^(?:(?:si|ok|es|era|esa es|la que tengo es)[\s,]+)*la (?:cita )?de(?: " + _RELATION + r")?)"
    r"[\s,:]+(?:que se llama |de nombre )?"
)
_RELATION_FIRST = re.compile(r"^(?:es )?" + _RELATION + r"[\s,:]+(?:que se llama |de nombre )?")
_CORRECTION = re.compile(r"^(?:no[\s,.]+)+(?:(?:no )?es |se llama |el nombre es |mi nombre es )?")
_NOT_A_NAME = re.compile(
    r"\b(cita|manana|tarde|lunes|martes|miercoles|jueves|viernes|sabado|hora|dia|telefono|numero|"
    r"doctor\w*|si|no|quiero|necesito|para|pa|cuando|donde|cuanto|que|como|cual|gracias|bien|sirve|correcto|"
    r"perfecto|claro|exacto|dale|ok|okay|listo|vale|bueno|eso|esa|ese|todo|ahora|"
    # words no name is made of: pronouns, prepositions, adverbs ("si me cobran algo mejor la dejo")
    r"me|te|se|lo|le|nos|les|por|con|sin|en|algo|nada|mejor|peor|tambien|ya|muy|mas|pero|porque|aqui|alla|"
    r"ahi|hay|tiene|tienen|puede|pueden|usted|ustedes)\b"
    r"|\b(el|este|pal|al|del|para el|pa el|proximo) domingo\b"
)
# What a person is, not what they are called: "yo soy diabética", "soy paciente nueva", "soy asegurada".
_DESCRIBES = re.compile(
    r"\b(diabetic\w*|hipertens\w*|asmatic\w*|alergic\w*|cardiac\w*|paciente|nuev[oa]s?|asegurad[oa]s?|"
    r"embarazad[oa]|enferm[oa]|operad[oa]|jubilad[oa]|pensionad[oa]|mayor|menor|quien|yo|"
    r"mama|papa|madre|padre|hij[oa]|esposo|esposa|tia|tio|abuel[oa])\b"
)
# An order about the appointment is no name: "sí, cancélela", "ponla pal viernes", "resérvemela".
_ORDER = re.compile(
    r"\b(?:cancel|reserv|agend|muev|mov|cambi|apart|separ|pon|corr|borr|quit|anul|pas|dej|confirm|hag)"
    r"(?:e|a|ar|er|en|an|ga)?(?:me|se|nos)?(?:la|lo|las|los|le)\b"
)
_FILLER = re.compile(
    r"^(?:(?:si|claro|ok|bueno|pues|este|eh|mire|ah|a ver|como no|perfecto|dale|mi nombre es|me llamo)"
    r"[\s,.]+)+"
)
_PARTICLES = PARTICLES


@dataclass(frozen=True)
class Details:
    service_id: str | None = None
    doctor_id: str | None = None
    site_id: str | None = None
    phone: str | None = None
    # The service was named (a specialty or a doctor), not guessed from an everyday word ("mi hija").
    service_named: bool = False


def find_details(said: str, catalogue: Catalogue) -> Details:
    text = plain(said)
    doctor = _doctor(text, catalogue)
    service, named = _service(text, catalogue)
    if doctor is not None:
        service, named = next(d.service_id for d in catalogue.doctors if d.id == doctor), True
    return Details(service, doctor, _site(text, catalogue), find_phone(said), named)


def _service(text: str, catalogue: Catalogue) -> tuple[str | None, bool]:
    """The service named first, and whether it was named; a specialty ("dermatóloga") beats an everyday word
    ("mi hijo")."""
    for table in (SPECIALTY_WORDS, EVERYDAY_WORDS):
        best: tuple[int, str] | None = None
        for service in catalogue.services:
            words = table.get(service.id, ()) + ((plain(service.name),) if table is SPECIALTY_WORDS else ())
            for word in words:
                at = text.find(word)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, service.id)
        if best:
            return best[1], table is SPECIALTY_WORDS
    return None, False


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


_UNITS = {"cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
          "siete": 7, "ocho": 8, "nueve": 9}  # fmt: skip
_TEENS = {w: n for w, n in NUMBERS.items() if 10 <= n < 30 and w not in _UNITS}
_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
         "noventa": 90}  # fmt: skip
_HUNDREDS = {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
             "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800,
             "novecientos": 900}  # fmt: skip


def _spoken_groups(words: list[str]) -> list[tuple[str | None, int]]:
    """The spoken numbers in ``words``, each as (its digits, how many words it took): 'ocho cero nueve' -> 8, 0,
    9; 'veinticuatro' -> 24; 'treinta y uno' -> 31; 'cuatrocientos treinta y dos' -> 432 (a group keeps its
    width: 'cero cinco' is 0 and 5). (None, 1) for a word that is no number (it ends a phone)."""
    out: list[tuple[str | None, int]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.isdigit():
            out.append((word, 1))
            i += 1
            continue
        value, width, used = 0, 0, 0
        if word in _HUNDREDS:
            value, width, used = _HUNDREDS[word], 3, 1
        rest = words[i + used :]
        if rest and rest[0] in _TENS:
            value += _TENS[rest[0]]
            width, used = width or 2, used + 1
            if len(rest) >= 3 and rest[1] == "y" and rest[2] in _UNITS and _UNITS[rest[2]] > 0:
                value, used = value + _UNITS[rest[2]], used + 2
        elif rest and rest[0] in _TEENS:
            value, width, used = value + _TEENS[rest[0]], width or 2, used + 1
        elif rest and rest[0] in _UNITS and (width == 0 or _UNITS[rest[0]] > 0):
            value, width, used = value + _UNITS[rest[0]], width or 1, used + 1
        if used == 0:
            out.append((None, 1))
            i += 1
            continue
        out.append((str(value).zfill(width), used))
        i += used
    return out


def spoken_as_digits(said: str) -> str:
    """``said`` with its spoken numbers written as digits: "ocho cero nueve, veinticuatro" -> "8 0 9 24"."""
    words = re.findall(r"[a-z]+|\d+", plain(said))
    out, i = [], 0
    for digits, used in _spoken_groups(words):
        article = used == 1 and words[i] in ("un", "una")
        out.append(digits if digits is not None and not article else words[i])
        i += used
    return " ".join(out)


def find_phone(said: str) -> str | None:
    """Ten digits (a Dominican number: 809, 829 or 849 and seven more), written or spoken in any grouping
    ("ocho cero nueve, cinco cinco cinco, veinticuatro, veinticuatro", "ocho veintinueve, quinientos cincuenta
    y cinco, ..."), or None."""
    text = plain(said)
    written = "".join(re.findall(r"\d", " ".join(re.findall(r"[\d][\d\s().+-]{8,}[\d]", text))))
    words = re.findall(r"[a-z]+|\d+", re.sub(r"(?<=\d)[().-](?=\d)", "", text))
    spoken = "".join(digits if digits is not None else " " for digits, _used in _spoken_groups(words))
    numbers = []
    for digits in [written, *spoken.split()]:
        if digits.startswith("1") and len(digits) == 11:
            digits = digits[1:]
        if len(digits) == 10 and digits not in numbers:
            numbers.append(digits)
    if len(numbers) > 1 and _CORRECTED.search(text):
        return numbers[-1]  # "809 555 6743, no, perdón, 809 555 6734": the number that corrects the first
    return numbers[0] if numbers else None


_CORRECTED = re.compile(r"\b(no|perdon|perdone|digo|mejor|corrijo|disculpe|equivoque)\b")


def find_name(said: str, expecting: bool, correcting: bool = False) -> str | None:
    """The patient's name when introduced ("me llamo Ana Pérez", "a nombre de la niña, Camila Rodríguez", "es pa
    mi hijo, Domingo Savio Martínez"), or the whole answer when we asked for it ("maria del carmen de la cruz"),
    or what replaces it at the read-back (``correcting``: "no, es Yokasta Mercedes Rosario"). Of several
    introductions ("es pa mi hijo que tiene 16 años, a nombre de Luis Peña"), the first that holds a name.
    Known names are spelled with their accents ("ramon perez" -> "Ramón Pérez")."""
    text = plain(said).strip()
    if len(text) != len(said.strip()):  # plain() keeps the length of Spanish text; anything else: plain
        said = text
    original = said.strip()
    matches = list(_NAME_INTRO.finditer(text))
    for match in matches:
        name = _name_at(text, original, match.end(), match)
        if name is not None:
            return name
    if matches:
        return None
    correction = _CORRECTION.match(text) if correcting else None
    if expecting:
        relation = _RELATION_FIRST.match(text)
        return _name_at(text, original, relation.end() if relation else 0, None, expecting=True)
    if correction is not None and correction.end() > 0:
        return _name_at(text, original, correction.end(), None)
    return None


def _name_at(
    text: str, original: str, at: int, match: re.Match[str] | None, expecting: bool = False
) -> str | None:
    """The name that starts at ``at`` of ``text`` (``original`` keeps its capitals), or None."""
    candidate, offset = text[at:], at
    filler = _FILLER.match(candidate)
    if filler:
        candidate, offset = candidate[filler.end() :], offset + filler.end()
    ends = re.search(
        r"[,.;!?¿¡]| y (?:mi|el|la|su|quiero|necesito)\b| (?:mi |el |su )?(?:telefono|numero|cel)\b",
        candidate,
    )
    candidate = candidate[: ends.start()] if ends else candidate
    words = candidate.split()
    named = [w for w in words if w not in _PARTICLES]
    if not 1 <= len(named) <= 5 or len(words) > 8 or not all(re.fullmatch(r"[a-z'-]+", w) for w in words):
        return None
    introduced_by = match.group(0).strip() if match else ""
    # Written with capitals, a name after "soy" has them: "soy Ana Pérez", not "soy diabética".
    lower_after_soy = not original[offset : offset + len(candidate)].strip()[:1].isupper()
    if introduced_by.endswith("soy") and original != original.lower() and lower_after_soy:
        return None
    if introduced_by.endswith(" de") and len(named) < 2:
        return None  # "la de pediatría" names the appointment, not the patient
    if (
        _NOT_A_NAME.search(candidate)
        or _DESCRIBES.search(candidate)
        or _ORDER.search(candidate)
        or any(w in NUMBERS for w in words)
        or words[0] in ("a", "al", "las", "los", "el", "la", "de", "del", "pal", "en", "con")
        or (len(words) == 1 and not expecting and not match)
    ):
        return None
    start = offset + len(candidate) - len(candidate.lstrip())
    return spelled(original[start : start + len(candidate.strip())])
