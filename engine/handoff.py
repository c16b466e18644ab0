"""Handing the caller over to a person: a tool the language model calls when someone asks for a human.

The call is marked as handed off (so the dashboard shows it and staff can call back). Whether a person is put
on the line is the call's own answer, given when the tool is built (``transfers``): a phone caller whose
transport can transfer the call (LiveKit SIP with a staff number) is told they are being passed over, and the
transport transfers them once that reply has been said; anyone else is told how to reach the reception.
The tool's result says which, so every model (the embedded policy, a cloud model) says the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.ports.language import ToolSpec
from engine.tools import Tool

HAND_OFF = "hand_off_to_staff"
# What the caller hears when the call will be transferred (the transport transfers it after this reply).
TRANSFERRING = "Le paso ahora con el personal del centro, un momento por favor."
# What the caller hears when nobody can be put on the line from here.
NO_TRANSFER = (
    "Todavía no puedo pasarle con una persona desde aquí. Puede llamar a recepción en horario de oficina."
)


def transfers(action_result: Any) -> bool:
    """Whether a hand-off tool's result says the call is to be transferred to staff."""
    return isinstance(action_result, dict) and action_result.get("transfer") is True


def hand_off_tool(transfers_call: Callable[[], bool] = lambda: False) -> Tool:
    """The hand-off tool of one conversation; ``transfers_call`` answers, when it is called, whether this call
    will be put through to the staff (by default: never)."""

    async def hand_off(arguments: dict[str, Any]) -> dict[str, Any]:
        transfer = bool(transfers_call())
        return {
            "handed_off": True,
            "transfer": transfer,
            "reason": arguments.get("reason", ""),
            "say": TRANSFERRING if transfer else NO_TRANSFER,
        }

    return Tool(
        ToolSpec(
            HAND_OFF,
            "The caller wants a person: mark this call as handed off to the clinic's staff. The result says "
            "whether this call is transferred now (transfer: true) and what to tell the caller (say): say "
            "exactly that sentence and nothing more. When transfer is true the call is put through to the staff "
            "right after your reply; never say you cannot pass them to a person. When it is false, do not say "
            "you are passing them over: tell them they can call the reception during office hours.",
            {
                "type": "object",
                "properties": {"reason": {"type": "string", "description": "what the caller wants, briefly"}},
                "required": ["reason"],
                "additionalProperties": False,
            },
        ),
        hand_off,
    )
