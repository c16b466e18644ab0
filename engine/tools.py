"""Tools the language model may call: their specs, argument checking and running.

A tool call never raises into the conversation. Bad JSON, a missing or mistyped argument, an unknown tool, a
refusal from the tool itself (ToolError) or a failure underneath (logged with its traceback) comes back to the
model as ``{"error": "..."}``, so it can correct itself or apologise, and the conversation goes on. Tools that write (a booking) are shielded: cancelling the turn
(barge-in, hang-up) does not stop a write half-way.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from engine.ports.language import ToolCall, ToolSpec

log = structlog.get_logger("taina.tools")

ToolResult = dict[str, Any]
ToolHandler = Callable[[dict[str, Any]], Awaitable[ToolResult]]


class ToolError(Exception):
    """The tool refuses the call; the message is for the model (and, through it, the caller)."""


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: ToolHandler
    writes: bool = False  # finish even if the turn is cancelled


@dataclass(frozen=True)
class Action:
    """One tool call of a turn, as it went: what was asked and what came back."""

    tool: str
    arguments: dict[str, Any]
    result: ToolResult
    ok: bool = field(default=True)

    def as_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments, "result": self.result}


class Toolbox:
    def __init__(self, tools: Sequence[Tool] = ()) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    def __bool__(self) -> bool:
        return bool(self._tools)

    def has(self, name: str) -> bool:
        return name in self._tools

    def writes(self, name: str) -> bool:
        """Whether the tool changes something (a booking): such a call is never cut half-way."""
        tool = self._tools.get(name)
        return tool is not None and tool.writes

    async def call(self, call: ToolCall) -> Action:
        tool = self._tools.get(call.name)
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            return _refused(call.name, {}, f"the arguments are not valid JSON: {call.arguments[:200]!r}")
        if not isinstance(arguments, dict):
            return _refused(call.name, {}, "the arguments must be a JSON object")
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            return _refused(call.name, arguments, f"there is no tool {call.name!r} (tools: {known})")
        problem = check_arguments(tool.spec.parameters, arguments)
        if problem:
            return _refused(call.name, arguments, problem)
        try:
            if tool.writes:
                result = await asyncio.shield(tool.run(arguments))
            else:
                result = await tool.run(arguments)
        except ToolError as refusal:
            return _refused(call.name, arguments, str(refusal))
        except Exception as exc:  # the booking system is down, say: the model apologises, the call goes on
            log.error("tool.failed", tool=call.name, arguments=arguments, exc_info=exc)
            return Action(
                call.name,
                arguments,
                {"error": f"the {call.name} service failed ({type(exc).__name__}); try later"},
                ok=False,
            )
        log.info("tool.called", tool=call.name, arguments=arguments)
        return Action(call.name, arguments, result)


def _refused(name: str, arguments: dict[str, Any], message: str) -> Action:
    log.info("tool.refused", tool=name, error=message)
    return Action(name, arguments, {"error": message}, ok=False)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def check_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str:
    """What is wrong with ``arguments`` under a JSON Schema object of flat properties, or "" if nothing.

    The subset the tools use: type (string, integer, number, boolean), enum, pattern, required,
    additionalProperties false, and ``null`` allowed by a type list.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if arguments.get(name) is None and "null" not in _type_list(properties.get(name, {})):
            return f"missing argument {name!r}"
    for name, value in arguments.items():
        rule = properties.get(name)
        if rule is None:
            if schema.get("additionalProperties", True) is False:
                return f"unknown argument {name!r} (arguments: {', '.join(properties)})"
            continue
        kinds = _type_list(rule)
        if value is None:
            if "null" in kinds:
                continue
            return f"argument {name!r} must not be null"
        allowed = tuple(t for kind in kinds if kind != "null" for t in _TYPES[kind])
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            return f"argument {name!r} must be {' or '.join(k for k in kinds if k != 'null')}"
        if "enum" in rule and value not in rule["enum"]:
            choices = ", ".join(str(v) for v in rule["enum"] if v is not None)
            return f"argument {name!r} must be one of: {choices}"
        if "pattern" in rule and isinstance(value, str) and not re.fullmatch(rule["pattern"], value):
            return (
                f"argument {name!r} is not in the expected form ({rule.get('description', rule['pattern'])})"
            )
    return ""


def _type_list(rule: Mapping[str, Any]) -> list[str]:
    kind = rule.get("type", "string")
    return list(kind) if isinstance(kind, list) else [kind]
