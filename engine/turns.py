"""Who has the floor: the turn-taking state machine of one conversation.

    LISTENING --speech--> USER_SPEAKING --end of utterance--> THINKING --first reply audio--> ASSISTANT_SPEAKING
        ^                      |  (too short)                    |  (nothing to say)               |
        +----------------------+---------------------------------+---------------------------------+ (reply played)

Barge-in: speech past the minimum interruption while the assistant has the floor (THINKING or
ASSISTANT_SPEAKING) moves to USER_SPEAKING, with the reply paused. If the user said nothing after all (a false
interruption), ``resume`` gives the floor back to the reply, with its turn id.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

# Sounds a listener makes while the other one talks: not an interruption, whatever their length.
BACKCHANNELS = frozenset(
    ["aja", "ajá", "ah", "ahá", "eh", "em", "ehm", "mm", "mmm", "mhm", "hm", "hmm", "um", "uh", "ujum", "uju"]
)
_WORD = re.compile(r"[^\W\d_]+")


def is_backchannel(transcript: str) -> bool:
    """Whether what the caller said over the assistant is nothing (silence, a noise) or only "ajá", "mm"."""
    return all(word in BACKCHANNELS for word in _WORD.findall(transcript.lower()))


class TurnState(enum.Enum):
    LISTENING = "listening"
    USER_SPEAKING = "user_speaking"
    THINKING = "thinking"
    ASSISTANT_SPEAKING = "assistant_speaking"


_ALLOWED: dict[TurnState, frozenset[TurnState]] = {
    TurnState.LISTENING: frozenset({TurnState.USER_SPEAKING, TurnState.THINKING}),  # thinking: a greeting
    TurnState.USER_SPEAKING: frozenset({TurnState.LISTENING, TurnState.THINKING}),
    TurnState.THINKING: frozenset(
        {TurnState.LISTENING, TurnState.ASSISTANT_SPEAKING, TurnState.USER_SPEAKING}
    ),
    TurnState.ASSISTANT_SPEAKING: frozenset({TurnState.LISTENING, TurnState.USER_SPEAKING}),
}
# The floor the assistant had when it was interrupted, given back after a false interruption.
_RESUMABLE = frozenset({TurnState.THINKING, TurnState.ASSISTANT_SPEAKING})


class InvalidTransition(RuntimeError):
    pass


class TurnTaker:
    """Holds the current state, refuses transitions the table does not allow, and reports each change."""

    def __init__(self, on_change: Callable[[TurnState, TurnState], None] | None = None) -> None:
        self.state = TurnState.LISTENING
        self.turn_id = 0
        self._on_change = on_change

    @property
    def assistant_has_floor(self) -> bool:
        """Whether user speech now would be an interruption."""
        return self.state in _RESUMABLE

    def to(self, new: TurnState) -> None:
        old = self.state
        if new not in _ALLOWED[old]:
            raise InvalidTransition(f"{old.value} -> {new.value} is not a turn-taking transition")
        self.state = new
        if new is TurnState.THINKING:
            self.turn_id += 1
        if self._on_change is not None:
            self._on_change(old, new)

    def resume(self, state: TurnState, turn_id: int) -> None:
        """A false interruption: give the floor back to the interrupted reply (its state and turn id)."""
        if state not in _RESUMABLE or self.state not in (TurnState.USER_SPEAKING, TurnState.THINKING):
            raise InvalidTransition(f"cannot resume {state.value} from {self.state.value}")
        old, self.state, self.turn_id = self.state, state, turn_id
        if self._on_change is not None:
            self._on_change(old, state)
