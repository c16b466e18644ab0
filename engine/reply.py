"""One reply of the assistant's, as a handle: what it has said so far, what it did, and how it ended.

``Dialogue.reply`` (or ``Dialogue.opened_with``, for a greeting) makes the handle as the turn starts; iterating
it streams the reply's text. The session keeps the handle for the whole turn and records the turn from it; when
the caller talks over the reply (or hangs up), ``cut`` keeps only what they heard, and the dialogue's memory
follows.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.ports.knowledge import Passage
    from engine.ports.language import TokenUsage
    from engine.tools import Action


class Outcome(enum.Enum):
    PENDING = "pending"  # under way, or not started yet
    COMPLETED = "completed"  # said to its end
    INTERRUPTED = "interrupted"  # cut: the caller talked over it or hung up; ``text`` is what they heard
    CANCELLED = "cancelled"  # its stream was closed early, and it was not cut (yet)
    FAILED = "failed"  # its stream raised


class Reply:
    def __init__(self, said: str, on_cut: Callable[[Reply], None] | None = None) -> None:
        self.said = said  # what the caller said ("" for a greeting)
        self.text = ""  # what the assistant has said so far; once cut, what the caller heard
        self.actions: list[Action] = []
        self.sources: tuple[str, ...] = ()
        self.passages: tuple[Passage, ...] = ()  # what the turn retrieved (its reply is grounded on them)
        self.tokens: list[TokenUsage] = []  # each model request's usage, for cost per turn
        self.outcome = Outcome.PENDING
        self._on_cut = on_cut
        self._pieces: AsyncGenerator[str] | None = None

    @property
    def reply(self) -> str:
        """What was said (``text``), by the name the text conversation and the journal give it."""
        return self.text

    @property
    def completed(self) -> bool:
        return self.outcome is Outcome.COMPLETED

    @property
    def interrupted(self) -> bool:
        return self.outcome is Outcome.INTERRUPTED

    def streams(self, pieces: AsyncGenerator[str]) -> Reply:
        """Give the reply its text stream (the dialogue does, as it makes the handle)."""
        self._pieces = pieces
        return self

    def __aiter__(self) -> AsyncGenerator[str]:
        if self._pieces is None:
            raise RuntimeError("this reply has no text stream")
        return self._pieces

    async def aclose(self) -> None:
        if self._pieces is not None:
            await self._pieces.aclose()

    def cut(self, heard: str) -> None:
        """The reply stopped after ``heard`` (the caller talked over it, or hung up): only that was said."""
        self.text, self.outcome = heard.strip(), Outcome.INTERRUPTED
        if self._on_cut is not None:
            self._on_cut(self)

    def as_json(self) -> dict[str, object]:
        return {
            "reply": self.text,
            "actions": [a.as_json() for a in self.actions],
            "sources": list(self.sources),
        }
