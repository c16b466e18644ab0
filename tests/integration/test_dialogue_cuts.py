"""Barge-in at every point of a tool round trip, against a strict OpenAI-compatible server: whatever is cut,
the model's history stays valid (every tool call answered, by its result or a cancelled marker, before
anything else), so the next turn is answered instead of refused with a 400 for the rest of the call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from adapters.openai_chat import OpenAIChat
from engine.dialogue import NOT_AVAILABLE, Dialogue
from engine.ports.language import Prompt, ToolCall, ToolSpec
from engine.reply import Reply
from engine.tools import Action, Tool, Toolbox
from taina.settings import Settings
from tests.support.fake_openai_chat import KEY, FakeOpenAIChat, check_request
from tests.support.fake_openai_chat import Reply as Said
from tests.support.servers import serving

CANCELLED = {"error": "cancelled: the caller interrupted"}
ASK = "¿Hay citas de pediatría mañana?"
AGAIN = "¿Sigue ahí?"
SLOTS = ToolSpec(
    "list_slots", "free slots", {"type": "object", "properties": {}, "additionalProperties": False}
)
BOOK = ToolSpec("book", "book", {"type": "object", "properties": {}, "additionalProperties": False})


class Model:
    """The fake model: a tool call (with words first, if ``speaks``), then words; it answers AGAIN."""

    def __init__(self) -> None:
        self.speaks = False
        self.tool = "list_slots"
        self.after_tool = Said(text=["Tengo a las diez."])

    def __call__(self, body: dict[str, Any]) -> Said:
        last = body["messages"][-1]
        if last["role"] == "user" and last["content"] == ASK:
            return Said(
                text=["Un momento, ", "lo miro. "] if self.speaks else [],
                tool_calls=[("call_1", self.tool, "{}")],
            )
        if last["role"] == "tool":
            return self.after_tool
        return Said(text=["Sí, aquí estoy."])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeOpenAIChat, Model, str]]:
    model = Model()
    server = FakeOpenAIChat(model)
    with serving(server.app) as url:
        yield server, model, f"{url}/v1"


class Gates:
    """Where the tool round trip waits, so that a test can cut it there."""

    def __init__(self) -> None:
        self.before = asyncio.Event()  # the toolbox was asked, the tool not run yet
        self.running = asyncio.Event()  # the tool is running
        self.release = asyncio.Event()  # lets the tool (or the toolbox) go on
        self.hold_before = False
        self.ran: list[str] = []


class GatedToolbox(Toolbox):
    def __init__(self, gates: Gates) -> None:
        async def slots(_args: dict[str, Any]) -> dict[str, Any]:
            gates.running.set()
            await gates.release.wait()
            gates.ran.append("list_slots")
            return {"slots": ["10:00"]}

        async def book(_args: dict[str, Any]) -> dict[str, Any]:
            gates.running.set()
            await gates.release.wait()
            gates.ran.append("book")
            return {"booked": True}

        super().__init__([Tool(SLOTS, slots), Tool(BOOK, book, writes=True)])
        self.gates = gates

    async def call(self, call: ToolCall) -> Action:
        self.gates.before.set()
        if self.gates.hold_before:
            await self.gates.release.wait()
        return await super().call(call)


@pytest.fixture
def talk(
    served: tuple[FakeOpenAIChat, Model, str],
) -> Iterator[tuple[Dialogue, Gates, FakeOpenAIChat, Model]]:
    server, model, url = served
    server.requests.clear()
    model.speaks, model.tool, model.after_tool = False, "list_slots", Said(text=["Tengo a las diez."])
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": url,
        "OPENAI_MODEL": "gpt-test",
        "TAINA_OPENAI_RETRIES": "0",
    }
    gates = Gates()
    yield Dialogue(OpenAIChat(Settings.from_env(env).openai), None, GatedToolbox(gates)), gates, server, model


async def until(ready: Callable[[], bool], deadline_s: float = 5.0) -> None:
    ends = time.monotonic() + deadline_s
    while not ready():
        assert time.monotonic() < ends, "timed out"
        await asyncio.sleep(0.005)


async def barge_in(talk: Dialogue, at: Callable[[list[str]], Awaitable[None]], heard: str = "") -> Reply:
    """Start the reply to ASK, wait for ``at`` (given the pieces so far), then cut it as the session does."""
    reply = talk.reply(ASK)
    pieces: list[str] = []

    async def listen() -> None:
        async with contextlib.aclosing(reply) as stream:
            async for piece in stream:
                pieces.append(piece)

    task = asyncio.create_task(listen())
    await at(pieces)
    assert not task.done()
    task.cancel()
    await asyncio.wait([task])
    reply.cut(heard)
    return reply


async def next_turn_is_answered(talk: Dialogue, server: FakeOpenAIChat) -> None:
    answer = "".join([p async for p in talk.reply(AGAIN)])
    assert answer != NOT_AVAILABLE  # not refused by the server (a 400 for every turn left in the call)
    assert answer == "Sí, aquí estoy."
    messages = Prompt(talk._messages([]), talk.toolbox.specs)
    assert check_request(talk.lm.request_body(messages)) == ""  # type: ignore[attr-defined]
    sent = server.requests[-1]["messages"]
    asked = next(i for i, m in enumerate(sent) if m.get("tool_calls"))
    assert sent[asked + 1]["role"] == "tool" and sent[asked + 1]["tool_call_id"] == "call_1"


def tool_answer(talk: Dialogue) -> Any:
    [answer] = [m for m in talk.history if m.role == "tool"]
    return json.loads(answer.content)


async def test_cut_before_the_tool_runs(talk: Any) -> None:
    dialogue, gates, server, _model = talk
    gates.hold_before = True
    reply = await barge_in(dialogue, lambda _p: gates.before.wait())
    assert gates.ran == [] and reply.interrupted
    await next_turn_is_answered(dialogue, server)
    assert tool_answer(dialogue) == CANCELLED


async def test_cut_while_a_read_only_tool_runs(talk: Any) -> None:
    dialogue, gates, server, _model = talk
    await barge_in(dialogue, lambda _p: gates.running.wait())
    await next_turn_is_answered(dialogue, server)
    assert tool_answer(dialogue) == CANCELLED
    gates.release.set()
    await asyncio.sleep(0.02)
    assert gates.ran == []  # the read-only tool was stopped with its turn


async def test_cut_after_the_tools_result(talk: Any) -> None:
    dialogue, _gates, server, model = talk
    _gates.release.set()
    model.after_tool = Said(text=["Tengo a las diez."], first_delay_s=2.0)
    await barge_in(dialogue, lambda _p: until(lambda: len(server.requests) == 2))
    assert tool_answer(dialogue) == {"slots": ["10:00"]}
    await next_turn_is_answered(dialogue, server)


async def test_cut_while_the_model_streams_the_next_step(talk: Any) -> None:
    dialogue, gates, server, model = talk
    gates.release.set()
    model.after_tool = Said(text=[f"hora {i}, " for i in range(2000)])
    reply = await barge_in(dialogue, lambda pieces: until(lambda: len(pieces) >= 3), heard="hora 0,")
    assert tool_answer(dialogue) == {"slots": ["10:00"]}
    assert dialogue.history[-1].content == "hora 0,…" and reply.text == "hora 0,"
    await next_turn_is_answered(dialogue, server)


async def test_a_model_that_speaks_before_calling_a_tool(talk: Any) -> None:
    dialogue, gates, server, model = talk
    model.speaks = True
    reply = await barge_in(dialogue, lambda _p: gates.running.wait(), heard="Un momento,")
    assert reply.text == "Un momento,"
    said = [m.content for m in dialogue.history if m.role == "assistant"]
    await next_turn_is_answered(dialogue, server)
    assert said == ["", "Un momento,…"]  # only what was heard, once
    assert tool_answer(dialogue) == CANCELLED


async def test_a_write_cut_half_way_is_answered_by_its_real_result(talk: Any) -> None:
    dialogue, gates, server, model = talk
    model.tool = "book"
    await barge_in(dialogue, lambda _p: gates.running.wait())
    assert "cancelled" in tool_answer(dialogue)["error"]  # its outcome is not known yet
    gates.release.set()
    await until(lambda: gates.ran == ["book"])
    await asyncio.sleep(0)
    assert tool_answer(dialogue) == {"booked": True}  # the write finished, and the model is told so
    await next_turn_is_answered(dialogue, server)
