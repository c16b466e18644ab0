"""One conversation's dialogue: retrieval, the language model, its tool round trips and the memory.

Per user turn: the documents' passages for what was said are retrieved and put in the system prompt (their
document ids stay on the turn), the model streams its reply, and any tool calls it makes are run and sent
back to it until it answers in words. The voice session and `taina chat` both go through here, so what is
tested in text is what is spoken.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from engine.ports.knowledge import KnowledgeBase, Passage
from engine.ports.language import (
    Cited,
    LanguageModel,
    LanguageModelError,
    LanguageModelEvent,
    Message,
    Prompt,
    TextDelta,
    ToolCall,
)
from engine.spoken import written_day, written_time
from engine.tools import Action, Toolbox

log = structlog.get_logger("taina.dialogue")

NOT_AVAILABLE = "Disculpe, ahora mismo tengo un problema técnico. ¿Me lo puede repetir en un momento?"
TOO_MANY_STEPS = "Disculpe, no pude completar eso. ¿Le ayudo con otra cosa?"


class Preview:
    """A reply's first model step, started on an interim transcript before the turn is sure to be over
    (preemptive generation). Nothing it asks for is done: its events wait until ``Dialogue.reply`` is called
    with the same words, and are thrown away otherwise."""

    def __init__(self, said: str) -> None:
        self.said = said
        self.passages: list[Passage] = []
        self.retrieved = asyncio.Event()
        self._events: asyncio.Queue[LanguageModelEvent | BaseException | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def matches(self, said: str) -> bool:
        return _normal(self.said) == _normal(said)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def events(self) -> AsyncIterator[LanguageModelEvent]:
        while (event := await self._events.get()) is not None:
            if isinstance(event, BaseException):
                raise event
            yield event

    def _put(self, event: LanguageModelEvent | BaseException | None) -> None:
        self._events.put_nowait(event)


def _normal(text: str) -> str:
    return " ".join(text.lower().strip(" .,;:!?¿¡…").split())


@dataclass
class TurnOutcome:
    said: str
    reply: str = ""
    actions: list[Action] = field(default_factory=list)
    sources: tuple[str, ...] = ()
    completed: bool = False
    interrupted: bool = False  # the caller spoke over the reply; ``reply`` is then what was actually said

    def as_json(self) -> dict[str, object]:
        return {
            "reply": self.reply,
            "actions": [a.as_json() for a in self.actions],
            "sources": list(self.sources),
        }


class Dialogue:
    def __init__(
        self,
        lm: LanguageModel,
        knowledge: KnowledgeBase | None = None,
        toolbox: Toolbox | None = None,
        *,
        system_prompt: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        passages: int = 4,
        min_similarity: float = 0.0,
        max_steps: int = 8,
        memory: int = 40,
    ) -> None:
        self.lm = lm
        self.knowledge = knowledge
        self.toolbox = toolbox or Toolbox()
        self.system_prompt = system_prompt
        self.history: list[Message] = []
        self.last: TurnOutcome | None = None
        self._now = now
        self._passages = passages
        self._min_similarity = min_similarity
        self._max_steps = max_steps
        self._memory = memory
        self._writes_done = asyncio.Event()  # clear while a write tool's round trip is in flight
        self._writes_done.set()

    async def interruptible(self) -> None:
        """Return once no booking write is half-way: its result is in the memory before the turn is cut."""
        await self._writes_done.wait()

    def opened_with(self, greeting: str) -> None:
        """The assistant spoke first: the model sees its greeting as the conversation's first message."""
        self.history.append(Message("assistant", greeting))

    def interrupted(self, spoken: str) -> None:
        """The caller interrupted the last reply after ``spoken``: remember only what was really said."""
        outcome = self.last
        if outcome is None:
            return
        outcome.interrupted, outcome.reply = True, spoken.strip()
        last = self.history[-1] if self.history else None
        if last is not None and last.role == "assistant" and not last.tool_calls:
            self.history.pop()
        if outcome.reply:
            self.history.append(Message("assistant", outcome.reply + "…"))

    def preview(self, said: str) -> Preview:
        """Start the reply to ``said`` now, in the background, for a ``reply`` that may come with it."""
        preview = Preview(said)

        async def run() -> None:
            try:
                preview.passages = await self._retrieve(said)
                preview.retrieved.set()
                messages = self._messages(preview.passages, Message("user", said))
                prompt = Prompt(messages, self.toolbox.specs, preview.passages, self._now())
                async for event in self.lm.respond(prompt):
                    preview._put(event)
                preview._put(None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # handed to the reply that takes this preview, which deals with it
                preview.retrieved.set()
                preview._put(exc)

        preview.task = asyncio.create_task(run(), name="dialogue-preview")
        return preview

    async def reply(self, said: str, preview: Preview | None = None) -> AsyncGenerator[str]:
        """Stream the reply to ``said`` as text pieces; ``self.last`` holds the turn's outcome when it ends.

        Closing the iteration early (barge-in) keeps what was already said in the memory, marked incomplete.
        """
        outcome = self.last = TurnOutcome(said)
        ahead = preview if preview is not None and preview.matches(said) else None
        if preview is not None and ahead is None:
            preview.cancel()
            log.info("dialogue.preview_discarded", previewed=preview.said, said=said)
        self.history.append(Message("user", said))
        if ahead is not None:
            await ahead.retrieved.wait()
            passages = ahead.passages
        else:
            passages = await self._retrieve(said)
        cited: tuple[str, ...] | None = None
        spoken: list[str] = []  # the whole turn's words
        text: list[str] = []  # this step's words (the last step's are the assistant's closing message)
        try:
            for step in range(self._max_steps):
                prompt = Prompt(self._messages(passages), self.toolbox.specs, passages, self._now())
                text = []
                calls: list[ToolCall] = []
                events = ahead.events() if ahead is not None and step == 0 else self.lm.respond(prompt)
                try:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            piece = event.text
                            if not text and spoken and not spoken[-1][-1:].isspace() and piece[:1] != " ":
                                piece = " " + piece  # a new step's words after the last step's
                            text.append(piece)
                            spoken.append(piece)
                            yield piece
                        elif isinstance(event, ToolCall):
                            calls.append(event)
                        elif isinstance(event, Cited):
                            cited = event.document_ids
                except LanguageModelError as exc:
                    log.error("dialogue.model_failed", model=self.lm.name, error=str(exc))
                    apology = (
                        NOT_AVAILABLE if not spoken or spoken[-1][-1:].isspace() else " " + NOT_AVAILABLE
                    )
                    text.append(apology)
                    spoken.append(apology)
                    yield apology
                    break
                if not calls:
                    break
                self.history.append(Message("assistant", "".join(text), tuple(calls)))
                writing = any(self.toolbox.writes(call.name) for call in calls)
                if writing:
                    self._writes_done.clear()
                try:
                    for call in calls:
                        action = await self.toolbox.call(call)
                        outcome.actions.append(action)
                        self.history.append(
                            Message(
                                "tool", json.dumps(action.result, ensure_ascii=False), tool_call_id=call.id
                            )
                        )
                finally:
                    self._writes_done.set()
            else:
                log.warning("dialogue.too_many_steps", steps=self._max_steps)
                text = [TOO_MANY_STEPS]
                spoken.append(TOO_MANY_STEPS)
                yield TOO_MANY_STEPS
            outcome.completed = True
        finally:
            if ahead is not None:
                ahead.cancel()
            outcome.reply = "".join(spoken).strip()
            if cited is None:
                cited = tuple(dict.fromkeys(p.document_id for p in passages)) if outcome.reply else ()
            outcome.sources = cited
            closing = "".join(text).strip()
            if closing:
                self.history.append(Message("assistant", closing))
            self._forget()

    async def _retrieve(self, said: str) -> list[Passage]:
        if self.knowledge is None or not said.strip():
            return []
        found = await self.knowledge.search(said, self._passages)
        return [p for p in found if p.similarity is None or p.similarity >= self._min_similarity]

    def _messages(self, passages: list[Passage], pending: Message | None = None) -> list[Message]:
        now = self._now()
        parts = [self.system_prompt] if self.system_prompt else []
        parts.append(f"Ahora es el {written_day(now.date())}, {written_time(now.time())}.")
        if passages:
            parts.append("Documentos del centro para esta pregunta:")
            parts += [f"[{p.document_id}] {p.title} — {p.heading}: {p.text}" for p in passages]
        else:
            parts.append("No se encontraron documentos para esta pregunta.")
        return [Message("system", "\n".join(parts)), *self.history, *([pending] if pending else [])]

    def _forget(self) -> None:
        """Keep the last ``memory`` messages, starting at a user turn (never a tool result without its call)."""
        if len(self.history) <= self._memory:
            return
        cut = len(self.history) - self._memory
        while cut < len(self.history) and self.history[cut].role != "user":
            cut += 1
        del self.history[:cut]
