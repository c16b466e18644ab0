"""Booking, moving and cancelling an appointment by voice: the policy's slot filling, one task at a time.

A task gathers what it needs turn by turn (service, day and time, the caller's name and phone; or the phone, the
patient's name as booked, and which appointment: a phone alone never reads out, moves or cancels anything), asks for the first thing missing, calls the appointment tools when it can, and reads every
detail back for a yes before any write. A correction ("no, mejor a las cuatro") replaces just what it names.
The tools' results come back on the next step, as they would to any language model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from adapters.policy.answer_types import answer_type, normalise
from adapters.policy.details import find_details, find_name
from adapters.policy.intents import asks_in_passing, classify, is_question, is_yes
from adapters.policy.people import known_words
from adapters.policy.phrasing import doctor_words, say, service_words, site_words, slot_words
from adapters.policy.questions import question
from adapters.policy.rewording import reworded
from adapters.policy.when import When, parse_when, plain
from engine.ports.appointments import Catalogue
from engine.ports.language import TextDelta, ToolCall
from engine.spoken import written_day, written_phone

Kind = Literal["book", "reschedule", "cancel"]
Events = list[TextDelta | ToolCall]
LOOK_AHEAD_DAYS = 7  # when the asked day is full, the days searched for the nearest free time
_ABANDON = re.compile(r"\b(olvid\w*|dejal[oa]|deja eso|mejor no|ya no|no importa|no quiero|cancela eso)\b")
_ORDINALS = {"primer": 0, "primera": 0, "segunda": 1, "segundo": 1, "tercera": 2, "tercero": 2, "ultima": -1}
# A day said while the appointment to move is not found yet is the new one only with "para", "pa", "pal", "al"
# or "mejor" before it ("muévala pal viernes"); otherwise it describes the appointment ("la cita del lunes").
_TO_NEW_DAY = re.compile(r"\b(para|pa|pal|al|mejor|hasta)\b")
# Turning down the offered time: "el jueves no puedo", "a esa hora no me sirve" (then maybe another: "mejor el
# viernes").
# The appointment described by its day, not a new day: "ana pérez, la que tengo para el martes".
_DESCRIBES_IT = re.compile(
    r"\b(?:la|el) que (?:tengo|tenia|tiene|saque|hice)\b|\bmi cita (?:del|de el|para el|pa el)\b"
)
_REFUSAL = re.compile(
    r"\bno (?:puedo|podre|voy a poder|vo a poder|lo puedo|me (?:sirve|conviene|queda|viene|funciona|da))\b"
    r"|\b(?:imposible|no se me hace)\b"
)
_INSTEAD = re.compile(r"\b(?:mejor|sino|prefiero|que tal|pero|entonces|mas bien)\b")
_THAT_DAY = re.compile(r"\b(?:ese|el|este) dia\b|\besa fecha\b")
_THAT_TIME = re.compile(r"\b(?:esa|a esa|la) hora\b|\bese horario\b")
_SAME_TIME = re.compile(r"\b(?:a la |en la )?mism[ao] hora\b|\bmismo horario\b")
_EXPLICIT_CANCEL = re.compile(r"\b(?:cancel|anul|desmarc)\w*")


@dataclass
class Task:
    kind: Kind
    service: str | None = None
    doctor: str | None = None
    site: str | None = None
    when: When = field(default_factory=When)
    name: str | None = None
    phone: str | None = None
    slot: dict[str, Any] | None = None  # the slot offered (a list_available_slots result)
    accepted: bool = False  # the caller took the offered slot
    confirmed: bool = False  # the caller said yes to the read-back
    appointment: dict[str, Any] | None = None  # the appointment to move or cancel
    choices: list[dict[str, Any]] = field(default_factory=list)
    searched: tuple[str, str] | None = None  # the phone and name find_appointments was last called with
    search: str = "day"  # "day": the asked day; "week": the days after it; "any": any time of those days
    awaiting: str = ""  # what the last question asked for
    waiting_on: str = ""  # the tool whose result is due
    same_time: bool = False  # moving: "a la misma hora", the time of the appointment moved
    last_asked: str = ""  # the last question, in its first words
    repeats: int = 0  # how many times in a row it was asked again (then in other words)


class Booking:
    """The task in progress for one conversation, if any."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.task: Task | None = None
        self.known_phone: str | None = None  # the caller's, once given: not asked again in this conversation
        self.known_name: str | None = None
        self._calls = 0
        self._services = {s.id: s.name for s in catalogue.services}
        # The last words heard took the offered time (or the read-back) and also asked a fact ("sí, ¿y cuánto
        # cuesta?"): the policy answers it before the next question.
        self.also_asked = False
        # The last words heard were a question about the clinic in the middle of the task: answered first.
        self.in_passing = False

    # -- the caller spoke -------------------------------------------------------------------------------------

    def start(self, kind: Kind, said: str, now: datetime, earlier: str = "") -> Events:
        """A task of ``kind`` from ``said``; the service, doctor or site of ``earlier`` (the question just
        answered: "¿el pediatra de Santiago trabaja los sábados?") when ``said`` names none."""
        self.task = Task(kind, phone=self.known_phone, name=self.known_name)
        before = find_details(earlier, self.catalogue) if earlier else None
        if before is not None and (before.service_named or before.doctor_id):
            self.task.service, self.task.doctor, self.task.site = (
                before.service_id,
                before.doctor_id,
                before.site_id,
            )
        self._take(self.task, said, now)
        return self._advance(self.task, now)

    def keep_caller(self, said: str) -> str:
        """The caller's own name ("soy ...", "me llamo ...") or phone said before any task: kept for the task to
        come. Returns the words that acknowledge it, or "" when nothing new was said."""
        phone = find_details(said, self.catalogue).phone if not is_question(said) else None
        own = re.search(r"\b(?:soy|me llamo|mi nombre es)\b", plain(said))
        name = find_name(said, expecting=False) if own else None
        kept = []
        if name and name != self.known_name:
            self.known_name = name
            kept.append(f"Mucho gusto, {name}.")
        if phone and phone != self.known_phone:
            self.known_phone = phone
            kept.append("Anotado su número.")
        return " ".join(kept)

    def hear(self, said: str, now: datetime) -> Events | None:
        """The caller's next words for the task in progress; None when they are about something else."""
        task = self.task
        assert task is not None
        self.also_asked = self.in_passing = False
        intent = classify(said)
        text = plain(said)
        if task.slot and _REFUSAL.search(text) and not _EXPLICIT_CANCEL.search(text):
            # The time offered (or taken at once, being the one asked for) turned down; once past the offer,
            # only when the words name that day or time ("ese día no puedo", not "no puedo darle el número").
            names_when = bool(
                _THAT_DAY.search(text) or _THAT_TIME.search(text) or not parse_when(said, now).empty
            )
            if task.awaiting == "slot" or (names_when and task.awaiting in ("name", "phone", "confirm")):
                return self._refused(task, said, now)
        if intent in ("goodbye", "human") or (_ABANDON.search(text) and intent not in ("affirm",)):
            self.task = None
            if intent in ("goodbye", "human"):
                return None
            return say("Está bien, lo dejamos así; no hice ningún cambio. ¿Le ayudo con otra cosa?")
        if intent in ("cancel", "reschedule") and intent != task.kind and not parse_when(said, now).day:
            return self.start(intent, said, now)  # "mejor quiero cancelar mi cita"
        if asks_in_passing(said) and not find_details(said, self.catalogue).phone:
            yes = task.awaiting in ("slot", "confirm") and is_yes(said)
            if not yes and parse_when(said, now).empty:
                self.in_passing = True
                return None  # a question in the middle ("¿cuánto cuesta?"): answered, then the task's question again
            # "sí, ¿y cuánto cuesta?", "el lunes a las diez, ¿y allá tienen parqueo?": what it gives is taken, the
            # question answered too
            self.also_asked = True
        if (
            task.kind == "cancel"
            and not task.confirmed
            and not _EXPLICIT_CANCEL.search(text)
            and _new_when(said, now).day is not None
            and not _DESCRIBES_IT.search(text)
        ):
            task.kind = "reschedule"  # "no voy a poder ir" then "pa el martes en la tarde": a move after all
        moved, about_person = self._take(task, said, now)
        changed = moved or about_person
        awaiting = task.awaiting
        if awaiting in ("slot", "confirm") and is_yes(said):
            intent = "affirm"  # "sí, cancélela", "sí, resérvela"
        if awaiting == "slot" and task.slot and not moved and (about_person or self._picks_offer(said, now)):
            intent = "affirm"  # "Ana Pérez", "la de las nueve y cuarenta": the offer is taken
        if (
            task.kind != "book"
            and task.appointment is None
            and awaiting == "name"
            and task.name is None
            and intent != "deny"
        ):
            # "sí, cancélela", "ponla pal viernes 4": kept for later, but nothing is looked up without the name
            noted = self._noted(task) if moved else ""
            need = "Para buscarla necesito también el nombre y apellido del paciente."
            if task.last_asked == need:  # said already: asked now in other words
                task.last_asked = self._question(task, now)
                return self._ask(task, "name", now, noted)
            task.last_asked = need
            return say(f"{noted} {need}".strip())
        if (
            awaiting in ("name", "phone")
            and task.kind == "book"
            and task.accepted
            and not changed
            and (is_yes(said) or intent == "book")
        ):
            # "ok, resérveme esa" after the offer was taken: understood, and the booking goes on
            return self._ask(task, awaiting, now, "Sí, esa es la que le voy a reservar.")
        if awaiting == "which" and task.appointment is None:
            chosen = self._choose(task, said, now)
            if chosen is not None:
                task.appointment, task.choices = chosen, []
                changed = True
        if intent == "affirm" and not moved:
            if awaiting == "slot":
                task.accepted = True
            elif awaiting == "confirm" and not about_person:
                task.confirmed = True
            elif not changed:
                return say(self._again(task, now))  # a yes to a question that wanted something else
        elif intent == "deny" and not changed:
            if awaiting == "slot":
                task.slot, task.when = None, When(task.when.day)
                return self._ask(task, "time", now)
            if awaiting == "confirm":
                return self._ask(task, "correction", now, "Entendido.")
            self.task = None
            return say("Está bien, lo dejamos así; no hice ningún cambio. ¿Le ayudo con otra cosa?")
        elif not changed:
            if (intent == "information" and "?" in said) or intent in ("greeting", "thanks"):
                return None  # a question in the middle: answered, then the task's question again
            return say("Disculpe, no le entendí. " + self._again(task, now))
        events = self._advance(task, now)
        if task.repeats and len(events) == 1 and isinstance(events[0], TextDelta):
            # Another detail than the one asked for ("en la capital" for the day): taken, and asked otherwise
            return [TextDelta(f"Perfecto, anotado. {events[0].text}")]
        return events

    def _refused(self, task: Task, said: str, now: datetime) -> Events:
        """The offered time turned down: another one named after it ("no puedo, mejor el viernes") is taken;
        otherwise a refused day ("el jueves no puedo") asks for another day, a refused time for another time."""
        offered = datetime.fromisoformat((task.slot or {})["starts_at"]).date()
        parts = _INSTEAD.split(said, maxsplit=1)
        instead = parts[1] if len(parts) > 1 else ""
        if instead and not parse_when(instead, now).empty:
            task.slot, task.accepted = None, False
            self._take(task, instead, now)
            return self._advance(task, now)
        refused = parse_when(parts[0], now)
        if _THAT_DAY.search(plain(parts[0])):  # "ese día no puedo"
            refused = When(offered)
        task.slot, task.accepted, task.confirmed, task.search = None, False, False, "day"
        if refused.day is not None:
            task.when = When()
            return self._ask(task, "other day", now, "Entendido.")
        task.when = When(offered)
        return self._ask(task, "other time", now, "Entendido.")

    def topic(self, where: bool = False) -> str:
        """What the task is about, for a question that names nothing: its service ("¿y cuánto cuesta?"), or
        asked ``where``, the site of the time offered or of the appointment ("¿y dónde queda eso?")."""
        task = self.task
        if task is None:
            return ""
        if where:
            site = task.site or (task.slot or task.appointment or {}).get("site_id")
            return next((s.name for s in self.catalogue.sites if s.id == site), "")
        service = task.service or (task.appointment or {}).get("service_id")
        return self._services.get(service or "", "")

    def _picks_offer(self, said: str, now: datetime) -> bool:
        """The caller names the offered time itself ("la de las nueve y cuarenta"): that is taking it."""
        when = parse_when(said, now)
        offered = self.task.slot if self.task else None
        return bool(offered) and "?" not in said and when.at is not None and _agrees(when, offered or {})

    @staticmethod
    def _noted(task: Task) -> str:
        """That the new day and time were kept, while the name is still missing (not read out: the caller's
        own words are no schedule, the read-back after the search says the time found)."""
        return "Anotado." if task.when.day or task.when.at else ""

    def service_in_progress(self, said: str) -> str:
        """The service of the booking in progress when a price question names none ("¿y cuánto me sale la
        consulta sin seguro?" while booking endocrinology asks the endocrinology price), else ""."""
        task = self.task
        service = task.service if task else None
        text = plain(said)
        if service is None or answer_type(normalise(text)) != "price":
            return ""
        if not re.search(r"\b(consulta|cita|turno|sesion)\b", text) and len(text.split()) > 4:
            return ""  # the price of something else ("¿cuánto cuesta el parqueo?")
        if find_details(said, self.catalogue).service_id is not None:
            return ""
        return self._services.get(service, "")

    def pending_question(self, now: datetime) -> str:
        return self._again(self.task, now) if self.task else ""

    def _take(self, task: Task, said: str, now: datetime) -> tuple[bool, bool]:
        """Put what ``said`` mentions into the task: (the appointment changed, the patient's details changed)."""
        moved = False
        details = find_details(said, self.catalogue)
        slot = task.slot or {}
        if task.kind == "book":
            for part in ("service", "doctor", "site"):
                value = getattr(details, f"{part}_id")
                if part == "service" and task.service and not details.service_named:
                    continue  # "a nombre de mi hija, ..." changes no specialty chosen before
                if value and value != getattr(task, part):
                    setattr(task, part, value)
                    if part == "service" and task.doctor and self._doctorservice_words(task.doctor) != value:
                        task.doctor = None
                    moved = moved or slot.get(f"{part}_id") != value  # "sí, en Santiago" of a Santiago slot
        if task.kind == "reschedule" and not task.same_time and _SAME_TIME.search(plain(said)):
            task.same_time = moved = True  # the time is kept once the appointment is known (see _advance)
        name = find_name(said, expecting=task.awaiting == "name", correcting=task.awaiting == "confirm")
        if name is None and task.awaiting == "slot" and task.kind == "book" and not is_yes(said):
            # Answering the offer with a name ("Génesis Paulino") takes it; one word could be anything.
            bare = find_name(said, expecting=True)
            name = bare if bare and len(bare.split()) >= 2 else None
        if name is None and task.kind != "book" and task.appointment is None and task.awaiting != "name":
            # Looking an appointment up, a name may come before it is asked ("rafael emilio guerrero", "carmen
            # reyes, ocho cero nueve..."): a name of known names and surnames, two words at least.
            clauses = [find_name(clause, expecting=True) for clause in re.split(r"[,.;]", said)]
            name = next((n for n in clauses if n and len(n.split()) >= 2 and known_words(n) >= 1), None)
        # A name is no date: "Domingo Savio Martínez" is not a Sunday.
        when = parse_when(_without(said, name), now)
        if task.kind == "reschedule" and task.appointment is None:
            when = _new_when(_without(said, name), now)
        if task.when.unsure and when.day is not None and when.day not in task.when.unsure:
            # "¿el miércoles 9 o el martes 8?" - "el martes": the candidate on that weekday
            same = [d for d in task.when.unsure if d.weekday() == when.day.weekday()]
            when = When(same[0], when.at, when.part_of_day) if same else when
        if not when.empty and task.kind != "cancel" and not _agrees(when, slot):
            task.when = when.merged_into(task.when)
            moved = True
        if moved:
            task.slot, task.accepted, task.confirmed, task.search = None, False, False, "day"
        person = False
        if details.phone and details.phone != task.phone:
            task.phone, person = details.phone, True
        if name and name != task.name and (task.kind == "book" or task.appointment is None):
            task.name, person = name, True
        if person:
            task.confirmed = False
        return moved, person

    def _choose(self, task: Task, said: str, now: datetime) -> dict[str, Any] | None:
        text = plain(said)
        for word, index in _ORDINALS.items():
            if re.search(rf"\b{word}\b", text) and task.choices:
                return task.choices[index] if index < len(task.choices) else None
        day = parse_when(said, now).day
        details = find_details(said, self.catalogue)
        for choice in task.choices:
            starts = datetime.fromisoformat(choice["starts_at"])
            if (day and starts.date() == day) or (
                details.service_id and details.service_id == choice["service_id"]
            ):
                return choice
        return None

    # -- what to do next --------------------------------------------------------------------------------------

    def _advance(self, task: Task, now: datetime) -> Events:
        if task.same_time and task.appointment and task.when.at is None:
            at = datetime.fromisoformat(task.appointment["starts_at"]).time().replace(tzinfo=None)
            task.when = When(task.when.day, at, None, task.when.unsure)
        if task.kind != "book" and task.appointment is None:
            if task.phone is None:
                return self._ask(task, "phone", now)
            if task.name is None:  # the second check: the patient's name as booked
                return self._ask(task, "name", now)
            if task.searched != (task.phone, task.name) or not task.choices:
                task.searched = (task.phone, task.name)
                arguments = {"patient_phone": task.phone, "patient_name": task.name}
                return self._call(task, "find_appointments", arguments)
            return self._ask(task, "which", now)
        if task.kind == "cancel":
            if not task.confirmed:
                return self._ask(task, "confirm", now)
            return self._call(
                task,
                "cancel_appointment",
                {"appointment_id": _id(task.appointment), "patient_confirmed": True},
            )
        if task.kind == "book" and task.service is None:
            return self._ask(task, "service", now)
        if task.when.day is None:
            return self._ask(task, "which day" if task.when.unsure else "day", now)
        if task.slot is None:
            return self._list_slots(task)
        if not task.accepted:
            return self._ask(task, "slot", now)
        if task.kind == "book" and task.name is None:
            return self._ask(task, "name", now)
        if task.kind == "book" and task.phone is None:
            return self._ask(task, "phone", now)
        if not task.confirmed:
            return self._ask(task, "confirm", now)
        if task.kind == "reschedule":
            arguments = {"appointment_id": _id(task.appointment), "slot_id": task.slot["slot_id"]}
            return self._call(task, "reschedule_appointment", {**arguments, "patient_confirmed": True})
        return self._call(
            task,
            "book_appointment",
            {
                "slot_id": task.slot["slot_id"],
                "patient_name": task.name,
                "patient_phone": task.phone,
                "patient_confirmed": True,
            },
        )

    def _list_slots(self, task: Task) -> Events:
        """The slots of the asked day; then of the week after it; then of that week at any time of day."""
        asked = task.when.day
        assert asked is not None
        at = task.when.at
        part = task.when.part_of_day
        if at is not None:
            part = "mañana" if at.hour < 12 else "tarde" if at.hour < 18 else "noche"
        if task.search == "any":
            at, part = None, None
        first = asked + timedelta(days=1) if task.search == "week" else asked
        source = task.appointment or {}
        return self._call(
            task,
            "list_available_slots",
            {
                "service_id": task.service or source.get("service_id"),
                "date": first.isoformat(),
                "site_id": task.site or source.get("site_id"),
                "doctor_id": task.doctor or source.get("doctor_id"),
                "part_of_day": part,
                "from_time": at.strftime("%H:%M") if at else None,
                "days": 1 if task.search == "day" else LOOK_AHEAD_DAYS,
            },
        )

    def _call(self, task: Task, tool: str, arguments: dict[str, Any]) -> Events:
        self._calls += 1
        task.waiting_on = tool
        return [ToolCall(f"policy_{self._calls}", tool, json.dumps(arguments, ensure_ascii=False))]

    def _ask(self, task: Task, what: str, now: datetime, before: str = "") -> Events:
        task.awaiting = what
        return say((before + " " + self._again(task, now)).strip())

    def _again(self, task: Task, now: datetime) -> str:
        """The question for what the task awaits: in other words when it was just asked."""
        question = self._question(task, now)
        task.repeats = task.repeats + 1 if question == task.last_asked else 0
        task.last_asked = question
        return reworded(task.awaiting, task.kind, question, task.repeats)

    def _question(self, task: Task | None, now: datetime) -> str:
        return question(task, self._what(task)) if task is not None else ""

    def _doctorservice_words(self, doctor: str) -> str | None:
        return next((d.service_id for d in self.catalogue.doctors if d.id == doctor), None)

    # -- a tool answered --------------------------------------------------------------------------------------

    def result(self, result: dict[str, Any], now: datetime) -> Events:
        task = self.task
        if task is None:
            return say("Listo. ¿Le ayudo con algo más?")
        tool, task.waiting_on = task.waiting_on, ""
        error = result.get("error")
        if tool == "list_available_slots":
            return self._slots_found(task, result, now)
        if tool == "find_appointments":
            return self._appointments_found(task, result, now)
        if error and tool in ("book_appointment", "reschedule_appointment") and "slot" in str(error):
            task.slot, task.accepted, task.confirmed = None, False, False
            events = say("Ese horario se acaba de ocupar.")
            return events + self._list_slots(task)
        if not error and task.phone:
            self.known_phone = task.phone
            self.known_name = task.name or self.known_name
        if error:
            self.task = None
            return say(
                "Disculpe, no pude completar el cambio en la agenda. Puede intentarlo de nuevo o llamar a recepción."
            )
        self.task = None
        if "booked" in result:
            a = result["booked"]
            return say(
                f"¡Listo! Su cita de {service_words(a)} quedó reservada para {a['when']} con {doctor_words(a)}, en "
                f"{site_words(a)}. Le recomendamos llegar quince minutos antes. ¿Le ayudo con algo más?"
            )
        if "rescheduled" in result:
            a = result["rescheduled"]
            return say(
                f"Listo, su cita con {doctor_words(a)} quedó para {a['when']}. ¿Le ayudo con algo más?"
            )
        a = result["cancelled"]
        return say(f"Su cita de {service_words(a)} de {a['when']} quedó cancelada. ¿Le ayudo con algo más?")

    def _slots_found(self, task: Task, result: dict[str, Any], now: datetime) -> Events:
        slots = result.get("slots") or []
        asked = task.when.day
        if result.get("error") or asked is None:
            task.when = When()
            return self._ask(task, "day", now, "Disculpe, no pude consultar ese día.")
        if not slots:
            restricted = task.when.at is not None or task.when.part_of_day is not None
            if task.search == "day" or (task.search == "week" and restricted):
                task.search = "week" if task.search == "day" else "any"
                return self._list_slots(task)
            task.when, task.search = When(), "day"
            return self._ask(
                task,
                "time",
                now,
                f"No encuentro horarios libres en los próximos días para {self._what(task)}.",
            )
        slot = slots[0]
        task.slot = slot
        starts = datetime.fromisoformat(slot["starts_at"])
        exact = task.search == "day" and task.when.at is not None and starts.time() == task.when.at
        if exact and task.kind == "book" and (task.name is None or task.phone is None):
            # The time asked for: "¿Se la reservo?" first. Callers answer an offer before anything else, so a
            # name question in the same breath got a "sí" and had to be asked again.
            return self._ask(task, "slot", now)
        if exact:
            task.accepted = True
            return self._advance_with(task, now, f"Tengo disponible {slot_words(slot)}.")
        if task.search == "any":
            reason = "A esa hora no tengo espacio en los próximos días."
        elif task.search == "week":
            reason = f"Para el {written_day(asked)} no me quedan horarios de {self._what(task)}."
        elif task.when.at is not None:
            reason = "A esa hora no tengo espacio."
        else:
            reason = ""
        task.search = "day"
        task.when = When(starts.date(), None, task.when.part_of_day)
        return self._ask(task, "slot", now, reason)

    def _appointments_found(self, task: Task, result: dict[str, Any], now: datetime) -> Events:
        found = result.get("appointments") or []
        if "full name" in str(result.get("error", "")):
            task.name = task.searched = None
            return self._ask(task, "name", now, "Necesito el nombre y el apellido con que se hizo la cita.")
        if result.get("error") or not found:  # the same words for an unknown phone and a name that is not its
            phone = written_phone(task.phone or "")
            name = task.name
            task.phone = task.name = task.searched = None
            return self._ask(
                task,
                "phone",
                now,
                f"No encuentro citas próximas con el número {phone} a nombre de {name}. Por seguridad, solo "
                "puedo consultar una cita con el teléfono y el nombre completo con que se reservó.",
            )
        task.choices = found
        if len(found) == 1:
            task.appointment = found[0]
            a = task.appointment
            before = f"Encontré su cita de {service_words(a)} con {doctor_words(a)} {a['when']}."
            if task.kind == "cancel":
                return self._ask(task, "confirm", now, before)
            if task.when.day is None:
                return self._ask(task, "time", now, before)
            return self._advance_with(task, now, before)
        return self._ask(task, "which", now)

    def _advance_with(self, task: Task, now: datetime, before: str) -> Events:
        events = self._advance(task, now)
        if events and isinstance(events[0], TextDelta):
            return [TextDelta(f"{before} {events[0].text}"), *events[1:]]
        return [*say(before), *events]

    def _what(self, task: Task) -> str:
        service = self._services.get(
            task.service or (task.appointment or {}).get("service_id", ""), "esa cita"
        )
        return service.lower()


def _agrees(when: When, slot: dict[str, Any]) -> bool:
    """What was said is the offered slot's own day and time ("sí, a las cuatro está bien" of a four o'clock
    slot): a yes, not a correction."""
    if not slot or when.unsure:
        return False
    starts = datetime.fromisoformat(slot["starts_at"])
    part = "mañana" if starts.hour < 12 else "tarde" if starts.hour < 18 else "noche"
    return (
        when.day in (None, starts.date())
        and when.at in (None, starts.time().replace(tzinfo=None))
        and when.part_of_day in (None, part)
    )


def _new_when(said: str, now: datetime) -> When:
    """The new day and time in words about a move whose appointment is not found yet: what follows the last
    "para"/"pal" that names a day ("mi cita del lunes, pásemela pal viernes" is Friday), or what follows the
    first one; nothing without one ("tengo una cita el lunes y quería moverla": that lunes is the appointment's)."""
    text = plain(said)
    starts = [m.start() for m in _TO_NEW_DAY.finditer(text)]
    for at in reversed(starts):
        when = parse_when(text[at:], now)
        if when.day is not None or when.unsure:
            return when
    return parse_when(text[starts[0] :], now) if starts else When()


def _without(said: str, name: str | None) -> str:
    """``said`` without the name in it (compared without accents or case)."""
    if not name:
        return said
    text = plain(said)
    at = text.find(plain(name))
    return said if at < 0 or len(text) != len(said) else said[:at] + " " + said[at + len(name) :]


def _id(appointment: dict[str, Any] | None) -> str:
    assert appointment is not None
    return str(appointment["appointment_id"])
