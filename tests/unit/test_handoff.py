"""The hand-off tool (engine/handoff.py) in a dialogue with the embedded policy: the call's own answer to "can
this call be transferred?" decides the one line the caller hears, and the tool's result tells any model so."""

from __future__ import annotations

import json

import pytest

from adapters.policy.policy import DialoguePolicy
from engine.dialogue import Dialogue
from engine.handoff import HAND_OFF, NO_TRANSFER, TRANSFERRING, hand_off_tool, transfers
from engine.tools import Toolbox
from engine.urgent import HANDED_OFF, HANDED_OFF_TRANSFER, UrgentCheck


async def say(dialogue: Dialogue, said: str) -> str:
    return "".join([piece async for piece in dialogue.reply(said)])


@pytest.mark.parametrize(("can", "line"), [(True, TRANSFERRING), (False, NO_TRANSFER)])
async def test_the_hand_off_reply_says_whether_the_call_is_transferred(can: bool, line: str) -> None:
    dialogue = Dialogue(DialoguePolicy(catalogue=None), toolbox=Toolbox([hand_off_tool(lambda: can)]))
    assert await say(dialogue, "Quiero hablar con una persona, por favor") == line
    assert dialogue.last is not None
    (action,) = dialogue.last.actions
    assert action.tool == HAND_OFF and action.result["transfer"] is can and transfers(action.result) is can
    assert action.result["say"] == line
    # The model is given the result (what a cloud model reads before it replies).
    tool_message = next(m for m in dialogue.history if m.role == "tool")
    assert json.loads(tool_message.content)["transfer"] is can


async def test_the_answer_is_asked_at_the_hand_off_so_a_late_change_counts() -> None:
    can = [False]
    dialogue = Dialogue(DialoguePolicy(catalogue=None), toolbox=Toolbox([hand_off_tool(lambda: can[0])]))
    assert await say(dialogue, "Quiero hablar con una persona") == NO_TRANSFER
    can[0] = True
    assert await say(dialogue, "Páseme con un humano") == TRANSFERRING


def test_the_tool_tells_a_cloud_model_not_to_contradict_the_transfer() -> None:
    spec = hand_off_tool().spec
    assert "transfer" in spec.description and "say" in spec.description
    assert not transfers({"handed_off": True}) and not transfers("transfer") and transfers({"transfer": True})


async def test_an_urgent_hand_off_that_transfers_says_so() -> None:
    toolbox = Toolbox([hand_off_tool(lambda: True)])
    dialogue = Dialogue(DialoguePolicy(catalogue=None), toolbox=toolbox, urgent=UrgentCheck())
    assert "9-1-1" in await say(dialogue, "Tengo un dolor en el pecho que me baja por el brazo")
    answer = await say(dialogue, "Sí, por favor")
    assert answer == HANDED_OFF_TRANSFER and answer.startswith(TRANSFERRING) and answer != HANDED_OFF
    assert dialogue.last is not None and transfers(dialogue.last.actions[0].result)
