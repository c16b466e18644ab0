"""The placeholder responder: says back, in Spanish, what it understood.

It stands behind the language-model port only until the dialogue policy replaces it; the engine does not
know the difference.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from engine.ports.language import LanguageModelEvent, Prompt, TextDelta


class EchoResponder:
    name = "echo"

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        heard = next((m.content for m in reversed(prompt.messages) if m.role == "user"), "").strip()
        if not heard:
            yield TextDelta("Perdona, no te escuché bien. ¿Me lo repites?")
            return
        yield TextDelta("Entendí: ")
        yield TextDelta(f"«{heard.rstrip('.')}». ")
        yield TextDelta("Muy pronto podré responderte con la información del centro.")
