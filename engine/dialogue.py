"""One conversation's dialogue: retrieval, the language model, its tool round trips and the memory.

Per user turn: the documents' passages for what was said are retrieved and put in the system prompt (their
document ids stay on the turn), the model streams its reply, and any tool calls it makes are run and sent
back to it until it answers in words. The voice session and `taina chat` both go through here, so what is
tested in text is what is spoken.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime

import structlog

from engine.handoff import HAND_OFF, transfers
from engine.ports.knowledge import KnowledgeBase, Passage
from engine.ports.language import (
    Cited,
    LanguageModel,
    LanguageModelError,
    LanguageModelEvent,
    Message,
    Prompt,
    TextDelta,
    TokenUsage,
    ToolCall,
)
from engine.reply import Outcome, Reply
from engine.spoken import written_day, written_time
from engine.tools import Action, Toolbox
from engine.tracing import Step, tracer
from engine.urgent import HANDED_OFF, HANDED_OFF_TRANSFER, UrgentCheck, is_yes

log = structlog.get_logger("taina.dialogue")

NOT_AVAILABLE = "Disculpe, ahora mismo tengo un problema técnico. ¿Me lo puede repetir en un momento?"
TOO_MANY_STEPS = "Disculpe, no pude completar eso. ¿Le ayudo con otra cosa?"
# A tool call's answer when the turn was cut before its result came (every call in the history is answered).
CANCELLED = {"error": "cancelled: the caller interrupted"}
_STILL_WRITING = {"error": "cancelled: the caller interrupted while this was being done; outcome not known"}


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
        self.tokens: list[TokenUsage] = []  # its model request's usage, once the model reports it

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
        urgent: UrgentCheck | None = None,
    ) -> None:
        self.lm = lm
        self.knowledge = knowledge
        self.toolbox = toolbox or Toolbox()
        self.system_prompt = system_prompt
        self.history: list[Message] = []
        self._last: Reply | None = None
        self._now = now
        self._passages = passages
        self._min_similarity = min_similarity
        self._max_steps = max_steps
        self._memory = memory
        self._writes_done = asyncio.Event()  # clear while a write tool's round trip is in flight
        self._writes_done.set()
        self.likely_phone: str | None = None  # the number the call comes from (a phone caller), if known
        self.urgent = urgent  # urgent symptoms answered before the model (engine/urgent.py)
        self._urgent_offered = ""  # what the caller said when the last reply offered to let the staff know

    def offer_phone(self, number: str) -> None:
        """The number the call comes from (LiveKit SIP's ``sip.phoneNumber``): the likely phone for a booking,
        told to the model and offered to a policy that can take it; the caller is still asked to confirm it."""
        self.likely_phone = number
        take = getattr(self.lm, "offer_phone", None)
        if callable(take):
            take(number)

    @property
    def last(self) -> Reply | None:
        """The latest reply's handle (for text callers; the voice session keeps each turn's own)."""
        return self._last

    async def interruptible(self) -> None:
        """Return once no booking write is half-way: its result is in the memory before the turn is cut."""
        await self._writes_done.wait()

    def opened_with(self, greeting: str) -> Reply:
        """The assistant speaks first: the model sees its greeting as the conversation's first message (only
        what the caller heard of it, if they talk over it). Iterating the handle gives the greeting."""
        message = Message("assistant", greeting)
        self.history.append(message)
        reply = self._last = Reply("", lambda cut: self._remember_cut(cut, [message]))
        return reply.streams(_fixed(reply, greeting))

    def _remember_cut(self, reply: Reply, written: list[Message]) -> None:
        """``reply`` was cut: instead of its words, the memory keeps what the caller heard of it.

        Its closing message goes; a step that called tools stays, without its words, followed by its calls'
        answers (the model's history stays valid: every tool call answered before anything else)."""
        for message in written:
            at = next((i for i in range(len(self.history) - 1, -1, -1) if self.history[i] is message), None)
            if at is None:
                continue
            if message.tool_calls:
                self.history[at] = Message("assistant", "", message.tool_calls)
            else:
                del self.history[at]
        if reply.text:
            self.history.append(Message("assistant", reply.text + "…"))

    async def _answer(self, reply: Reply, calls: list[ToolCall]) -> None:
        """Run a step's tool calls, each result into the memory right after the step's message.

        Cancelled (barge-in, hang-up) before every call is answered, each unanswered call is answered with
        ``CANCELLED``, so the model's history stays valid whatever is cut. A write is never cut half-way (it is
        shielded): if it is still running, its real result takes the marker's place when it comes.
        """
        writing = any(self.toolbox.writes(call.name) for call in calls)
        if writing:
            self._writes_done.clear()
        answered = 0
        try:
            for call in calls:
                tool_span = Step("tool_call", {"taina.tool": call.name, "taina.tool_call_id": call.id})
                running = asyncio.ensure_future(self.toolbox.call(call))
                try:
                    action = await asyncio.shield(running)
                    tool_span.span.set_attribute("taina.tool.ok", action.ok)
                except asyncio.CancelledError:
                    if self.toolbox.writes(call.name):
                        marker = _tool_message(call, _STILL_WRITING)
                        self.history.append(marker)
                        answered += 1
                        running.add_done_callback(functools.partial(self._written_late, reply, marker))
                    else:
                        running.cancel()
                    raise
                finally:
                    tool_span.close()
                reply.actions.append(action)
                self.history.append(_tool_message(call, action.result))
                answered += 1
        finally:
            for call in calls[answered:]:
                self.history.append(_tool_message(call, CANCELLED))
            self._writes_done.set()

    def _written_late(self, reply: Reply, marker: Message, done: asyncio.Future[Action]) -> None:
        """A write that outlived its cancelled turn: its result replaces the marker left in the memory."""
        if done.cancelled() or done.exception() is not None:
            return
        action = done.result()
        reply.actions.append(action)
        at = next((i for i, m in enumerate(self.history) if m is marker), None)
        if at is not None:
            self.history[at] = Message("tool", _json(action.result), tool_call_id=marker.tool_call_id)

    def preview(self, said: str) -> Preview:
        """Start the reply to ``said`` now, in the background, for a ``reply`` that may come with it."""
        preview = Preview(said)

        async def run() -> None:
            try:
                preview.passages = await self._retrieve(said)
                preview.retrieved.set()
                messages = self._messages(preview.passages, Message("user", said))
                prompt = Prompt(messages, self.toolbox.specs, preview.passages, self._now(), preview.tokens)
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

    def reply(self, said: str, preview: Preview | None = None) -> Reply:
        """The reply to ``said``: iterating the handle streams it as text pieces; it holds the turn's outcome.

        Closing the iteration early keeps what was already said in the memory, marked incomplete; cutting the
        handle then (barge-in) keeps only what the caller heard.
        """
        written: list[Message] = []  # its messages in the memory: steps that called tools, its closing
        reply = self._last = Reply(said, lambda cut: self._remember_cut(cut, written))
        return reply.streams(self._reply(reply, preview, written))

    async def _reply(
        self, reply: Reply, preview: Preview | None, written: list[Message]
    ) -> AsyncGenerator[str]:
        said = reply.said
        ahead = preview if preview is not None and preview.matches(said) else None
        if preview is not None and ahead is None:
            preview.cancel()
            log.info("dialogue.preview_discarded", previewed=preview.said, said=said)
        self.history.append(Message("user", said))
        passages: list[Passage] = []
        cited: tuple[str, ...] | None = None
        spoken: list[str] = []  # the whole turn's words
        text: list[str] = []  # this step's words (the last step's are the assistant's closing message)
        model_step: Step | None = None  # the model step's span, current while it streams
        try:
            if (urgent := await self._urgent_turn(reply, said)) is not None:
                text, passages = [urgent[0]], urgent[1]
                spoken.append(urgent[0])
                reply.text = urgent[0]
                yield urgent[0]
                reply.outcome = Outcome.COMPLETED
                return
            if ahead is not None:
                await ahead.retrieved.wait()
                passages = ahead.passages
                reply.tokens = ahead.tokens  # the previewed request is this reply's first step
            else:
                try:
                    passages = await self._retrieve(said)
                except Exception as exc:  # the knowledge base is down: say so, and the call goes on
                    log.error("dialogue.retrieval_failed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)
                    spoken.append(NOT_AVAILABLE)
                    reply.text = NOT_AVAILABLE
                    text = [NOT_AVAILABLE]
                    yield NOT_AVAILABLE
                    reply.outcome = Outcome.COMPLETED
                    return
            for step in range(self._max_steps):
                prompt = Prompt(
                    self._messages(passages), self.toolbox.specs, passages, self._now(), reply.tokens
                )
                text = []
                calls: list[ToolCall] = []
                events = ahead.events() if ahead is not None and step == 0 else self.lm.respond(prompt)
                model_step = Step("model_step", {"taina.step": step, "taina.model": self.lm.name,
                                                   "taina.preemptive": ahead is not None and step == 0})  # fmt: skip
                try:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            piece = event.text
                            if not text and spoken and not spoken[-1][-1:].isspace() and piece[:1] != " ":
                                piece = " " + piece  # a new step's words after the last step's
                            text.append(piece)
                            spoken.append(piece)
                            reply.text = "".join(spoken).strip()
                            yield piece
                        elif isinstance(event, ToolCall):
                            calls.append(event)
                        elif isinstance(event, Cited):
                            cited = event.document_ids
                except LanguageModelError as exc:
                    model_step.failed(exc)
                    log.error("dialogue.model_failed", model=self.lm.name, error=str(exc))
                    apology = (
                        NOT_AVAILABLE if not spoken or spoken[-1][-1:].isspace() else " " + NOT_AVAILABLE
                    )
                    text.append(apology)
                    spoken.append(apology)
                    reply.text = "".join(spoken).strip()
                    yield apology
                    break
                model_step.span.set_attribute("taina.tool_calls", len(calls))
                model_step.close()
                if not calls:
                    break
                asked = Message("assistant", "".join(text), tuple(calls))
                self.history.append(asked)
                written.append(asked)
                text = []  # this step's words are in the memory, with its calls
                await self._answer(reply, calls)
            else:
                log.warning("dialogue.too_many_steps", steps=self._max_steps)
                text = [TOO_MANY_STEPS]
                spoken.append(TOO_MANY_STEPS)
                reply.text = "".join(spoken).strip()
                yield TOO_MANY_STEPS
            reply.outcome = Outcome.COMPLETED
        except Exception:
            reply.outcome = Outcome.FAILED
            raise
        finally:
            if model_step is not None:
                model_step.close()
            if reply.outcome is Outcome.PENDING:
                reply.outcome = Outcome.CANCELLED  # closed early (or its task cancelled)
            if ahead is not None:
                ahead.cancel()
            reply.text = "".join(spoken).strip()
            if cited is None:
                cited = tuple(dict.fromkeys(p.document_id for p in passages)) if reply.text else ()
            reply.sources = cited
            reply.passages = tuple(passages)
            closing = "".join(text).strip()
            if closing:
                message = Message("assistant", closing)
                self.history.append(message)
                written.append(message)
            self._forget()

    async def _urgent_turn(self, reply: Reply, said: str) -> tuple[str, list[Passage]] | None:
        """An urgent symptom's answer, before any model (and, after it, a "sí" to letting the staff know)."""
        if self.urgent is None:
            return None
        offered, self._urgent_offered = self._urgent_offered, ""
        if offered and is_yes(said):
            reason = _json({"reason": f"urgente: {offered}"[:200]})
            action = await self.toolbox.call(ToolCall(f"urgent-{len(self.history)}", HAND_OFF, reason))
            reply.actions.append(action)
            said_back = HANDED_OFF_TRANSFER if transfers(action.result) else HANDED_OFF
            return said_back, list(self.urgent.line.passages) if self.urgent.line else []
        answer = await self.urgent.answer(said, self.knowledge)
        if answer is None:
            return None
        self._urgent_offered = said if self.toolbox.has(HAND_OFF) else ""
        return answer.text, answer.passages

    async def _retrieve(self, said: str) -> list[Passage]:
        if self.knowledge is None or not said.strip():
            return []
        with tracer.start_as_current_span("retrieval", attributes={"taina.passages": self._passages}):
            found = await self.knowledge.search(said, self._passages)
        return [p for p in found if p.similarity is None or p.similarity >= self._min_similarity]

    def _messages(self, passages: list[Passage], pending: Message | None = None) -> list[Message]:
        now = self._now()
        parts = [self.system_prompt] if self.system_prompt else []
        parts.append(f"Ahora es el {written_day(now.date())}, {written_time(now.time())}.")
        if self.likely_phone:
            parts.append(f"La llamada viene del número {self.likely_phone}: confírmelo antes de usarlo.")
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


def _json(result: object) -> str:
    return json.dumps(result, ensure_ascii=False)


def _tool_message(call: ToolCall, result: object) -> Message:
    return Message("tool", _json(result), tool_call_id=call.id)


async def _fixed(reply: Reply, text: str) -> AsyncGenerator[str]:
    """A reply whose words are known before it starts (a greeting)."""
    try:
        reply.text = text.strip()
        yield text
        reply.outcome = Outcome.COMPLETED
    finally:
        if reply.outcome is Outcome.PENDING:
            reply.outcome = Outcome.CANCELLED
