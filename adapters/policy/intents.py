"""What the caller wants, from one utterance of (Dominican) Spanish: ordered rules over accent-free text.

Order matters: asking for a person beats everything; cancelling and moving beat booking ("quiero cambiar la
cita" mentions a cita too); a question about price, hours or place is information even when it names a cita
("¿cuánto cuesta una cita?"); greetings, thanks, yes and no count only when nothing else was asked.
"""

from __future__ import annotations

import re
from typing import Literal

from adapters.policy.when import plain

Intent = Literal[
    "human", "cancel", "reschedule", "book", "information", "goodbye", "thanks", "affirm", "deny", "greeting"
]

_HUMAN = re.compile(
    r"\b(hablar|comunicar\w*|pasar\w*|pase\w*|transferir\w*)\b.*\b(persona|alguien|agente|humano|operador\w*|"
    r"representante|recepcion\w*|secretari\w*)\b|\b(un|una) (humano|persona real|operador\w*|representante)\b"
)
_CANCEL = re.compile(
    r"\b(cancel\w*|anul\w*|desmarc\w*|elimin\w*|borr\w*|quit\w*)\b|\bno (voy a|vo a|puedo|podre) (poder )?"
    r"(ir|asistir|llegar)\b|\bya no (necesito|quiero|voy)\b"
)
_RESCHEDULE = re.compile(
    r"\b(cambi\w*|mover|muev\w*|mueva\w*|reprogram\w*|pospon\w*|posterg\w*|adelant\w*|rod\w*|corr\w*)\b"
    r"|\botro (dia|horario|turno)\b|\bpasar (la|mi) cita\b"
)
_IT = re.compile(  # "cambiarla", "me la puede mover": the cita
    r"\b(cambi|mov|muev|pas|reprogram|rod|corr|adelant|pospon)\w*(la|lo)\b"
    r"|\bla (puede |podria |pueden |puedo )?(mover|cambiar|pasar|correr|rodar)\b"
)
_BOOK = re.compile(
    r"\b(cita|turno|agend\w*|reserv\w*|apart\w*|separ\w*|sacar|coger|cojer|chequear\w*|chequeo|consulta con|"
    r"ver (al|a la) (doctor\w*|medic\w*|especialista|pediatra|dermatolog\w*|cardiolog\w*|ginecolog\w*))\b"
)
_QUESTION = re.compile(
    r"\b(cuanto|cuanta|precio|cuesta|cobran|vale|sale|donde|horario|hora abren|hora cierran|abren|cierran|"
    r"aceptan|cogen|coge|reciben|que necesito|que tengo que|como (me preparo|llego|hago)|tienen|hay|"
    r"atienden|queda|direccion|telefono|whatsapp|seguro)\b"
)
_GOODBYE = re.compile(
    r"\b(adios|hasta luego|hasta pronto|chao|chau|bye|nos vemos|eso es todo|nada mas|es todo)\b"
)
_THANKS = re.compile(r"\b(gracias|agradezco|agradecid\w*|muy amable|mil gracias|bendiciones)\b")
_AFFIRM = re.compile(
    r"^(si|sii+|claro|correcto|exacto|dale|ok|okay|okey|perfecto|esta bien|de acuerdo|eso mismo|eso es|"
    r"asi es|confirmo|afirmativo|por supuesto|seguro que si|ta bien|ta to)\b"
)
_DENY = re.compile(r"^(no|nop|negativo|para nada|no es asi|no no|nah)\b")
_GREETING = re.compile(
    r"\b(hola|buenos dias|buenas tardes|buenas noches|buenas|saludos|klk|que lo que|que tal|como esta\w*|"
    r"buen dia)\b"
)
_BOOKING_VERB = re.compile(
    r"\b(quiero|quisiera|necesito|me gustaria|puedo|podria|ocupo|dame|deme|quier\w*)\b"
)


def _clean(utterance: str) -> str:
    text = re.sub(r"[¿?¡!.,;:]", " ", plain(utterance))
    return re.sub(r"\s+", " ", text).strip()


def is_yes(utterance: str) -> bool:
    """Starts with a yes ("sí, cancélela", "claro que sí"), whatever else it asks for."""
    return bool(_AFFIRM.search(_clean(utterance)))


def classify(utterance: str) -> Intent:
    text = _clean(utterance)
    if _HUMAN.search(text):
        return "human"
    mentions_appointment = bool(re.search(r"\b(cita|turno|consulta)\b", text))
    if _CANCEL.search(text) and (mentions_appointment or not _QUESTION.search(text)):
        return "cancel"
    if _RESCHEDULE.search(text) and (
        mentions_appointment or re.search(r"\b(dia|hora|fecha)\b", text) or _IT.search(text)
    ):
        return "reschedule"
    if _BOOK.search(text):
        asks = _QUESTION.search(text) and not _BOOKING_VERB.search(text)
        return "information" if asks else "book"
    if _QUESTION.search(text):
        return "information"
    if _GOODBYE.search(text):
        return "goodbye"
    if _THANKS.search(text):
        return "thanks"
    if _AFFIRM.search(text):
        return "affirm"
    if _DENY.search(text):
        return "deny"
    if _GREETING.search(text) and len(text.split()) <= 6:
        return "greeting"
    return "information"
