"""Yes and no in the documents' sentences: whether a sentence says no of what a yes-or-no question asked ("La sede
de Santiago cierra los domingos" for "¿abren los domingos en Santiago?"), says it only of another place, says yes
or no of an asked word at all, or opens with a "Sí," that answers another question. Used by answers.py."""

from __future__ import annotations

import re

from adapters.policy.answer_types import AnswerType
from adapters.policy.when import plain
from adapters.policy.words import WHERE, stems

_NEGATED = re.compile(r"\b(?:no|sin|nunca|tampoco|ni)\b")  # a question that says no itself
_NO_OF = re.compile(
    r"\b(?:cierra|cierran|cerrad[oa]s?|evite|no (?:tiene|tienen|hay|cuenta con|ofrece|ofrecen|atiende|atienden|abre|"
    r"abren|acepta|aceptan|trabaja|trabajan|realiza|realizan|hace|hacen|se hace|se hacen|se realiza|se realizan|"
    r"tome|coma|beba|use|fume|se permite|se permiten)"
    r")\s+([^.;:,]+)"  # the rest of its clause: "cierra los domingos y los días feriados"
)


def says_no_of(
    sentence: str, question: str, topic: dict[str, float], same: dict[str, frozenset[str]]
) -> bool:
    """A yes-or-no question answered by a sentence that says no of what was asked, without a "No" of its own:
    "¿abren los domingos en Santiago?", "La sede de Santiago cierra los domingos y los días feriados." A question
    that says no itself ("¿puedo ir sin cita?", "¿no abren los domingos?") is not answered so."""
    flat, asked = plain(sentence), plain(question)
    if re.match(r"(?:si|no)\b", flat) or _NEGATED.search(asked):
        return False
    if re.search(
        r"\b(?:que|cual|cuales|cuando|cuanto|cuantos|donde|como|quien|hasta|desde|horarios?)\b", asked
    ):
        return False  # "¿qué días abren?", "horario del laboratorio los sábados" are not asked yes or no
    places = stems(flat) & WHERE
    if places and not places & stems(asked):
        return False  # "la sede de Santiago cierra ..." is no answer for the clinic as a whole
    return any(
        any(same[stem] & stems(m.group(1)) for stem in topic) and not _PART_OF_DAY.search(m.group(1))
        for m in _NO_OF.finditer(flat)
    )


# "cierra los sábados a las 12", "no atiende los lunes por la tarde": hours, or part of a day, not a no.
_PART_OF_DAY = re.compile(
    r"\b(?:a las|hasta las|desde las|mediodia|por la (?:manana|tarde|noche)|de la (?:manana|tarde|noche))\b"
    r"|\d{1,2}:\d\d"
)


def only_elsewhere(sentence: str, topic: dict[str, float]) -> bool:
    """A yes-or-no question about one place answered by a sentence that says "only" of another: "¿en Santiago
    hacen resonancia?", "La resonancia magnética solo está disponible en la sede de Santo Domingo." The answer is no."""
    asked = {stem for stem in topic if stem in WHERE}
    flat = plain(sentence)
    if not asked or not re.search(r"\b(?:solo|solamente|unicamente|nada mas)\b", flat):
        return False
    places = stems(flat) & WHERE
    return bool(places) and not places & asked


_POLARITY = re.compile(r"\b(?:sin|no|solo|tambien)\s+(?:(?:la|el|los|las|un|una|se|le|lo)\s+)?([a-z]{3,})")


def says_yes_or_no(flat: str, topic: dict[str, float], same: dict[str, frozenset[str]]) -> bool:
    """The sentence says yes or no of a word the question asked about ("sin cita", "no tiene emergencia"), or
    is a bare yes or no (the answer of a question-and-answer page, whose heading is the question)."""
    if re.fullmatch(r"(?:si|no)[.!]?", flat.strip()):
        return True
    for match in _POLARITY.finditer(flat):
        named = stems(match.group(1))
        if any(same[stem] & named for stem in topic):
            return True
    return False


def denies(sentence: str, kind: AnswerType, topic: dict[str, float], same: dict[str, frozenset[str]]) -> bool:
    """A yes-or-no question whose sentence opens with "Sí," but says no of what was asked ("¿el wifi tiene
    clave?": "Sí, la red se llama ... y no tiene contraseña"; "¿pa vacunar necesito cita?": "Sí, ... sin cita"):
    its "Sí" answers another question, so it is not said."""
    if kind not in ("yesno", "other") or not re.match(r"S[ií],", sentence):
        return False
    for match in re.finditer(
        r"\b(?:sin\s+|no\s+(?:(?:tiene|tienen|hay|lleva|llevan|necesita|necesitan|requiere|cobra|cobran)\s+)?)"
        r"(?:(?:la|el|los|las|un|una)\s+)?([a-z]{3,})",
        plain(sentence),
    ):
        if any(same[stem] & stems(match.group(1)) for stem in topic):
            return True
    return False


def lacks(flat: str, topic: dict[str, float], same: dict[str, frozenset[str]]) -> bool:
    """The sentence says the place has none of what was asked ("no tiene emergencia", "no hay laboratorio")."""
    for match in re.finditer(
        r"\bno (?:tiene|tienen|hay|cuenta con|ofrece|se ofrece)\s+(?:\w+\s+)?([a-z]{3,})", flat
    ):
        if any(same[stem] & stems(match.group(1)) for stem in topic):
            return True
    return False
