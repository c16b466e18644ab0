"""The OpenAI chat adapter against a local server that speaks the streaming protocol, itself checked once
with the official openai client; then a whole booking through OpenAI tool calls, checked in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.openai_chat import OpenAIChat
from engine.dialogue import NOT_AVAILABLE
from engine.ports.language import LanguageModelError, Message, Prompt, TextDelta, ToolCall, ToolSpec
from taina.assistant import Assistant
from taina.backend import Backend
from taina.settings import Settings
from tests.support.fake_openai_chat import KEY, FakeOpenAIChat, Reply
from tests.support.servers import serving

TOOL = ToolSpec(
    "list_available_slots",
    "free slots",
    {
        "type": "object",
        "properties": {"service_id": {"type": "string"}, "date": {"type": ["string", "null"]}},
        "required": ["service_id", "date"],
        "additionalProperties": False,
    },
)
PROMPT = Prompt([Message("system", "Eres TAINA."), Message("user", "¿Hay pediatra mañana?")], [TOOL])


class Script:
    """The fake model's replies, in order."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    def __call__(self, _body: dict[str, Any]) -> Reply:
        return self.replies.pop(0)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeOpenAIChat, Script, str]]:
    script = Script()
    server = FakeOpenAIChat(script)
    with serving(server.app) as url:
        yield server, script, f"{url}/v1"


@pytest.fixture
def chat(fake: tuple[FakeOpenAIChat, Script, str]) -> Iterator[tuple[OpenAIChat, FakeOpenAIChat, Script]]:
    server, script, url = fake
    server.requests.clear()
    script.replies.clear()
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url, "OPENAI_MODEL": "gpt-test",
           "TAINA_OPENAI_FIRST_TOKEN_TIMEOUT_S": "0.5", "TAINA_OPENAI_RETRIES": "2"}  # fmt: skip
    yield OpenAIChat(Settings.from_env(env).openai), server, script


async def events(chat: OpenAIChat, prompt: Prompt = PROMPT) -> list[Any]:
    return [event async for event in chat.respond(prompt)]


async def test_the_fake_speaks_what_the_official_client_reads(
    fake: tuple[FakeOpenAIChat, Script, str],
) -> None:
    import openai

    _server, script, url = fake
    script.replies[:] = [Reply(text=["Sí, ", "tengo."], tool_calls=[("call_9", "list_available_slots",
                                                                       '{"service_id": "pediatria", "date": null}')])]  # fmt: skip
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "hola"}],
        tools=[{"type": "function", "function": {"name": TOOL.name, "description": TOOL.description,
                                                  "parameters": dict(TOOL.parameters), "strict": True}}],
        stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    text, arguments, names, finish, usage = [], [], [], None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage.total_tokens
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            for call in choice.delta.tool_calls or []:
                names.append(call.function.name if call.function and call.function.name else "")
                arguments.append(call.function.arguments if call.function and call.function.arguments else "")
            finish = choice.finish_reason or finish
    await client.close()
    assert "".join(text) == "Sí, tengo." and "list_available_slots" in names and finish == "tool_calls"
    assert json.loads("".join(arguments)) == {"service_id": "pediatria", "date": None} and usage == 59


async def test_text_streams_and_the_request_has_the_protocols_shape(chat: Any) -> None:
    adapter, server, script = chat
    script.replies.append(Reply(text=["Hola", ", ", "¿en qué le ayudo?"]))
    got = await events(adapter)
    assert [e.text for e in got] == ["Hola", ", ", "¿en qué le ayudo?"]
    [body] = server.requests
    assert body["model"] == "gpt-test" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True} and body["parallel_tool_calls"] is False
    assert (
        body["tools"][0]["function"]["name"] == "list_available_slots"
        and body["tools"][0]["function"]["strict"]
    )
    assert body["messages"] == [{"role": "system", "content": "Eres TAINA."},
                                {"role": "user", "content": "¿Hay pediatra mañana?"}]  # fmt: skip


async def test_tool_calls_are_assembled_per_index_and_sent_back(chat: Any) -> None:
    adapter, server, script = chat
    first = '{"service_id": "pediatria", "date": "2026-11-26"}'
    second = '{"service_id": "cardiologia", "date": null}'
    script.replies += [Reply(tool_calls=[("call_a", "list_available_slots", first),
                                         ("call_b", "list_available_slots", second)]),
                       Reply(text=["Tengo a las diez."])]  # fmt: skip
    got = await events(adapter)
    assert got == [
        ToolCall("call_a", "list_available_slots", first),
        ToolCall("call_b", "list_available_slots", second),
    ]
    round_trip = Prompt(
        [*PROMPT.messages, Message("assistant", "", tuple(got)),
         Message("tool", '{"slots": []}', tool_call_id="call_a"), Message("tool", '{"slots": []}', tool_call_id="call_b")],
        [TOOL],
    )  # fmt: skip
    assert [e.text for e in await events(adapter, round_trip)] == ["Tengo a las diez."]
    sent = server.requests[1]["messages"]
    assert sent[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "list_available_slots", "arguments": first}},
        {"id": "call_b", "type": "function", "function": {"name": "list_available_slots", "arguments": second}}]}  # fmt: skip
    assert sent[3] == {"role": "tool", "tool_call_id": "call_a", "content": '{"slots": []}'}


async def test_rate_limits_and_server_errors_are_retried(chat: Any) -> None:
    adapter, server, script = chat
    script.replies += [
        Reply(status=429, headers={"Retry-After": "0.1"}),
        Reply(status=503),
        Reply(text=["Listo."]),
    ]
    assert [e.text for e in await events(adapter)] == ["Listo."]
    assert len(server.requests) == 3


async def test_it_gives_up_after_its_retries_with_the_servers_message(chat: Any) -> None:
    adapter, server, script = chat
    script.replies += [Reply(status=500)] * 3
    with pytest.raises(
        LanguageModelError, match=r"answered 500 The server had an error \(after 3 attempts\)"
    ):
        await events(adapter)
    assert len(server.requests) == 3


async def test_a_wrong_key_is_not_retried(fake: tuple[FakeOpenAIChat, Script, str]) -> None:
    server, _script, url = fake
    server.requests.clear()
    adapter = OpenAIChat(Settings.from_env({"OPENAI_API_KEY": "sk-wrong", "OPENAI_BASE_URL": url}).openai)
    with pytest.raises(LanguageModelError, match="answered 401 Incorrect API key provided"):
        await events(adapter)


async def test_a_stream_that_stops_midway(chat: Any) -> None:
    adapter, server, script = chat
    # Before any words: retried, and the caller never knows.
    script.replies += [Reply(text=["Hola."], cut_after=1), Reply(text=["Hola."])]
    assert [e.text for e in await events(adapter)] == ["Hola."]
    assert len(server.requests) == 2
    # After words were passed on: not repeated, an error instead.
    script.replies += [Reply(text=["Le ", "cuento ", "que..."], cut_after=3)]
    got: list[Any] = []
    with pytest.raises(LanguageModelError, match="the stream broke off"):
        async for event in adapter.respond(PROMPT):
            got.append(event)
    assert [e.text for e in got] == ["Le ", "cuento "] and len(server.requests) == 3


async def test_a_first_token_that_does_not_come_and_a_garbled_chunk(chat: Any) -> None:
    adapter, _server, script = chat
    script.replies += [Reply(text=["tarde"], first_delay_s=2.0)] * 3
    with pytest.raises(LanguageModelError, match=r"no answer within 0.5 s \(after 3 attempts\)"):
        await events(adapter)
    script.replies[:] = [Reply(text=["a", "b"], garbage_after=2)]
    with pytest.raises(LanguageModelError, match="not JSON"):
        await events(adapter)


async def test_an_error_inside_the_stream_is_a_language_model_error(chat: Any) -> None:
    adapter, _server, script = chat
    script.replies += [Reply(text=["Le ", "cuento ", "que..."], error_after=2)]
    got: list[Any] = []
    with pytest.raises(LanguageModelError, match="the server reported: The server had an error"):
        async for event in adapter.respond(PROMPT):
            got.append(event)
    assert [e.text for e in got] == ["Le "]  # the words before it, and nothing made up after


async def test_the_fake_refuses_missing_and_out_of_order_tool_replies(chat: Any) -> None:
    adapter, server, _script = chat
    calls = (
        ToolCall("call_a", "list_available_slots", "{}"),
        ToolCall("call_b", "list_available_slots", "{}"),
    )
    asked = [*PROMPT.messages, Message("assistant", "", calls)]
    answers = [Message("tool", "{}", tool_call_id="call_a"), Message("tool", "{}", tool_call_id="call_b")]
    wrong = {
        "unanswered": [*asked, Message("user", "¿Y bien?")],
        "half answered": [*asked, answers[0], Message("user", "¿Y bien?")],
        "out of order": [*asked, answers[1], answers[0]],
        "answer without a call": [*PROMPT.messages, answers[0]],
        "words between": [*asked, Message("assistant", "Un momento."), *answers],
    }
    for case, messages in wrong.items():
        with pytest.raises(LanguageModelError, match="answered 400"):
            await events(adapter, Prompt(messages, [TOOL]))
        assert not server.requests, case  # refused before the model saw it


async def test_closing_the_stream_stops_it(chat: Any) -> None:
    adapter, _server, script = chat
    script.replies.append(Reply(text=[f"palabra {i} " for i in range(500)]))
    stream = adapter.respond(PROMPT)
    first = await anext(stream)
    await stream.aclose()  # barge-in
    assert isinstance(first, TextDelta) and first.text == "palabra 0 "
    script.replies.append(Reply(text=["Sigo aquí."]))
    assert [e.text for e in await events(adapter)] == ["Sigo aquí."]  # the client is still usable


class BookingModel:
    """A scripted model that books as a real one would: a bad call first, then the right tool calls."""

    def __init__(self) -> None:
        self.system_prompts: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        self.system_prompts.append(messages[0]["content"])
        last = messages[-1]
        if last["role"] == "user" and "cita" in last["content"]:
            return Reply(tool_calls=[("c1", "list_available_slots", json.dumps(
                {"service_id": "cardiologia", "date": "mañana", "site_id": None, "doctor_id": None,
                 "part_of_day": None, "from_time": None, "days": None}))])  # fmt: skip
        if last["role"] == "tool" and "error" in json.loads(last["content"]):
            return Reply(tool_calls=[("c2", "list_available_slots", json.dumps(
                {"service_id": "cardiologia", "date": "2026-11-26", "site_id": None, "doctor_id": None,
                 "part_of_day": "tarde", "from_time": "16:00", "days": None}))])  # fmt: skip
        if last["role"] == "tool" and "slots" in json.loads(last["content"]):
            slot = json.loads(last["content"])["slots"][0]
            return Reply(
                text=[f"Tengo {slot['when']} con {slot['doctor']}. ", "¿Me da su nombre y teléfono?"]
            )
        if last["role"] == "user" and "809" in last["content"]:
            return Reply(
                text=["Le confirmo: cardiología, jueves a las 4:00 p. m., a nombre de Juan Soto. ¿Correcto?"]
            )
        if last["role"] == "user" and last["content"].startswith("Sí"):
            slot_id = next(json.loads(m["content"])["slots"][0]["slot_id"] for m in reversed(messages)
                           if m["role"] == "tool" and "slots" in json.loads(m["content"]))  # fmt: skip
            return Reply(tool_calls=[("c3", "book_appointment", json.dumps(
                {"slot_id": slot_id, "patient_name": "Juan Soto", "patient_phone": "809-555-7777",
                 "patient_confirmed": True}))])  # fmt: skip
        if last["role"] == "tool":
            return Reply(text=["¡Listo! Su cita quedó reservada."])
        return Reply(text=["¿En qué le ayudo?"])


async def test_a_booking_through_openai_tool_calls(backend: Backend) -> None:
    model = BookingModel()
    server = FakeOpenAIChat(model)
    with serving(server.app) as url:
        env = {"TAINA_DATA_DIR": str(backend.settings.data_dir), "TAINA_NOW": backend.settings.dialogue.now,
               "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{url}/v1"}  # fmt: skip
        assistant = Assistant(Settings.from_env(env), backend)
        assert assistant.language_model == "openai:gpt-4o-mini"
        talk = assistant.dialogue("openai-booking")
        try:
            offer = "".join(
                [p async for p in talk.reply("Quiero una cita de cardiología mañana a las cuatro")]
            )
            assert (
                offer
                == "Tengo el jueves 26 de noviembre a las 4:00 p. m. con Dra. Carolina Tavárez. ¿Me da su nombre y teléfono?"
            )
            assert talk.last is not None
            bad, good = talk.last.actions
            assert "argument 'date' is not in the expected form" in bad.result["error"] and good.ok
            "".join([p async for p in talk.reply("Juan Soto, 809-555-7777")])
            done = "".join([p async for p in talk.reply("Sí, correcto")])
            assert done == "¡Listo! Su cita quedó reservada."
            assert talk.last.actions[0].tool == "book_appointment" and talk.last.actions[0].ok
        finally:
            await assistant.aclose()
    [booked] = await backend.appointments.find_by_patient("8095557777")
    assert booked.doctor_id == "tavarez" and booked.starts_at.isoformat() == "2026-11-26T20:00:00+00:00"
    assert (
        "Catálogo de citas" in model.system_prompts[0]
        and "Ahora es el miércoles 25 de noviembre" in model.system_prompts[0]
    )


async def test_an_unreachable_model_is_apologised_for(backend: Backend) -> None:
    from tests.support.servers import free_port

    env = {"TAINA_NOW": backend.settings.dialogue.now, "OPENAI_API_KEY": KEY, "TAINA_OPENAI_RETRIES": "0",
           "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}  # fmt: skip
    assistant = Assistant(Settings.from_env(env), backend)
    talk = assistant.dialogue("down")
    assert "".join([p async for p in talk.reply("Hola")]) == NOT_AVAILABLE
    await assistant.aclose()
