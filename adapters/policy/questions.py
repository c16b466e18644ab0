"""The booking's questions, in Spanish: what to ask for each thing a task awaits, and the read-back of every
detail before a write."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.policy.phrasing import doctor_words, service_words, site_words, slot_words
from engine.spoken import written_day, written_phone

if TYPE_CHECKING:
    from adapters.policy.booking import Task

VERB = {"book": "reservar", "reschedule": "cambiar", "cancel": "cancelar"}


def question(task: Task, service: str) -> str:
    """What to ask for what ``task`` awaits (``service``: the name of its service, in lower case)."""
    what = task.awaiting
    if what == "service":
        return "¿Con qué especialidad o con qué médico desea la cita?"
    if what == "which day" and task.when.unsure:
        dated, _weekday = task.when.unsure  # the weekday's date is not said: the caller said no such number
        return (
            f"El {dated.day} de {written_day(dated).split(' de ')[-1]} cae {written_day(dated).split()[0]}. "
            f"¿La quiere el {written_day(dated).split()[0]} {dated.day}, o me dice otra fecha?"
        )
    if what == "day":
        return "¿Para qué día la quiere? Por ejemplo, mañana o el jueves que viene."
    if what == "other day":
        return "¿Qué otro día le conviene?"
    if what == "other time":
        return "¿A qué otra hora le conviene ese día?"
    if what == "correction":
        return "¿Qué desea corregir: el día, la hora, el nombre o el teléfono?"
    if what in ("time", "day") and task.kind == "reschedule":
        return "¿Para qué día y a qué hora la quiere mover?"
    if what == "slot" and task.slot:
        if task.when.at is not None and starts(task.slot) == task.when.at:
            return f"Tengo disponible {slot_words(task.slot)}. ¿Se la reservo?"
        return f"Tengo {slot_words(task.slot)}. ¿Le sirve?"
    if what == "name":
        if task.kind != "book":
            return "¿Y a nombre de quién está la cita? Dígame el nombre y el apellido del paciente."
        return "¿A nombre de quién hago la cita?"
    if what == "phone":
        if task.kind == "book":
            return "¿Y a qué número de teléfono le podemos llamar?"
        return f"Claro. Para {VERB[task.kind]} su cita, ¿me dice el número de teléfono con el que la hizo?"
    if what == "which":
        listed = "; ".join(f"{i + 1}, {service_words(c)} {c['when']}" for i, c in enumerate(task.choices[:4]))
        return f"Veo {len(task.choices)} citas a su nombre: {listed}. ¿Cuál desea {VERB[task.kind]}?"
    if what == "confirm":
        return read_back(task, service)
    return "¿Qué día y a qué hora le conviene?"


def read_back(task: Task, service: str) -> str:
    """Every detail of the write, read back for a yes."""
    if task.kind == "cancel" and task.appointment:
        a = task.appointment
        return f"¿Confirmo que cancelo su cita de {service_words(a)} con {doctor_words(a)} {a['when']}?"
    assert task.slot is not None
    if task.kind == "reschedule" and task.appointment:
        a = task.appointment
        return (
            f"Le confirmo: muevo su cita de {service_words(a)} con {doctor_words(a)} de {a['when']} a "
            f"{task.slot['when']}, en {site_words(task.slot)}. ¿Está bien?"
        )
    return (
        f"Le confirmo: cita de {service} con "
        f"{doctor_words(task.slot)} en {site_words(task.slot)}, {task.slot['when']}, a nombre de {task.name}, "
        f"teléfono {written_phone(task.phone or '')}. ¿Está correcto?"
    )


def starts(slot: dict[str, Any]) -> Any:
    """The offered slot's time of day, without its timezone."""
    return datetime.fromisoformat(slot["starts_at"]).time().replace(tzinfo=None)
