from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.turns import Interruption, InvalidTransition, TurnState, TurnTaker, is_backchannel


def test_a_whole_turn_goes_round_the_table() -> None:
    seen: list[tuple[TurnState, TurnState]] = []
    turns = TurnTaker(lambda old, new: seen.append((old, new)))
    for state in (
        TurnState.USER_SPEAKING,
        TurnState.THINKING,
        TurnState.ASSISTANT_SPEAKING,
        TurnState.LISTENING,
    ):
        turns.to(state)
    assert [new for _old, new in seen] == [
        TurnState.USER_SPEAKING,
        TurnState.THINKING,
        TurnState.ASSISTANT_SPEAKING,
        TurnState.LISTENING,
    ]
    assert turns.turn_id == 1


def test_short_noise_and_empty_transcripts_go_back_to_listening() -> None:
    turns = TurnTaker()
    turns.to(TurnState.USER_SPEAKING)
    turns.to(TurnState.LISTENING)
    turns.to(TurnState.USER_SPEAKING)
    turns.to(TurnState.THINKING)
    turns.to(TurnState.LISTENING)
    assert turns.turn_id == 1 and not turns.assistant_has_floor


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], TurnState.ASSISTANT_SPEAKING),
        ([TurnState.USER_SPEAKING], TurnState.ASSISTANT_SPEAKING),
        ([TurnState.USER_SPEAKING], TurnState.USER_SPEAKING),
    ],
)
def test_transitions_outside_the_table_are_refused(path: list[TurnState], bad: TurnState) -> None:
    turns = TurnTaker()
    for state in path:
        turns.to(state)
    before = turns.state
    with pytest.raises(InvalidTransition):
        turns.to(bad)
    assert turns.state is before


def test_barge_in_takes_the_floor_and_a_false_one_gives_it_back() -> None:
    seen: list[TurnState] = []
    turns = TurnTaker(lambda _old, new: seen.append(new))
    turns.to(TurnState.USER_SPEAKING)
    turns.to(TurnState.THINKING)
    assert turns.assistant_has_floor
    turns.to(TurnState.ASSISTANT_SPEAKING)
    turns.to(TurnState.USER_SPEAKING)  # barge-in
    turns.to(TurnState.THINKING)  # the interruption's own turn
    assert turns.turn_id == 2
    turns.resume(TurnState.ASSISTANT_SPEAKING, 1)  # it was only "ajá"
    assert (turns.state, turns.turn_id) == (TurnState.ASSISTANT_SPEAKING, 1)
    assert seen[-1] is TurnState.ASSISTANT_SPEAKING
    with pytest.raises(InvalidTransition):
        turns.resume(TurnState.LISTENING, 1)
    turns.to(TurnState.LISTENING)
    with pytest.raises(InvalidTransition):
        turns.resume(TurnState.ASSISTANT_SPEAKING, 1)


@pytest.mark.parametrize(
    ("said", "backchannel"),
    [
        ("", True),
        ("Ajá.", True),
        ("mm, ajá", True),
        ("¿Eh?", True),
        ("Espere", False),
        ("no, el martes", False),
    ],
)
def test_backchannels_are_not_interruptions(said: str, backchannel: bool) -> None:
    assert is_backchannel(said) is backchannel


def _speaking(on_change: Callable[[TurnState, TurnState], None] | None = None) -> TurnTaker:
    turns = TurnTaker(on_change)
    for state in (TurnState.USER_SPEAKING, TurnState.THINKING, TurnState.ASSISTANT_SPEAKING):
        turns.to(state)
    return turns


def test_speech_over_the_assistant_pauses_it_and_a_false_interruption_gives_the_floor_back() -> None:
    seen: list[TurnState] = []
    turns = _speaking(lambda _old, new: seen.append(new))
    seen.clear()
    turns.overheard(interruptible=True)
    assert turns.interruption is Interruption.PENDING and turns.interrupted == (
        TurnState.ASSISTANT_SPEAKING,
        1,
    )
    assert seen == []  # the caller sees no change until the reply pauses
    turns.barge_in()
    assert (turns.state, turns.interruption) == (TurnState.USER_SPEAKING, Interruption.PAUSED)
    assert not turns.assistant_has_floor
    with pytest.raises(InvalidTransition):
        turns.to(TurnState.LISTENING)  # a paused reply is given back or cut first
    turns.to(TurnState.THINKING)  # the interruption's transcript
    assert not turns.assistant_has_floor
    turns.give_back()  # it was only "ajá"
    assert (turns.state, turns.turn_id, turns.interruption) == (
        TurnState.ASSISTANT_SPEAKING,
        1,
        Interruption.NONE,
    )
    assert turns.interrupted is None and seen == [
        TurnState.USER_SPEAKING,
        TurnState.THINKING,
        TurnState.ASSISTANT_SPEAKING,
    ]


def test_an_interruption_with_words_cuts_the_reply_and_is_a_turn_of_its_own() -> None:
    turns = _speaking()
    turns.overheard(interruptible=True)
    turns.barge_in()
    turns.to(TurnState.THINKING)
    turns.cut()
    assert (turns.state, turns.turn_id, turns.interruption) == (TurnState.THINKING, 2, Interruption.NONE)
    turns.to(TurnState.ASSISTANT_SPEAKING)
    with pytest.raises(InvalidTransition):
        turns.give_back()  # nothing is paused any more
    with pytest.raises(InvalidTransition):
        turns.cut()


def test_short_speech_over_the_assistant_and_over_a_reply_that_ends_first() -> None:
    turns = _speaking()
    turns.overheard(interruptible=True)
    with pytest.raises(InvalidTransition):
        turns.to(TurnState.LISTENING)  # the reply ends: the speech over it is let go first
    turns.overheard_ended()  # a cough
    assert turns.interruption is Interruption.NONE and turns.assistant_has_floor
    turns.overheard(interruptible=True)
    turns.overheard_ended()
    turns.to(TurnState.LISTENING)  # the reply ended under the caller's speech: now it is their turn
    turns.to(TurnState.USER_SPEAKING)
    with pytest.raises(InvalidTransition):
        turns.overheard(interruptible=True)  # the assistant does not have the floor
    with pytest.raises(InvalidTransition):
        turns.barge_in()  # nothing pending


def test_speech_over_a_reply_that_cannot_be_interrupted_is_ignored() -> None:
    turns = _speaking()
    turns.overheard(interruptible=False)
    assert turns.interruption is Interruption.IGNORED
    with pytest.raises(InvalidTransition):
        turns.barge_in()
    turns.to(TurnState.LISTENING)  # the reply ends while the caller still speaks
    with pytest.raises(InvalidTransition):
        turns.to(TurnState.USER_SPEAKING)  # that speech is not a turn
    turns.overheard_ended()
    turns.to(TurnState.USER_SPEAKING)
    assert turns.interruption is Interruption.NONE


def test_letting_go_of_the_floor_makes_speech_started_over_it_the_callers_turn() -> None:
    seen: list[TurnState] = []
    turns = TurnTaker(lambda _old, new: seen.append(new))
    turns.to(TurnState.USER_SPEAKING)
    turns.to(TurnState.THINKING)  # the utterance turns out to hold no speech...
    turns.overheard(interruptible=True)  # ...and the caller speaks again before that is known
    with pytest.raises(InvalidTransition):
        turns.to(TurnState.LISTENING)
    turns.let_go()
    assert (turns.state, turns.interruption, turns.interrupted) == (
        TurnState.USER_SPEAKING,
        Interruption.NONE,
        None,
    )
    assert seen[-2:] == [TurnState.LISTENING, TurnState.USER_SPEAKING]
    with pytest.raises(InvalidTransition):
        turns.let_go()  # the caller has the floor
    turns.to(TurnState.THINKING)
    turns.let_go()  # nothing over it: back to listening
    assert turns.state is TurnState.LISTENING


def test_letting_go_leaves_ignored_speech_ignored_and_a_paused_reply_to_its_interruption() -> None:
    turns = _speaking()
    turns.overheard(interruptible=False)
    turns.let_go()
    assert (turns.state, turns.interruption) == (TurnState.LISTENING, Interruption.IGNORED)
    turns.overheard_ended()
    turns = _speaking()
    turns.overheard(interruptible=True)
    turns.barge_in()
    with pytest.raises(InvalidTransition):
        turns.let_go()
    assert (turns.state, turns.interruption) == (TurnState.USER_SPEAKING, Interruption.PAUSED)
