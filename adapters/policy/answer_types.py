"""What kind of fact a question asks for, and what a sentence holding that kind of fact looks like.

A question asks for a price, a schedule, a place, a phone (or other contact), a person, a preparation or
procedure, or just yes or no. Its type picks, among the sentences that name what it asks about, the one that
holds a value of that type: "¿cuánto cuesta el cardiólogo?" wants the line with the cardiology consultation and a
price, not the cardiologist's schedule. Everything here works on accent-free lower-case text (``plain``).

The words callers use that the documents do not ("guasap", "diabete") are mapped first (adapters/lexicon.py).
"""

from __future__ import annotations

import re
from typing import Literal

from adapters.lexicon import RELATED, normalise

__all__ = ["RELATED", "AnswerType", "answer_type", "asks_clock", "has_clock", "has_value", "normalise"]

AnswerType = Literal["price", "schedule", "place", "contact", "person", "preparation", "yesno", "other"]

# Checked in this order: "¿hasta qué hora contestan el teléfono?" is a schedule, "¿cuánto dura?" is not a price.
_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "schedule",
        re.compile(
            r"\b(a que hora|hasta que hora|desde que hora|que hora|horario\w*|cuanto (tiempo|dura|tarda|demora)|"
            r"(se )?(tarda|dura|demora)\w*|que dias?|cuando|en cuanto tiempo|con cuanto tiempo|"
            r"(abren|abre|cierran|cierra) (los|lo|el|las|la)? ?(lunes|martes|miercoles|jueves|viernes|sabados?|"
            r"domingos?|feriados?)|de noche|toa la noche|toda la noche|(los|lo|el) (lunes|martes|miercoles|jueves|"
            r"viernes|sabados?|domingos?|feriados?)|(ta|esta|estan|tan) abiert[oa]s?|cierra antes)\b"
        ),
    ),
    (
        "price",
        re.compile(
            r"\b(cuanto (e|es|e que|es que|ta|esta|me|le|nos)? ?(cuesta|cuestan|vale|valen|sale|salen|cobra\w*|"
            r"me cobra\w*|me sale|me va a (costar|salir|cobrar)|me cuesta|pago|pagaria|hay que pagar)|precios?|"
            r"cuesta|cuestan|costar|cobr(an|a|ar|ando|aria|arian|ara|aran)|a como (ta|esta|sale|es)|tarifas?|copago|"
            r"cargo|descuento|cuanto (e|es|ta|esta)( eso| esa| ese| to eso| todo eso| toa esa)?$|"
            r"en cuanto (ta|esta|sale|es|e)|cuanto (e|es|ta|esta|sale|vale) (un|una|el|la|los|las)\b)\b"
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
            r"\b((?:quien|quienes)(?! (?:tiene|tienen|puede|pueden|debe|deben) (?:que )?(?:ir|venir|acompan\w*|"
            r"entrar|firmar|buscar|retirar|llevar\w*)\b)|como se llama\w*|que (doctor|doctora|medico|medica|especialista|pediatra|"
            r"cardiologo|ginecologa|ginecologo|psicologo|dermatologa)\w*|cuales (doctor|medic|cardiolog|pediatr)\w*)\b"
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(donde|direccion|queda|quedan|ubica\w*|cerca|sector|como llego|(?<!puedo )(?<!puede )llegar"
            r"(?! tarde| temprano| antes| sin| con| asi| directo)|desmonto|me bajo|en cual sede|que sede|en que sede|"
            r"frente a)\b"
        ),
    ),
    (
        "preparation",
        re.compile(
            r"\b(que (hago|tengo que|debo|llevo|como|necesito|documento\w*)|como (me preparo|tengo que|voy|veo|"
            r"confirmo|hago)|prepar\w*|ayuna\w*|llevar|traer|presentar|puedo (tomar?|comer?|ponerme|poner|beber?)|"
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
        r"\d{1,2}:\d\d|\b(?:\d+|una|dos|tres|cuatro|cinco|seis|ocho|diez|doce|quince|media) (horas?|minutos)\b|"
        r"cualquier hora|mediodia|por la (manana|tarde)|\b(lunes|martes|"
        r"miercoles|jueves|viernes|sabados?|(?<!santo )domingos?)\b|mismo dia|\b24 horas\b"
    ),
    "place": re.compile(
        r"\bav\.|avenida|\bcalle\b|esquina|cuadras|\bfrente\b|al lado|estacion|autopista|portal|recepcion|"
        r"\bsede de \w+|\ben (santo domingo|santiago)\b|\bdos sedes\b|bajese|\bmetro\b"
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


# "¿la dirección exacta, con el número?" asks where: the street's number, not a phone's (unless the caller has the
# address already, or asks an email or web address).
_STREET_ASKED = re.compile(
    r"(?<!tengo la )(?<!tenia la )\bdireccion\b(?! de correo| electronica| de email| web| de la pagina)"
)


_WHERE_FIRST = re.compile(
    r"^\W*(?:(?:y|pero|oiga|disculpe|buenas|hola|klk),? )*(?:a |en )?donde\b"
    # "¿a dónde llamo?" asks which number
    r"(?!(?: (?:le|les|lo|la|me|se|nos))? (?:llamo|llamar|llama|escribo|escribir|marco|marcar|mando|mandar|envio))"
)


def answer_type(plain_question: str) -> AnswerType:
    if _STREET_ASKED.search(plain_question) and not _TYPES[0][1].search(plain_question):
        return "place"  # not "ya tengo la dirección, ¿hasta qué hora abren?"
    if _WHERE_FIRST.match(plain_question):
        return "place"  # "¿dónde se estaciona uno cuando va a la sede?": the "cuando" is not asked
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
