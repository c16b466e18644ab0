"""Handing the caller over to a person: a tool the language model calls when someone asks for a human.

The engine cannot put a person on the line itself; the call is marked as handed off (so the dashboard shows
it and staff can call back) and the model tells the caller how to reach the reception.
"""

from __future__ import annotations

from typing import Any

from engine.ports.language import ToolSpec
from engine.tools import Tool

HAND_OFF = "hand_off_to_staff"


def hand_off_tool() -> Tool:
    async def hand_off(arguments: dict[str, Any]) -> dict[str, Any]:
        return {"handed_off": True, "reason": arguments.get("reason", "")}

    return Tool(
        ToolSpec(
            HAND_OFF,
            "The caller wants a person: mark this call as handed off to the clinic's staff. Then tell them "
            "they can call the reception during office hours.",
            {
                "type": "object",
                "properties": {"reason": {"type": "string", "description": "what the caller wants, briefly"}},
                "required": ["reason"],
                "additionalProperties": False,
            },
        ),
        hand_off,
    )
