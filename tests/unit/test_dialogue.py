"""The dialogue loop and the toolbox with a scripted model: tool round trips, bad tool calls, failures,
interruption and memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.dialogue import NOT_AVAILABLE, TOO_MANY_STEPS, Dialogue
from engine.ports.knowledge import Passage
from engine.ports.language import (
    Cited,
    LanguageModelError,
    LanguageModelEvent,
    Prompt,
    TextDelta,
    ToolCall,
    ToolSpec,
)
from engine.tools import Tool, Toolbox, ToolError, check_arguments

Step = Callable[[Prompt], list[LanguageModelEvent]]


class ScriptedModel:
    """Answers each step with the next function of its script, and keeps every prompt it was given."""

    name = "scripted"

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.prompts: list[Prompt] = []

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        self.prompts.append(prompt)
        for event in self.steps.pop(0)(prompt):
            await asyncio.sleep(0)
            if isinstance(event, Exception):
                raise event
            yield event


class OnePassage:
    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return [Passage("doc1", "Precios", "Consultas", "Consulta general: RD$1,500.", 1.0, 0.9)]


SLOTS_SCHEMA = {
    "type": "object",
    "properties": {
        "service_id": {"type": "string", "enum": ["pediatria"]},
        "days": {"type": ["integer", "null"]},
    },
    "required": ["service_id"],
    "additionalProperties": False,
}


def toolbox(calls: list[dict[str, Any]], writes: list[str] | None = None) -> Toolbox:
    async def slots(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        if args.get("days") == 0:
            raise ToolError("days must be at least 1")
        return {"slots": ["10:00"]}

    async def book(args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.05)
        (writes if writes is not None else []).append("booked")
        return {"booked": True}

    return Toolbox(
        [
            Tool(ToolSpec("list_slots", "free slots", SLOTS_SCHEMA), slots),
            Tool(ToolSpec("book", "book", {"type": "object", "properties": {}}), book, writes=True),
        ]
    )


def text(*pieces: str) -> Step:
    return lambda _prompt: [TextDelta(p) for p in pieces]


def call(name: str, arguments: str, call_id: str = "c1") -> Step:
    return lambda _prompt: [ToolCall(call_id, name, arguments)]


async def run(dialogue: Dialogue, said: str) -> str:
    return "".join([piece async for piece in dialogue.reply(said)])


async def test_a_tool_round_trip_feeds_the_result_back_and_keeps_the_passages_and_memory() -> None:
    calls: list[dict[str, Any]] = []
    model = ScriptedModel(
        lambda _p: [TextDelta("Déjeme ver."), ToolCall("c1", "list_slots", '{"service_id": "pediatria"}')],
        text("Tengo a las ", "10:00."),
        text("De nada."),
    )
    talk = Dialogue(model, OnePassage(), toolbox(calls), system_prompt="Eres TAINA.")
    assert await run(talk, "¿Hay pediatra?") == "Déjeme ver. Tengo a las 10:00."
    assert calls == [{"service_id": "pediatria"}]
    outcome = talk.last
    assert outcome is not None and outcome.sources == ("doc1",)
    assert [a.as_json() for a in outcome.actions] == [
        {"tool": "list_slots", "arguments": {"service_id": "pediatria"}, "result": {"slots": ["10:00"]}}
    ]
    second = model.prompts[1]
    assert second.messages[0].role == "system" and "RD$1,500" in second.messages[0].content
    assert "Eres TAINA." in second.messages[0].content and second.passages[0].document_id == "doc1"
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[2].tool_calls[0].name == "list_slots"
    assert json.loads(second.messages[3].content) == {"slots": ["10:00"]}
    assert second.messages[3].tool_call_id == "c1" and [s.name for s in second.tools] == [
        "list_slots",
        "book",
    ]
    await run(talk, "Gracias")
    assert [m.role for m in model.prompts[2].messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"service_id": "cardiologia"}', "argument 'service_id' must be one of: pediatria"),
        ("{}", "missing argument 'service_id'"),
        ('{"service_id": 3}', "argument 'service_id' must be string"),
        ('{"service_id": "pediatria", "color": "azul"}', "unknown argument 'color'"),
        ('{"service_id": "pediatria", "days": true}', "argument 'days' must be integer"),
        ('{"service_id": "pediatria", "days": 0}', "days must be at least 1"),  # refused by the tool itself
        ('{"service_id": ', "the arguments are not valid JSON"),
        ("[1, 2]", "the arguments must be a JSON object"),
    ],
)
async def test_bad_tool_arguments_get_a_clear_error_and_the_conversation_goes_on(
    arguments: str, error: str
) -> None:
    calls: list[dict[str, Any]] = []
    model = ScriptedModel(
        call("list_slots", arguments), text("Perdón, ¿para qué especialidad?"), text("Listo.")
    )
    talk = Dialogue(model, None, toolbox(calls))
    assert await run(talk, "Quiero una cita") == "Perdón, ¿para qué especialidad?"
    assert talk.last is not None
    [action] = talk.last.actions
    assert not action.ok and error in action.result["error"]
    assert json.loads(model.prompts[1].messages[-1].content)["error"] == action.result["error"]
    assert await run(talk, "Pediatría") == "Listo."


async def test_an_unknown_tool_is_an_error_the_model_sees() -> None:
    model = ScriptedModel(call("delete_everything", "{}"), text("No puedo hacer eso."))
    talk = Dialogue(model, None, toolbox([]))
    assert await run(talk, "Borra todo") == "No puedo hacer eso."
    assert talk.last is not None
    assert (
        "there is no tool 'delete_everything' (tools: book, list_slots)"
        in talk.last.actions[0].result["error"]
    )


async def test_a_model_that_keeps_calling_tools_is_stopped() -> None:
    model = ScriptedModel(*[call("list_slots", '{"service_id": "pediatria"}', f"c{i}") for i in range(3)])
    talk = Dialogue(model, None, toolbox([]), max_steps=3)
    assert await run(talk, "Hola") == TOO_MANY_STEPS
    assert talk.last is not None and len(talk.last.actions) == 3 and talk.last.completed


async def test_a_failing_model_is_apologised_for_and_the_next_turn_works() -> None:
    model = ScriptedModel(
        lambda _p: [TextDelta("Un momento"), LanguageModelError("the stream broke off")],  # type: ignore[list-item]
        text("Ya estoy de vuelta."),
    )
    talk = Dialogue(model)
    assert await run(talk, "Hola") == f"Un momento {NOT_AVAILABLE}"
    assert await run(talk, "¿Sigue ahí?") == "Ya estoy de vuelta."


async def test_interrupting_a_reply_keeps_what_was_said_and_finishes_a_write() -> None:
    writes: list[str] = []
    model = ScriptedModel(
        lambda _p: [TextDelta("Le reservo la cita. "), ToolCall("w", "book", "{}")],
        text("Listo, ", "quedó reservada."),
    )
    talk = Dialogue(model, None, toolbox([], writes))

    async def listen() -> None:
        async for _piece in talk.reply("Sí, resérvela"):
            pass

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.01)  # the booking is under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert writes == ["booked"]  # a write is never cut half-way
    assert talk.last is not None and not talk.last.completed and talk.last.reply == "Le reservo la cita."


async def test_cited_documents_replace_the_retrieved_ones_and_memory_is_bounded() -> None:
    model = ScriptedModel(*[(lambda _p: [TextDelta("Sí."), Cited(())]) for _ in range(10)])
    talk = Dialogue(model, OnePassage(), memory=6)
    for i in range(10):
        await run(talk, f"pregunta {i}")
    assert talk.last is not None and talk.last.sources == ()
    assert len(talk.history) <= 6 and talk.history[0].role == "user"


def test_check_arguments_nullable_and_patterns() -> None:
    schema = {
        "type": "object",
        "properties": {"date": {"type": "string", "pattern": r"\d{4}-\d{2}-\d{2}", "description": "YYYY-MM-DD"},
                       "site": {"type": ["string", "null"]}},
        "required": ["date", "site"],
    }  # fmt: skip
    assert check_arguments(schema, {"date": "2026-11-26", "site": None}) == ""
    assert check_arguments(schema, {"date": "mañana", "site": None}) == (
        "argument 'date' is not in the expected form (YYYY-MM-DD)"
    )
    assert check_arguments(schema, {"date": None, "site": None}) == "missing argument 'date'"


async def test_a_tool_that_breaks_is_logged_and_reported_to_the_model() -> None:
    async def broken(_args: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("booking system unreachable")

    model = ScriptedModel(call("slots", "{}"), text("Disculpe, la agenda no responde."))
    talk = Dialogue(model, None, Toolbox([Tool(ToolSpec("slots", "", {"type": "object"}), broken)]))
    assert await run(talk, "¿Hay citas?") == "Disculpe, la agenda no responde."
    assert talk.last is not None
    assert talk.last.actions[0].result == {"error": "the slots service failed (ConnectionError); try later"}
