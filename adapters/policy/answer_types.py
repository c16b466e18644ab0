"""What kind of fact a question asks for, and what a sentence holding that kind of fact looks like.

A question asks for a price, a schedule, a place, a phone (or other contact), a person, a preparation or
procedure, or just yes or no. Its type picks, among the sentences that name what it asks about, the one that
holds a value of that type: "¿cuánto cuesta el cardiólogo?" wants the line with the cardiology consultation and a
price, not the cardiologist's schedule. Everything here works on accent-free lower-case text (``plain``).

The words callers use that the documents do not (Dominican and misheard forms: "guasap", "diabete", "pa") are
mapped to the documents' words before matching: a general lexicon, not a list of questions.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["price", "schedule", "place", "contact", "person", "preparation", "yesno", "other"]

# Checked in this order: "¿hasta qué hora contestan el teléfono?" is a schedule, "¿cuánto dura?" is not a price.
_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "schedule",
        re.compile(
            r"\b(a que hora|hasta que hora|desde que hora|que hora|horario\w*|cuanto (tiempo|dura|tarda|demora)|"
            r"(se )?(tarda|dura|demora)\w*|que dias?|cuando|en cuanto tiempo|con cuanto tiempo|"
            r"(abren|abre|cierran|cierra) (los|el|las|la)? ?(lunes|martes|miercoles|jueves|viernes|sabados?|"
            r"domingos?|feriados?)|de noche|toa la noche|toda la noche|(los|el) (lunes|martes|miercoles|jueves|"
            r"viernes|sabados?|domingos?|feriados?))\b"
        ),
    ),
    (
        "price",
        re.compile(
            r"\b(cuanto (e|es|e que|es que)? ?(cuesta|cuestan|vale|valen|sale|salen|cobra\w*|me cobra\w*|me sale|"
            r"me cuesta|pago|pagaria|hay que pagar)|precios?|cuesta|cuestan|cobran|cobra|a como (ta|esta|sale|es)|"
            r"tarifas?|copago|cargo|descuento|cuanto e|cuanto es|en cuanto (ta|esta|sale|es|e))\b"
        ),
    ),
    (
        "contact",
        re.compile(
            r"\b(telefonos?|numeros?|whatsapp|llamo|llamar|escrib\w*|contacto|correo|email|pagina web|sitio web|"
            r"web)\b"
        ),
    ),
    (
        "person",
        re.compile(
            r"\b(quien|quienes|como se llama\w*|que (doctor|doctora|medico|medica|especialista|pediatra|"
            r"cardiologo|ginecologa|ginecologo|psicologo|dermatologa)\w*|cuales (doctor|medic|cardiolog|pediatr)\w*)\b"
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(donde|direccion|queda|quedan|ubica\w*|cerca|sector|como llego|llegar|desmonto|me bajo|en cual sede|"
            r"que sede|en que sede|frente a)\b"
        ),
    ),
    (
        "preparation",
        re.compile(
            r"\b(que (hago|tengo que|debo|llevo|como|necesito|documento\w*)|como (me preparo|tengo que|voy|veo|"
            r"confirmo|hago)|prepar\w*|ayuna\w*|llevar|traer|presentar|puedo (tomar|comer|ponerme|poner|beber)|"
            r"me (tomo|pongo|puedo poner))\b"
        ),
    ),
    (
        "yesno",
        re.compile(
            r"^(y )?(tienen|tiene|hay|aceptan|acepta|atienden|atiende|hacen|hace|puedo|puede|se puede|trabajan|"
            r"trabaja|cogen|coge|me cogen|me lo|me la|abre|abren|vacunan|cubre|cubren|ustedes?|el |la |los |las |"
            r"dan|da|mandan|es|e |eso)\b"
        ),
    ),
]

# A sentence that holds a value of the type. The schedule's clock times count more when the caller asked "what
# time" (see ``asks_clock``).
VALUES: dict[AnswerType, re.Pattern[str]] = {
    "price": re.compile(
        r"rd\$ ?\d|\d+ ?(por ciento|%)|\bcopago\b|tarifa privada|\bgratis\b|sin costo|\bcheques?\b|\btarjetas?\b|"
        r"\befectivo\b|transferencias?"
    ),
    "schedule": re.compile(
        r"\d{1,2}:\d\d|\b\d+ (horas|minutos)\b|cualquier hora|mediodia|por la (manana|tarde)|\b(lunes|martes|"
        r"miercoles|jueves|viernes|sabados?|domingos?)\b|mismo dia|\b24 horas\b"
    ),
    "place": re.compile(
        r"\bav\.|avenida|\bcalle\b|esquina|cuadras|\bfrente\b|al lado|estacion|autopista|portal|recepcion|"
        r"\ben la sede de\b|\ben (santo domingo|santiago)\b|\bdos sedes\b|bajese|\bmetro\b"
    ),
    "contact": re.compile(r"\d{3}-\d{3}-\d{4}|9-1-1|@|www\.|\.do\b"),
    "person": re.compile(r"\b(dr|dra|lic)\.", re.IGNORECASE),
    "preparation": re.compile(
        r"\b(venga|tome|traiga|no use|use|coma|siga|evite|llegue|presente|debe|deben|lleve|puede|responda|"
        r"ayunas|no orine|no tome|pregunte)\b"
    ),
}
_CLOCK = re.compile(r"\d{1,2}:\d\d|\b24 horas\b|cualquier hora|mediodia")
_ASKS_CLOCK = re.compile(r"\b(a que hora|hasta que hora|desde que hora|que hora|horario)\b")

# Dominican and misheard words, to the documents' words (whole words of plain text).
SYNONYMS: dict[str, str] = {
    "guasap": "whatsapp",
    "wasap": "whatsapp",
    "guasa": "whatsapp",
    "whatsap": "whatsapp",
    "wa": "whatsapp",
    "diabete": "diabetes",
    "tiroide": "tiroides",
    "ayuna": "ayunas",
    "llevar": "traer",
    "llevo": "traer",
    "parquear": "parqueo",
    "parqueos": "parqueo",
    "estacionamiento": "parqueo",
    "estacionar": "parqueo",
    "placa": "radiografia",
    "sono": "sonografia",
    "electro": "electrocardiograma",
    "oculista": "oftalmologia",
    "otorrino": "otorrinolaringologia",
    "virtual": "telemedicina",
    "videollamada": "telemedicina",
    "online": "telemedicina",
    "muchachito": "ninos",
    "muchachitos": "ninos",
    "nino": "ninos",
    "nina": "ninos",
    "ninas": "ninos",
    "carajito": "ninos",
    "carajitos": "ninos",
    "bebe": "ninos",
    "muchacha": "menores",
    "muchacho": "menores",
    "adolescente": "menores",
    "menor": "menores",
    "sola": "acompanados",
    "solo": "acompanados",
    "acompanao": "acompanante",
    "acompanada": "acompanante",
    "acompanado": "acompanante",
    "clave": "contrasena",
    "pass": "contrasena",
    "internet": "portal",
    "link": "enlace",
    "stgo": "santiago",
    "psicologa": "psicologo",
    "hijo": "ninos",
    "hija": "ninos",
    "hijos": "ninos",
    "pastilla": "medicamentos",
    "pastillas": "medicamentos",
    "remedio": "medicamentos",
    "remedios": "medicamentos",
    "desmonto": "bajese",
    "desmonta": "bajese",
    "bajo": "bajese",
    "bajarme": "bajese",
    "desmontarme": "bajese",
}
# Words that stand for a family of the documents' words: a child is seen by a pediatrician.
RELATED: dict[str, tuple[str, ...]] = {
    "ninos": ("pediatr",),
    "menores": ("18",),
    "whatsapp": ("whatsapp",),
    "telemedicina": ("videollamad",),
}
# Ages under 18 said as a number ("tiene 16", "una de 17 años").
_MINOR_AGE = re.compile(r"\b(1[0-7]|[1-9]) anos?\b")
_MINOR = re.compile(r"\b(de|tiene) 1[0-7]\b")


def answer_type(plain_question: str) -> AnswerType:
    for kind, pattern in _TYPES:
        if pattern.search(plain_question):
            return kind
    return "other"


def asks_clock(plain_question: str) -> bool:
    return bool(_ASKS_CLOCK.search(plain_question))


def has_value(kind: AnswerType, plain_sentence: str) -> bool:
    pattern = VALUES.get(kind)
    return bool(pattern and pattern.search(plain_sentence))


def has_clock(plain_sentence: str) -> bool:
    return bool(_CLOCK.search(plain_sentence))


def normalise(plain_question: str) -> str:
    """The caller's words in the documents' words."""
    text = _MINOR.sub(r"\1 menores", _MINOR_AGE.sub("menores", plain_question))
    return " ".join(SYNONYMS.get(word, word) for word in re.findall(r"[a-z0-9$@.:-]+", text))
