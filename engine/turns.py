"""Who has the floor: the turn-taking state machine of one conversation.

    LISTENING --speech--> USER_SPEAKING --end of utterance--> THINKING --first reply audio--> ASSISTANT_SPEAKING
        ^                      |  (too short)                    |  (nothing to say)               |
        +----------------------+---------------------------------+---------------------------------+ (reply played)

Barge-in (user speech during THINKING or ASSISTANT_SPEAKING) is added to the table by the turn-taking work
that builds on this; until then the machine refuses it and the session keeps the floor with the assistant.
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class TurnState(enum.Enum):
    LISTENING = "listening"
    USER_SPEAKING = "user_speaking"
    THINKING = "thinking"
    ASSISTANT_SPEAKING = "assistant_speaking"


_ALLOWED: dict[TurnState, frozenset[TurnState]] = {
    TurnState.LISTENING: frozenset({TurnState.USER_SPEAKING}),
    TurnState.USER_SPEAKING: frozenset({TurnState.LISTENING, TurnState.THINKING}),
    TurnState.THINKING: frozenset({TurnState.LISTENING, TurnState.ASSISTANT_SPEAKING}),
    TurnState.ASSISTANT_SPEAKING: frozenset({TurnState.LISTENING}),
}


class InvalidTransition(RuntimeError):
    pass


class TurnTaker:
    """Holds the current state, refuses transitions the table does not allow, and reports each change."""

    def __init__(self, on_change: Callable[[TurnState, TurnState], None] | None = None) -> None:
        self.state = TurnState.LISTENING
        self.turn_id = 0
        self._on_change = on_change

    @property
    def hears_user(self) -> bool:
        """Whether user audio is taken as a turn now (half duplex until barge-in exists)."""
        return self.state in (TurnState.LISTENING, TurnState.USER_SPEAKING)

    def can(self, new: TurnState) -> bool:
        return new in _ALLOWED[self.state]

    def to(self, new: TurnState) -> None:
        old = self.state
        if new not in _ALLOWED[old]:
            raise InvalidTransition(f"{old.value} -> {new.value} is not a turn-taking transition")
        self.state = new
        if new is TurnState.THINKING:
            self.turn_id += 1
        if self._on_change is not None:
            self._on_change(old, new)
