"""Who has the floor: the turn-taking state machine of one conversation.

    LISTENING --speech--> USER_SPEAKING --end of utterance--> THINKING --first reply audio--> ASSISTANT_SPEAKING
        ^                      |  (too short)                    |  (nothing to say)               |
        +----------------------+---------------------------------+---------------------------------+ (reply played)

Barge-in: speech past the minimum interruption while the assistant has the floor (THINKING or
ASSISTANT_SPEAKING) moves to USER_SPEAKING, with the reply paused. If the user said nothing after all (a false
interruption), ``resume`` gives the floor back to the reply, with its turn id.

Speech over the assistant goes through sub-states of its own (``Interruption``), each allowed only with some
floors:

    NONE --speech over the assistant--> PENDING --past the minimum--> PAUSED (USER_SPEAKING, then THINKING)
     |  (over a reply that cannot be interrupted: IGNORED)
     +<-- PENDING or IGNORED: too short, or the reply ended first
     +<-- PENDING: the assistant lets go of the floor (reply over, or nothing heard): the speech is a turn
     +<-- PAUSED: "ajá" or nothing (``give_back``), or words (``cut``: the reply is stopped)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import ClassVar

from engine.options import Section, knob

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


class Interruption(enum.Enum):
    NONE = "none"
    PENDING = "pending"  # the caller talks over the assistant, not yet for the minimum interruption
    PAUSED = "paused"  # past the minimum: the reply's audio waits for what the caller said
    IGNORED = "ignored"  # the caller talks over a reply that cannot be interrupted


_INTERRUPTION_ALLOWED: dict[Interruption, frozenset[Interruption]] = {
    Interruption.NONE: frozenset({Interruption.PENDING, Interruption.IGNORED}),
    Interruption.PENDING: frozenset({Interruption.NONE, Interruption.PAUSED}),
    Interruption.PAUSED: frozenset({Interruption.NONE}),
    Interruption.IGNORED: frozenset({Interruption.NONE}),
}
# The floors each sub-state goes with (a floor change to one not listed is refused).
_FLOORS: dict[Interruption, frozenset[TurnState]] = {
    Interruption.NONE: frozenset(TurnState),
    Interruption.PENDING: _RESUMABLE,
    Interruption.PAUSED: frozenset({TurnState.USER_SPEAKING, TurnState.THINKING}),
    Interruption.IGNORED: frozenset({TurnState.LISTENING, *_RESUMABLE}),  # the reply may end under it
}


class InvalidTransition(RuntimeError):
    pass


class TurnTaker:
    """Holds the current state, refuses transitions the table does not allow, and reports each change."""

    def __init__(self, on_change: Callable[[TurnState, TurnState], None] | None = None) -> None:
        self.state = TurnState.LISTENING
        self.turn_id = 0
        self.interruption = Interruption.NONE
        self.interrupted: tuple[TurnState, int] | None = None  # the floor and turn that speech came over
        self._on_change = on_change

    @property
    def assistant_has_floor(self) -> bool:
        """Whether user speech now would be an interruption (not while the reply is paused by one)."""
        return self.state in _RESUMABLE and self.interruption is not Interruption.PAUSED

    def to(self, new: TurnState) -> None:
        old = self.state
        if new not in _ALLOWED[old] or new not in _FLOORS[self.interruption]:
            raise InvalidTransition(
                f"{old.value} -> {new.value} is not a turn-taking transition ({self.interruption.value})"
            )
        self.state = new
        if new is TurnState.THINKING:
            self.turn_id += 1
        if self._on_change is not None:
            self._on_change(old, new)

    def resume(self, state: TurnState, turn_id: int) -> None:
        """A false interruption: give the floor back to the interrupted reply (its state and turn id)."""
        if (
            state not in _RESUMABLE
            or self.state not in (TurnState.USER_SPEAKING, TurnState.THINKING)
            or self.interruption not in (Interruption.NONE, Interruption.PAUSED)
        ):
            raise InvalidTransition(f"cannot resume {state.value} from {self.state.value}")
        self._interrupt(Interruption.NONE)
        old, self.state, self.turn_id = self.state, state, turn_id
        if self._on_change is not None:
            self._on_change(old, state)

    def overheard(self, interruptible: bool) -> None:
        """The caller started speaking while the assistant has the floor."""
        if not self.assistant_has_floor:
            raise InvalidTransition(f"speech over the assistant in {self.state.value}")
        self._interrupt(Interruption.PENDING if interruptible else Interruption.IGNORED)
        self.interrupted = (self.state, self.turn_id)

    def barge_in(self) -> None:
        """The speech over the assistant lasted the minimum interruption: the reply pauses, the caller has the
        floor."""
        if self.interruption is not Interruption.PENDING:
            raise InvalidTransition(f"{self.interruption.value} -> paused in {self.state.value}")
        self.interruption = Interruption.PAUSED  # with the floor change: paused goes with USER_SPEAKING
        self.to(TurnState.USER_SPEAKING)

    def overheard_ended(self) -> None:
        """The speech over the assistant (a cough, "ajá", or over a reply that cannot be interrupted) ended
        without pausing the reply, or the reply ended first."""
        if self.interruption not in (Interruption.PENDING, Interruption.IGNORED):
            raise InvalidTransition(f"no speech over the assistant ({self.interruption.value})")
        self._interrupt(Interruption.NONE)

    def let_go(self) -> None:
        """The assistant gives up the floor: its reply has ended, or the utterance it was thinking about held
        no speech. Speech that had started over it, not yet an interruption, is now the caller's turn (from
        LISTENING to USER_SPEAKING); speech over a reply that could not be interrupted stays ignored until it
        ends. A paused reply is not let go of here: the interruption's transcript gives it back or cuts it."""
        if not self.assistant_has_floor:
            raise InvalidTransition(f"the assistant does not have the floor in {self.state.value}")
        overheard = self.interruption is Interruption.PENDING
        if overheard:
            self._interrupt(Interruption.NONE)
        self.to(TurnState.LISTENING)
        if overheard:
            self.to(TurnState.USER_SPEAKING)

    def give_back(self) -> None:
        """The paused reply was not really interrupted ("ajá", nothing): it gets its floor and turn back."""
        if self.interruption is not Interruption.PAUSED or self.interrupted is None:
            raise InvalidTransition(f"no paused reply to give the floor back to ({self.interruption.value})")
        self.resume(*self.interrupted)

    def cut(self) -> None:
        """The paused reply was stopped for good: the interruption is a turn of its own."""
        if self.interruption is not Interruption.PAUSED:
            raise InvalidTransition(f"no paused reply to cut ({self.interruption.value})")
        self._interrupt(Interruption.NONE)

    def _interrupt(self, new: Interruption) -> None:
        old = self.interruption
        if new is not old and (new not in _INTERRUPTION_ALLOWED[old] or self.state not in _FLOORS[new]):
            raise InvalidTransition(f"{old.value} -> {new.value} in {self.state.value}")
        self.interruption = new
        if new is Interruption.NONE:
            self.interrupted = None


class TurnSettings(Section):
    prefix: ClassVar[str] = "TAINA_TURN"
    min_interruption_ms: int = knob(
        500,
        "Speech while the assistant has the floor that interrupts it (its audio pauses at once), in ms. "
        'Shorter speech (a cough, "ajá") does not.',
        ge=100,
        le=3_000,
    )
    interruptible: bool = knob(True, "Whether the caller can interrupt the assistant by speaking.")
    preemptive_generation: bool = knob(
        False,
        "Start the reply on the transcript heard at the first pause, before the turn is sure to be over; "
        "thrown away if the final transcript differs. Needs a speech-to-text that gives interim results.",
    )
