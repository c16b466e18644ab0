"""The embedded language model: a deterministic Spanish dialogue policy behind the LanguageModel port.

It answers questions with the knowledge base's own sentences, says honestly when it does not know, and handles
greetings, thanks, goodbyes and requests for a person. Booking, moving and cancelling appointments by voice
are the next step of the dialogue work: until the appointments service exists it says how to book instead
of pretending to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import structlog

from adapters.policy.answers import compose_answer
from adapters.policy.intents import Intent, classify
from engine.ports import KnowledgeBase, LanguageModelEvent, Message, TextDelta

log = structlog.get_logger("taina.policy")

NOT_KNOWN = (
    "No tengo esa información. ¿Le puedo ayudar con otra cosa, como horarios, precios, seguros o médicos?"
)
REPLIES: dict[Intent, str] = {
    "greeting": "¡Hola! Soy TAINA, la asistente virtual. ¿En qué le puedo ayudar?",
    "thanks": "¡Con mucho gusto! ¿Le ayudo con algo más?",
    "goodbye": "Gracias por llamar. ¡Que tenga un buen día!",
    "human": "Todavía no puedo pasarle con una persona desde aquí. Puede llamar a recepción en horario de oficina.",
    "affirm": "Perfecto. ¿En qué más le puedo ayudar?",
    "deny": "Entendido. ¿En qué más le puedo ayudar?",
    "book": "Todavía no puedo hacer citas por voz. Puede reservarla por teléfono, por WhatsApp o en recepción.",
    "reschedule": "Todavía no puedo cambiar citas por voz. Puede hacerlo por teléfono, por WhatsApp o en recepción.",
    "cancel": "Todavía no puedo cancelar citas por voz. Puede hacerlo por teléfono, por WhatsApp o en recepción.",
}


class DialoguePolicy:
    name = "policy"

    def __init__(self, knowledge: KnowledgeBase, passages: int = 5) -> None:
        self._knowledge = knowledge
        self._passages = passages
        self.last_sources: tuple[str, ...] = ()

    async def respond(self, conversation: Sequence[Message]) -> AsyncIterator[LanguageModelEvent]:
        said = next((m.content for m in reversed(conversation) if m.role == "user"), "").strip()
        intent = classify(said) if said else "information"
        self.last_sources = ()
        if intent != "information":
            reply = REPLIES[intent]
        else:
            answer = compose_answer(said, await self._knowledge.search(said, self._passages))
            if answer is None:
                reply = NOT_KNOWN
            else:
                reply = answer.text
                self.last_sources = answer.document_ids
        log.info("policy.reply", intent=intent, sources=list(self.last_sources))
        yield TextDelta(reply)
