"""Urgent symptoms, answered before any language model: chest pain, trouble breathing, signs of a stroke, heavy
bleeding, fainting, thoughts of self-harm, a seizure.

The dialogue asks ``UrgentCheck`` about every turn before it retrieves or calls the model (the embedded policy
and a cloud model alike), so no model can miss one. An urgent turn is answered at once with the emergency
numbers the clinic's own documents give (found once, at start, by a search of the knowledge base) and 9-1-1,
and an offer to let the staff know; a "sí" to that offer marks the call as handed off (engine/handoff.py).

The classifier is a set of rules over accent-free lower-case text, for Dominican and colloquial Spanish, in the
first and third person ("no puedo respirar", "mi papá no puede respirar"). A symptom told as over and done long
ago ("el año pasado", "hace unos meses", "ya se me pasó") is not urgent: that caller wants an appointment.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import structlog

from engine.handoff import TRANSFERRING
from engine.ports.knowledge import KnowledgeBase, Passage

log = structlog.get_logger("taina.urgent")

UrgentKind = Literal["chest", "breathing", "stroke", "bleeding", "fainting", "self_harm", "seizure"]

_PERSON = r"(puedo|puede|pueden|podemos|podia|pude|pudo)"
_RULES: list[tuple[UrgentKind, re.Pattern[str]]] = [
    (
        "self_harm",
        re.compile(
            r"\b(me quiero morir|quiero morirme|me quiero matar|quiero matarme|me voy a matar|voy a matarme|"
            r"(quiero|voy a|pienso|pensando en|ganas de) (suicidarme|matarme|quitarme la vida|acabar con mi vida|"
            r"hacerme dano|cortarme|morirme)|suicid\w*|no (quiero|aguanto) (seguir )?viviendo|no quiero vivir( mas)?|"
            r"no vale la pena vivir|(estaria|estaria yo|estar) mejor muert[oa]|"
            r"(tomarme|me tome|se tomo) (todas )?las pastillas|quitarse la vida|acabar con todo)\b"
        ),
    ),
    (
        "chest",
        re.compile(
            r"\b(dolor|dolo|presion|opresion|punzada|puntada|apreton|ardor|peso|molestia|dolencia)\b"
            r"[a-z ]{0,25}\b(pecho|corazon)\b"
            r"|\b(pecho|corazon)\b[a-z ]{0,20}\b(duele|duelen|doliendo|aprieta|apretando|oprime|arde|quema)\b"
            r"|\b(duele|doliendo|aprieta|apretando) (mucho |muchisimo )?(el|en el) pecho\b"
            r"|\b(infarto|infartando|ataque (al|del) corazon|ataque cardiaco)\b"
        ),
    ),
    (
        "breathing",
        re.compile(
            rf"\bno {_PERSON} respirar\b|\b(me|le|nos) (falta|faltaba|esta faltando) (el )?aire\b"
            r"|\bfalta de aire\b|\bno (me|le) (entra|llega) (el )?aire\b"
            r"|\b(me|le|se|nos) (cuesta|esta costando) (mucho )?respirar\b|\bdificultad (para|al) respirar\b"
            r"|\b(me estoy|se esta|me|se) ahog(o|a|ando)\b|\basfixi\w*\b"
            r"|\bse (me|le) (cierra|esta cerrando|cerro) la garganta\b|\bse (esta|puso|esta poniendo) (morad|azul)\w*\b"
            r"|\b(respira|respiro|respirando) (muy )?(mal|con dificultad|raro|feo)\b"
        ),
    ),
    (
        "stroke",
        re.compile(
            r"\b(se me|se le|tengo|tiene)( )?(durmio|dormio|cayo|caida|torcio|torcida|paralizo|paralizada|ladeo|"
            r"jalo|desvio|dormida|bajo|virado|viro) (la|media|la mitad de la|medio lado de la|un lado de la|"
            r"el lado de la)? ?(cara|boca)\b"
            r"|\b(cara|boca) (caida|torcida|dormida|paralizada|de lado|ladeada|virada|chueca)\b"
            r"|\b(media|la mitad de la|mitad de la) cara\b"
            r"|\b(se me|se le) (durmio|dormio|paralizo|cayo) (la mitad|medio lado|un lado|el lado) del cuerpo\b"
            rf"|\bno {_PERSON} (mover|levantar|sentir) (el|un|la|los|las|su|mi) (brazo|pierna|lado|mano)\w*\b"
            r"|\bno (siento|siente) (el|la|un|mi|su) (brazo|pierna|lado|cara)\b"
            r"|\b(habla|hablo|hablando|habla muy|hablando muy) (raro|enredado|enredao|arrastrado|arrastrao|mocho|"
            r"trabado|trabao|torcido|sin sentido)\b|\bse (me|le) traba la lengua\b|\blengua (pesada|trabada|enredada)\b"
            rf"|\bno {_PERSON} hablar (bien)?\b|\b(derrame|ictus|accidente cerebro\w*|trombosis)\b"
        ),
    ),
    (
        "bleeding",
        re.compile(
            r"\b(botando|boto|bota|echando|echo|sale|saliendo|perdiendo|pierdo|chorreando|brotando|vomitando|"
            r"vomito|tosiendo|toso|escupiendo)\b( mucha| muchisima| demasiada| bastante| un chorro de| full de| un "
            r"monton de)? sangre\b"
            r"|\b(hemorragia|desangr\w*)\b|\bno (me|le|se)? ?(para|paran|deja|detiene|quita) (de )?(sangrar|la sangre)\b"
            r"|\bsangr(ando|a|o) (mucho|muchisimo|demasiado|sin parar|bastante|a chorros|un monton)\b"
        ),
    ),
    (
        "seizure",
        re.compile(
            r"\b(convuls\w*|epilepti\w* (ataque|crisis)|(ataque|crisis) (epileptic\w*|de epilepsia))\b"
            r"|\bse (le|me) (viraron|viran|voltearon|fueron) los ojos\b|\b(echando|bota|botando) espuma por la boca\b"
            r"|\b(temblando|tiembla|sacudiendo)\b.*\bno (responde|reacciona)\b"
        ),
    ),
    (
        "fainting",
        re.compile(
            r"\b(desmay\w*|se privo|me privo|(esta|ta|quedo|cayo|sigue)( como)? privad[oa]|privao|yeyo|inconsciente|perdi\w* el (conocimiento|sentido))\b"
            r"|\b(y|pero|ya) no (responde|reacciona)\b|\bno (se )?despierta\b|\bse cayo y no (se mueve|responde|se levanta)\b"
        ),
    ),
]

# Told as long over: not an emergency now ("tuve un dolor de pecho el año pasado").
_LONG_AGO = re.compile(
    r"\b(el|la|los) (ano|mes|semana|verano|diciembre) pasad[oa]\b|\bhace (un|una|unos|unas|dos|tres|cuatro|cinco|"
    r"seis|varios|varias|muchos|muchas|algunos|algunas|\d+) (ano|anos|mes|meses|semana|semanas)\b(?! que)"
    r"|\bhace (mucho|tiempo|mucho tiempo|rato largo)\b(?! que)|\bde (nino|nina|chiquito|chiquita|pequeno|pequena)\b"
    r"|\bcuando (era|estaba) (nino|nina|chiquito|chiquita|pequeno|pequena|embarazada)\b"
    r"|\bya (se me|se le) (paso|quito)\b|\bya (estoy|esta) bien\b|\bel otro ano\b"
)
# Figures of speech and questions about the words themselves.
_NOT_A_SYMPTOM = re.compile(
    r"\b(muero|muriendo|morir|morirme) de (la )?(risa|hambre|sueno|calor|frio|verguenza|ganas|aburrimiento|"
    r"cansancio|pena|amor|nervios|ansias)\b"
)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    text = re.sub(r"[^a-z0-9ñ ]+", " ", text.replace("ñ", "n"))
    return re.sub(r"\s+", " ", text).strip()


def classify_urgent(utterance: str) -> UrgentKind | None:
    """The urgent symptom ``utterance`` tells of, or None. Thoughts of self-harm count whatever else is said."""
    text = _plain(utterance)
    if not text:
        return None
    figurative = _NOT_A_SYMPTOM.sub(" ", text)
    for kind, rule in _RULES:
        if not rule.search(figurative):
            continue
        if kind != "self_harm" and _LONG_AGO.search(text):
            return None
        return kind
    return None


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
