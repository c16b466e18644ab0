"""Urgent symptoms, answered before any language model: chest pain, trouble breathing, signs of a stroke, heavy
bleeding, fainting, thoughts of self-harm, a seizure.

The dialogue asks ``UrgentCheck`` about every turn before it retrieves or calls the model (the embedded policy
and a cloud model alike), so no model can miss one. An urgent turn is answered at once with the emergency
numbers the clinic's own documents give (found once, at start, by a search of the knowledge base) and 9-1-1,
and an offer to let the staff know; a "sí" to that offer marks the call as handed off (engine/handoff.py).

The classifier (engine/urgent_signs.py) is a set of rules over the recogniser's text, organised by the kind of
emergency and its signs as a triage nurse lists them, in Dominican and colloquial Spanish, in the first and third
person ("no puedo coger aire", "a mi papá se le cayó la cara"). A sign that is denied, a hypothesis, told as over
long ago ("hace unos meses", "ya se me pasó") or a figure of speech ("me muero de la risa") is not urgent: that
caller wants an appointment or an answer.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field

import structlog

from engine.handoff import TRANSFERRING
from engine.ports.knowledge import KnowledgeBase, Passage
from engine.urgent_signs import UrgentKind, classify_urgent

log = structlog.get_logger("taina.urgent")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    text = re.sub(r"[^a-z0-9ñ ]+", " ", text.replace("ñ", "n"))
    return re.sub(r"\s+", " ", text).strip()


_YES = re.compile(
    r"^(si|sii+|claro|dale|ok|okay|okey|por favor|favor|hagalo|avise\w*|llame\w*|de acuerdo|esta bien|ta bien|"
    r"por supuesto|correcto|perfecto|seguro)\b"
)


def is_yes(utterance: str) -> bool:
    return bool(_YES.search(_plain(utterance)))


_PHONE = re.compile(r"\b(\d{3}[- .]\d{3}[- .]\d{4})\b")
_EMERGENCY_PHONE = re.compile(r"emergencias?\s*:?\s*(?:al\s+)?(\d{3}[- .]\d{3}[- .]\d{4})", re.IGNORECASE)
_NINE_ONE_ONE = re.compile(r"\b9-?1-?1\b")
EMERGENCY_QUERIES = ("teléfono de emergencias", "emergencias 24 horas 9-1-1")


@dataclass
class EmergencyLine:
    """The numbers to call in an emergency, and the passages of the documents they were read from."""

    clinic: list[str] = field(
        default_factory=list
    )  # the clinic's emergency lines, as the documents write them
    passages: list[Passage] = field(default_factory=list)
    found_at: float | None = None

    @classmethod
    def from_passages(cls, passages: list[Passage]) -> EmergencyLine:
        clinic: list[str] = []
        used: list[Passage] = []
        for passage in passages:
            numbers = _EMERGENCY_PHONE.findall(passage.text)
            if numbers or (_NINE_ONE_ONE.search(passage.text) and "emergencia" in _plain(passage.text)):
                used.append(passage)
            clinic += [n for n in numbers if n not in clinic]
        return cls(clinic, used, time.monotonic())


SPOKEN: dict[UrgentKind, str] = {
    "chest": "Un dolor en el pecho puede ser una emergencia.",
    "breathing": "La falta de aire es una emergencia.",
    "stroke": "Eso puede ser un derrame cerebral y cada minuto cuenta.",
    "bleeding": "Un sangrado así es una emergencia.",
    "fainting": "Un desmayo o una pérdida del conocimiento es una emergencia.",
    "self_harm": "Siento mucho que se sienta así; no está solo y su vida importa.",
    "seizure": "Una convulsión es una emergencia.",
}
OFFER = "¿Quiere que avise ahora al personal del centro para que le llamen?"
HANDED_OFF = "Listo, avisé al personal del centro para que le contacten. Si empeora, llame ya al 9-1-1."
# The same when the call is put through to the staff right after (engine/handoff.py).
HANDED_OFF_TRANSFER = f"{TRANSFERRING} Si empeora, llame ya al 9-1-1."


@dataclass(frozen=True)
class UrgentAnswer:
    kind: UrgentKind
    text: str
    passages: list[Passage]


class UrgentCheck:
    """Shared by an assistant's conversations: the classifier and the emergency numbers of the documents."""

    def __init__(self, line: EmergencyLine | None = None) -> None:
        self.line = line

    async def find_numbers(self, knowledge: KnowledgeBase) -> EmergencyLine:
        """Read the clinic's emergency numbers from its documents (at start; again if none were found)."""
        passages: list[Passage] = []
        for query in EMERGENCY_QUERIES:
            for passage in await knowledge.search(query, 4):
                if passage not in passages:
                    passages.append(passage)
        self.line = EmergencyLine.from_passages(passages)
        log.info("urgent.emergency_numbers", clinic=self.line.clinic, documents=len(self.line.passages))
        return self.line

    async def answer(self, said: str, knowledge: KnowledgeBase | None) -> UrgentAnswer | None:
        kind = classify_urgent(said)
        if kind is None:
            return None
        line = self.line
        if (line is None or not line.clinic) and knowledge is not None:
            try:
                line = await self.find_numbers(knowledge)
            except Exception as exc:  # the knowledge base is down: 9-1-1 still goes out
                log.error("urgent.numbers_failed", error=f"{type(exc).__name__}: {exc}")
        clinic = line.clinic if line is not None else []
        if kind == "self_harm":
            call = "Si está en peligro o piensa hacerse daño, llame ya al 9-1-1"
        else:
            call = "Llame ya al 9-1-1"
        if clinic:
            call += f" o a la emergencia del centro, al {' o al '.join(clinic)}"
        text = f"{SPOKEN[kind]} {call}. {OFFER}"
        log.warning("urgent.answered", kind=kind)
        return UrgentAnswer(kind, text, list(line.passages) if line is not None else [])
