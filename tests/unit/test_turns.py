from __future__ import annotations

import pytest

from engine.turns import InvalidTransition, TurnState, TurnTaker, is_backchannel


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
