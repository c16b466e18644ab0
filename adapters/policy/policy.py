"""The embedded language model: a deterministic Spanish dialogue policy behind the LanguageModel port.

It answers questions with the documents' own sentences (the passages the dialogue retrieved for the turn),
says honestly when it does not know, handles greetings, thanks, goodbyes and requests for a person, and books,
moves and cancels appointments through the same tools a cloud model calls (engine/appointment_tools.py).
One instance serves one conversation: it remembers the booking in progress.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import structlog

from adapters.policy.answer_types import answer_type, normalise
from adapters.policy.answers import NOT_EXACT, NOT_IN_PRICES, compose_answer
from adapters.policy.booking import Booking, Events
from adapters.policy.intents import Intent, asks_in_passing, classify
from adapters.policy.openings import opens_booking
from adapters.policy.when import plain
from engine.handoff import HAND_OFF, NO_TRANSFER, TRANSFERRING, transfers
from engine.ports.appointments import Catalogue
from engine.ports.language import Cited, LanguageModelEvent, Prompt, TextDelta, ToolCall

log = structlog.get_logger("taina.policy")

NOT_KNOWN = (
    "No tengo esa información. ¿Le puedo ayudar con otra cosa, como horarios, precios, seguros o médicos?"
)
# The name it says when it is given none (the default of TAINA_DIALOGUE_ASSISTANT_NAME).
DEFAULT_ASSISTANT = "TAINA"


def replies(assistant: str) -> dict[Intent, str]:
    """What it says to small talk, introducing itself as ``assistant``."""
    return {
        "greeting": f"¡Hola! Soy {assistant}, la asistente virtual. ¿En qué le puedo ayudar?",
        "thanks": "¡Con mucho gusto! ¿Le ayudo con algo más?",
        "goodbye": "Gracias por llamar. ¡Que tenga un buen día!",
        "human": NO_TRANSFER,
        "affirm": "Perfecto. ¿En qué más le puedo ayudar?",
        "deny": "Entendido. ¿En qué más le puedo ayudar?",
    }


REPLIES = replies(DEFAULT_ASSISTANT)
NO_BOOKING = {  # when no appointments system is configured
    "book": "Todavía no puedo hacer citas por voz. Puede reservarla por teléfono, por WhatsApp o en recepción.",
    "reschedule": "Todavía no puedo cambiar citas por voz. Puede hacerlo por teléfono, por WhatsApp o en recepción.",
    "cancel": "Todavía no puedo cancelar citas por voz. Puede hacerlo por teléfono, por WhatsApp o en recepción.",
}


class DialoguePolicy:
    """``assistant`` is the name it introduces itself by; ``now`` the clinic's clock, for prompts that bring no
    time (the dialogue gives every prompt its own); by default the computer's local time."""

    name = "policy"

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        assistant: str = DEFAULT_ASSISTANT,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        self.booking = Booking(catalogue) if catalogue is not None else None
        self.replies = replies(assistant)
        self._earlier = ""  # the caller's last question about the clinic, while no task is in progress
        self._now = now

    def offer_phone(self, number: str) -> None:
        """The number the call comes from: a booking starts with it (its confirmation reads it back)."""
        if self.booking is not None and self.booking.known_phone is None:
            digits = "".join(c for c in number if c.isdigit())
            self.booking.known_phone = digits[-10:] if len(digits) >= 10 else None

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        for event in self.step(prompt):
            yield event

    def step(self, prompt: Prompt) -> list[LanguageModelEvent]:
        now = prompt.now or self._now()
        last = prompt.messages[-1] if prompt.messages else None
        if last is not None and last.role == "tool" and _called(prompt, last.tool_call_id) == HAND_OFF:
            said = TRANSFERRING if transfers(_result(last.content)) else self.replies["human"]
            return [TextDelta(said), Cited(())]
        if last is not None and last.role == "tool" and self.booking is not None:
            return [*self.booking.result(_result(last.content), now), Cited(())]
        said = next((m.content for m in reversed(prompt.messages) if m.role == "user"), "").strip()
        events: list[LanguageModelEvent] = list(self._reply(said, prompt, now))
        if not any(isinstance(e, Cited) for e in events):
            events.append(Cited(()))  # booking and small talk draw on no document
        log.info(
            "policy.step",
            task=self.booking.task.kind if self.booking and self.booking.task else None,
            tools=[e.name for e in events if not isinstance(e, TextDelta | Cited)],
        )
        return events

    def _reply(self, said: str, prompt: Prompt, now: datetime) -> list[LanguageModelEvent]:
        booking = self.booking
        if booking is not None and booking.task is not None:
            handled: Events | None = booking.hear(said, now)
            if handled is not None and booking.also_asked:
                return self._answered_then(said, prompt, booking.topic(_asks_where(said)), list(handled))
            if handled is not None:
                return list(handled)
        intent = classify(said) if said else "information"
        if booking is not None and booking.task is not None and booking.in_passing:
            intent = "information"  # "y eso me cobran algo si la cancelo": answered, then the task goes on
        if intent == "human":  # marked as handed off; the reply comes with the tool's result
            call_id = f"handoff-{zlib.crc32(said.encode()):08x}"
            return [ToolCall(call_id, HAND_OFF, json.dumps({"reason": said[:200]}, ensure_ascii=False))]
        earlier, self._earlier = self._earlier, ""
        if (
            booking is not None
            and booking.task is None
            and intent in ("information", "affirm")
            and opens_booking(said, earlier, booking.catalogue, now)
        ):
            # "pa medicina general el sábado", or "ok, pa este sábado a las nueve" after an answer about a
            # doctor: a booking with the service or doctor named, now or in the question before
            return list(booking.start("book", said, now, earlier=earlier))
        if intent in ("book", "reschedule", "cancel"):
            if booking is None:
                return [TextDelta(NO_BOOKING[intent])]
            started: list[LanguageModelEvent] = list(booking.start(intent, said, now))
            if asks_in_passing(said):  # "quiero mover mi cita, ¿hasta cuándo puedo hacer el cambio?"
                return self._answered_then(said, prompt, "", started, sure=True)
            return started
        kept = booking.keep_caller(said) if booking is not None and booking.task is None else ""
        pending = booking.pending_question(now) if booking is not None else ""
        if intent != "information":
            reply = self.replies[intent]
            if pending and intent in ("greeting", "thanks"):
                reply = f"{reply.split('¿')[0].strip()} {pending}"
            elif kept and intent == "greeting":  # "hola, soy Ana Pérez": greeted by name
                reply = (
                    f"{reply.split('¿')[0].strip()} {kept} ¿{reply.split('¿', 1)[1]}"
                    if "¿" in reply
                    else reply
                )
            return [TextDelta(reply), Cited(())]
        about = booking.service_in_progress(said) if booking is not None else ""
        topic = booking.topic(_asks_where(said)) if booking is not None and not about else ""
        question = f"{said} {about}".strip() if about else said
        answer = compose_answer(question, list(prompt.passages), context=topic)
        if booking is not None and booking.task is None:
            self._earlier = said  # what the caller asked about: a day said next books it
        if answer is None and kept:
            return [TextDelta(f"{kept} ¿En qué le puedo ayudar?"), Cited(())]
        if answer is None:
            return [
                TextDelta(NOT_KNOWN if not pending else f"No tengo esa información. {pending}"),
                Cited(()),
            ]
        return [TextDelta(f"{answer.text} {pending}".strip()), Cited(answer.document_ids)]

    @staticmethod
    def _answered_then(
        said: str, prompt: Prompt, topic: str, events: list[LanguageModelEvent], sure: bool = False
    ) -> list[LanguageModelEvent]:
        """A yes that also asks a fact ("sí, ¿y cuánto cuesta?"): the answer, then what the booking does next.
        With ``sure`` (a request that starts a task), only an answer the documents give outright is said first:
        "lo más cercano que tengo" is no preface to "¿para qué día la quiere?"."""
        answer = compose_answer(said, list(prompt.passages), context=topic)
        if answer is None or (sure and answer.text.startswith((NOT_EXACT, NOT_IN_PRICES))):
            return events
        if events and isinstance(events[0], TextDelta):
            first = TextDelta(f"{answer.text} {events[0].text}")
            return [first, *events[1:], Cited(answer.document_ids)]
        return [TextDelta(answer.text), *events, Cited(answer.document_ids)]


def _asks_where(said: str) -> bool:
    return answer_type(normalise(plain(said))) == "place"


def _called(prompt: Prompt, call_id: str) -> str:
    """The name of the tool whose result has ``call_id``."""
    for message in reversed(prompt.messages):
        for call in message.tool_calls:
            if call.id == call_id:
                return call.name
    return ""


def _result(content: str) -> dict[str, Any]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {"error": "unreadable tool result"}
    return parsed if isinstance(parsed, dict) else {"error": "unexpected tool result"}
