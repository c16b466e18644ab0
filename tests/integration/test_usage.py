"""Usage and cost per call: the OpenAI adapter keeps the token counts the server reports, a call's turns keep
their usage in the database, and the API prices them per call and per day; the embedded default costs 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.conversation_journal import PostgresJournal
from adapters.openai_chat import OpenAIChat
from engine.ports.language import Message, Prompt, TokenUsage
from engine.ports.records import TurnEntry
from engine.usage import add_usage, turn_usage
from taina.backend import Backend
from taina.settings import Settings
from taina.usage import PriceSettings, call_usage, cost, usage_by_period
from tests.support.fake_openai_chat import KEY, FakeOpenAIChat, Reply
from tests.support.servers import serving


class Script:
    def __init__(self) -> None:
        self.replies: list[Reply] = []

    def __call__(self, _body: dict[str, Any]) -> Reply:
        return self.replies.pop(0)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serving(FakeOpenAIChat(script).app) as url:
        yield script, f"{url}/v1"


async def test_the_openai_adapter_keeps_the_usage_the_server_reports(fake: tuple[Script, str]) -> None:
    script, url = fake
    script.replies.append(Reply(text=["Hola."]))
    adapter = OpenAIChat(Settings.from_env({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url}).openai)
    noted: list[TokenUsage] = []
    try:
        prompt = Prompt([Message("user", "Hola")], usage=noted)
        events = [event async for event in adapter.respond(prompt)]
    finally:
        await adapter.aclose()
    assert len(events) == 1  # the stream's events are as before
    assert noted == [TokenUsage(prompt=50, completion=9, cached=0)]  # the fake's last chunk


def test_prices() -> None:
    prices = PriceSettings()
    usage = turn_usage(
        ("openai:gpt-4o-mini", [TokenUsage(1_000_000, 100_000, 400_000), TokenUsage(0, 0)]),
        ("deepgram (fallback whisper)", 120.0),
        ("elevenlabs", 2_000),
    )
    priced = cost(usage, prices)
    # 600k prompt at 0.15/M + 400k cached at 0.075/M + 100k completion at 0.60/M; 2 min at 0.0048/min;
    # 2k characters at 0.05 per thousand
    assert priced["by_provider"] == {
        "openai:gpt-4o-mini": pytest.approx(0.09 + 0.03 + 0.06),
        "deepgram (fallback whisper)": pytest.approx(2 * 0.0048),
        "elevenlabs": pytest.approx(0.1),
    }
    local = cost(turn_usage(("policy", []), ("whisper", 3.0), ("espeak-ng", 40)), prices)
    assert local["total"] == 0 and local["note"] == "every provider runs on this machine: no cost"
    assert add_usage([usage, usage])["language_model"]["openai:gpt-4o-mini"]["cached"] == 800_000


async def test_a_calls_usage_is_kept_per_turn_and_summed(backend: Backend) -> None:
    database = backend.knowledge_parts.database
    journal = PostgresJournal(database)
    journal.started("c1", "deepgram", "openai:gpt-4o-mini", "elevenlabs")
    for turn in (1, 2):
        usage = turn_usage(
            ("openai:gpt-4o-mini", [TokenUsage(800, 40, 512)]), ("deepgram", 2.5), ("elevenlabs", 90)
        )
        journal.turn("c1", TurnEntry(turn, "hola", "buenas", False, {"first_audio": 700.0}, usage=usage))
    journal.started("c2", "whisper", "policy", "espeak-ng")
    journal.turn("c2", TurnEntry(1, "hola", "buenas", False, {}, usage=turn_usage(("policy", []), ("whisper", 1.5), ("espeak-ng", 30))))  # fmt: skip
    await journal.flush()
    prices = PriceSettings()
    one = await call_usage(database, "c1", prices)
    assert one is not None and [t["turn"] for t in one["turns"]] == [1, 2]
    assert one["usage"] == {"language_model": {"openai:gpt-4o-mini": {"prompt": 1600, "cached": 1024, "completion": 80}},
                            "speech_to_text": {"deepgram": 5.0}, "text_to_speech": {"elevenlabs": 180}}  # fmt: skip
    assert one["cost"]["total"] > 0
    embedded = await call_usage(database, "c2", prices)
    assert embedded is not None and embedded["cost"]["total"] == 0 and embedded["cost"]["note"]
    assert await call_usage(database, "nope", prices) is None
    [today] = await usage_by_period(database, "day", 7, prices)
    assert today["calls"] == 2 and today["turns"] == 3
    assert today["cost"]["total"] == pytest.approx(one["cost"]["total"])
    [month] = await usage_by_period(database, "month", 1, prices)
    assert month["period"] == today["period"][:7]
    await journal.aclose()


async def test_the_api_answers_usage_per_call_and_per_day(backend: Backend) -> None:
    from taina.app import App
    from taina.auth import hash_password
    from tests.support.servers import serving_here

    journal = PostgresJournal(backend.knowledge_parts.database)
    journal.started("c9", "whisper", "policy", "espeak-ng")
    journal.turn("c9", TurnEntry(1, "hola", "buenas", False, {}, usage=turn_usage(("policy", []), ("whisper", 1.0), ("espeak-ng", 6))))  # fmt: skip
    await journal.flush()
    await journal.aclose()
    await backend.accounts.create_user("v@example.com", hash_password("una contraseña larga"), "viewer")
    async with (
        App.open(backend.settings, backend=backend) as app,
        serving_here(app.http()) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        assert (await client.get("/api/usage")).status_code == 401
        login = await client.post(
            "/api/auth/login", json={"email": "v@example.com", "password": "una contraseña larga"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        call = (await client.get("/api/conversations/c9/usage", headers=headers)).json()
        assert call["cost"] == {"currency": "USD", "total": 0, "by_provider": {"whisper": 0, "espeak-ng": 0},
                                    "note": "every provider runs on this machine: no cost"}  # fmt: skip
        days = (await client.get("/api/usage?period=day", headers=headers)).json()
        assert days[0]["calls"] == 1
        assert (await client.get("/api/conversations/none/usage", headers=headers)).status_code == 404
