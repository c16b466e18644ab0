from __future__ import annotations

import pytest

from engine.turns import InvalidTransition, TurnState, TurnTaker


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
    assert turns.turn_id == 1 and turns.hears_user


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], TurnState.THINKING),
        ([], TurnState.ASSISTANT_SPEAKING),
        ([TurnState.USER_SPEAKING], TurnState.ASSISTANT_SPEAKING),
        ([TurnState.USER_SPEAKING, TurnState.THINKING], TurnState.USER_SPEAKING),  # no barge-in yet
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


def test_the_user_is_not_heard_while_the_assistant_has_the_floor() -> None:
    turns = TurnTaker()
    turns.to(TurnState.USER_SPEAKING)
    turns.to(TurnState.THINKING)
    assert not turns.hears_user
    turns.to(TurnState.ASSISTANT_SPEAKING)
    assert not turns.hears_user
