"""The language model: the prompt it sees and the events it streams back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from engine.ports.knowledge import Passage


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for a tool: ``arguments`` is the JSON text it wrote (checked by the toolbox, not here)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that asked for tools
    tool_call_id: str = ""  # tool messages: which call this is the result of


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply as the language model produces it."""

    text: str


@dataclass(frozen=True, slots=True)
class Cited:
    """The documents the reply was actually drawn from (a model that knows says so; others cite nothing)."""

    document_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """What one request to the model used, as the provider counted it: a model that reports it appends one to
    its prompt's ``usage`` list when the request ends."""

    prompt: int  # prompt tokens, the cached ones included
    completion: int
    cached: int = 0  # of the prompt tokens, those the provider served from its cache (billed lower)


LanguageModelEvent = TextDelta | ToolCall | Cited


class LanguageModelError(RuntimeError):
    """The model could not answer (unreachable, refused, timed out, broke off) after its adapter's retries."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: ``parameters`` is a JSON Schema object (the subset engine.tools checks)."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Prompt:
    """Everything the model sees for one step of a turn."""

    messages: Sequence[Message]  # the system prompt first, then the conversation, tool results included
    tools: Sequence[ToolSpec] = ()
    passages: Sequence[Passage] = ()  # retrieved for the user's last utterance, best first (also in the text)
    now: datetime | None = None  # the clinic's current time
    usage: list[TokenUsage] | None = field(default=None, compare=False)  # where the model notes its usage


class LanguageModel(Protocol):
    name: str

    def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        """Stream the assistant's next step: text deltas, then any tool calls. Cancelling the iteration stops it
        at once (barge-in); the caller runs the tools and calls again with their results appended."""
