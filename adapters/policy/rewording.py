"""The booking's questions asked again in other words, as a receptionist does: after answering a question of the
caller's, after an answer that gave another detail than the one asked, or after words that were not understood.
The same question word for word sounds like a machine that did not listen."""

from __future__ import annotations

import re

# Other words for each question, by what it asks for ("phone:lookup": the phone of an appointment to find).
_OTHER_WORDS: dict[str, tuple[str, ...]] = {
    "service": ("¿Qué especialidad o qué médico busca?", "¿Con cuál especialidad sería la cita?"),
    "day": ("¿Y qué día le queda bien?", "¿Qué día prefiere para la cita?"),
    "which day": (),
    "other day": ("¿Qué día le vendría mejor?", "¿Me dice otro día que le convenga?"),
    "other time": ("¿Qué hora le vendría mejor ese día?", "¿A qué hora le queda bien ese día?"),
    "time": ("¿A qué día y hora se la paso?", "¿Qué día y hora le convienen?"),
    "correction": ("¿Qué dato cambio: el día, la hora, el nombre o el teléfono?",),
    "name:book": ("¿Y el nombre y apellido del paciente?", "¿Cómo se llama el paciente?"),
    "name:lookup": (
        "¿Cuál es el nombre completo del paciente, tal como se hizo la cita?",
        "Me falta el nombre y el apellido del paciente. ¿Cómo se llama?",
    ),
    "phone:book": ("¿Me da un número de teléfono de contacto?", "¿A qué número le puedo llamar?"),
    "phone:lookup": (
        "¿Y con qué número de teléfono se hizo la cita?",
        "Me falta el teléfono con el que se reservó. ¿Cuál es?",
    ),
    "which": (),
}
_LAST_QUESTION = re.compile(r"¿[^¿]*\?\s*$")


def reworded(what: str, kind: str, question: str, repeats: int) -> str:
    """``question`` (asking for ``what`` in a task of ``kind``) the ``repeats``-th time in a row: itself the first
    time, then other words."""
    if repeats <= 0:
        return question
    key = f"{what}:{'book' if kind == 'book' else 'lookup'}" if what in ("name", "phone") else what
    others = _OTHER_WORDS.get(key, ())
    if others:
        return others[(repeats - 1) % len(others)]
    ending = _LAST_QUESTION.search(question)
    asked = ending.group(0).strip() if ending else ""
    said = _LAST_QUESTION.sub("", question).strip()
    if what == "slot":  # "Tengo el lunes ... ¿Le sirve?": the same offer, said otherwise, the same question
        offer = said.removeprefix("Tengo disponible ").removeprefix("Tengo ")
        leads = ("Le repito lo que tengo:", "Sigo teniendo")
        return f"{leads[(repeats - 1) % 2]} {offer} {asked}"
    if what == "confirm":
        if question.startswith("¿Confirmo que cancelo"):
            return question.replace("¿Confirmo que cancelo", "Entonces, ¿le cancelo", 1)
        leads = ("Se lo repito:", "Le leo otra vez:")
        return f"{leads[(repeats - 1) % 2]} {said.removeprefix('Le confirmo: ')} {asked}"
    return question
