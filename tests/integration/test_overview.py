"""The dashboard's overview (GET /api/overview) against the embedded PostgreSQL, with calls and turns stored
through the conversation journal as calls store them: counts today and this week by outcome (agreeing with the
conversations list), first-audio latency percentiles, cost at the price table, providers, and a real backup
(and a failed one) as the daily job takes them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.conversation_journal import Conversations, PostgresJournal
from engine.ports.language import TokenUsage
from engine.ports.records import TurnEntry
from engine.usage import turn_usage
from taina.auth import hash_password
from taina.backend import Backend
from taina.backup_schedule import backup_now
from taina.clinic.clock import CLINIC_TIMEZONE
from taina.overview import OUTCOMES
from taina.usage import PriceSettings, call_usage
from tests.support.servers import serving_here

PASSWORD = "una contraseña larga"
BOOKED = {"tool": "book_appointment", "arguments": {}, "result": {"booked": {"id": "a1"}}}
HANDED_OFF = {"tool": "hand_off_to_staff", "arguments": {}, "result": {"handed_off": True}}
LOCAL = turn_usage(("policy", []), ("whisper", 2.0), ("espeak-ng", 40))
CLOUD = turn_usage(("openai:gpt-4o-mini", [TokenUsage(900, 60, 512)]), ("deepgram", 3.0), ("elevenlabs", 120))


def percentile(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    ordered = sorted(values)
    at = fraction * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


async def store_calls(backend: Backend) -> dict[str, list[float]]:
    """Today: answered (3 turns), booked, handed off, failed (one turn), silent; 8 days ago: one answered call.
    The cloud call's usage costs money, the rest is local. Returns the first-audio latencies by day."""
    journal = PostgresJournal(backend.knowledge_parts.database)
    calls: dict[str, tuple[list[dict[str, Any]], list[float], dict[str, Any], bool]] = {
        "answered": ([{}, {}, {}], [610.0, 700.5, 1450.0], LOCAL, False),
        "booked": ([{}, BOOKED], [520.0, 880.0], CLOUD, False),
        "handed": ([HANDED_OFF], [990.0], LOCAL, False),
        "failed": ([{}], [2300.0], LOCAL, True),
        "silent": ([], [], LOCAL, False),
        "old": ([{}], [400.0], LOCAL, False),
    }
    for call, (actions, latencies, usage, failed) in calls.items():
        journal.started(call, "whisper", "policy", "espeak-ng")
        for n, (action, ms) in enumerate(zip(actions, latencies, strict=True), start=1):
            timings = {"end_of_speech": 0.0, "transcript": ms * 0.6, "first_audio": ms}
            journal.turn(
                call, TurnEntry(n, "hola", "buenas", False, timings, [action] if action else [], usage=usage)
            )
        journal.ended(call, len(actions), failed)
    await journal.flush()
    await journal.aclose()
    eight_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    database = backend.knowledge_parts.database
    await database.pool.execute("UPDATE conversations SET started_at = $1 WHERE id = 'old'", eight_days_ago)
    await database.pool.execute("UPDATE turns SET at = $1 WHERE conversation_id = 'old'", eight_days_ago)
    today = [ms for call, (_, latencies, _, _) in calls.items() if call != "old" for ms in latencies]
    return {"today": today, "old": calls["old"][1]}


async def test_the_overview_counts_calls_latency_cost_and_the_last_backup(backend: Backend) -> None:
    from taina.app import App

    empty_prices = PriceSettings()
    await backend.accounts.create_user("v@example.com", hash_password(PASSWORD), "viewer")
    async with (
        App.open(backend.settings, backend=backend) as app,
        serving_here(app.http()) as url,
        httpx.AsyncClient(base_url=url, timeout=20) as client,
    ):
        assert (await client.get("/api/overview")).status_code == 401
        login = await client.post("/api/auth/login", json={"email": "v@example.com", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # Nothing yet: zeros, no latency, no backup, and the embedded default says it costs nothing.
        empty = (await client.get("/api/overview", headers=headers)).json()
        assert empty["calls"]["today"] == 0 and empty["calls"]["week"] == 0
        assert len(empty["calls"]["per_day"]) == 14 and all(
            d["answered"] == 0 for d in empty["calls"]["per_day"]
        )
        assert empty["latency"]["week"] == {"turns": 0, "p50_ms": None, "p95_ms": None}
        assert empty["latency"]["recent"] == [] and empty["backup"] is None
        assert empty["cost"]["today"]["total"] == 0 and empty["cost"]["currency"] == empty_prices.currency
        assert [p["port"] for p in empty["providers"]] == [
            "speech_to_text",
            "language_model",
            "text_to_speech",
        ]
        assert all(p["local"] and p["status"] == "ok" for p in empty["providers"]), empty["providers"]
        assert empty["dependencies"] == {"database": True, "object_store": True}
        assert empty["backup_schedule"]["newest"] is None and empty["backup_schedule"]["daily"] is True

        latencies = await store_calls(backend)
        # A real backup as the daily job takes it, then one that fails (its destination cannot be made).
        assert await backup_now(app) is not None
        taken = (await client.get("/api/overview", headers=headers)).json()
        good = taken["backup"]
        assert good["result"] == "success" and good["added_bytes"] > 0 and good["database_bytes"] > 0
        newest = taken["backup_schedule"]["newest"]
        assert newest["count"] == 1 and newest["database_bytes"] == good["database_bytes"], newest
        working = app.settings
        app.settings = replace(
            working, backup=working.backup.model_copy(update={"to": "/proc/no-backups-here"})
        )
        try:
            assert await backup_now(app) is None
        finally:
            app.settings = working

        found = (await client.get("/api/overview", headers=headers)).json()

    # Counts, and the same outcomes as the conversations list gives each call.
    listed = await Conversations(backend.knowledge_parts.database).recent(100)
    today = dt.datetime.now(CLINIC_TIMEZONE).date()
    week_start = today - dt.timedelta(days=today.weekday())
    expected_today = dict.fromkeys(OUTCOMES, 0)
    expected_week = dict.fromkeys(OUTCOMES, 0)
    for call in listed:
        day = dt.datetime.fromisoformat(call["started_at"]).astimezone(CLINIC_TIMEZONE).date()
        expected_today[call["outcome"]] += day == today
        expected_week[call["outcome"]] += week_start <= day <= today
    assert found["calls"]["outcomes_today"] == expected_today
    assert expected_today == {"answered": 1, "booked": 1, "handed_off": 1, "failed": 1, "silent": 1}
    assert found["calls"]["outcomes_week"] == expected_week
    assert found["calls"]["today"] == 5 and found["calls"]["week"] == sum(expected_week.values())
    by_day = {d["day"]: d for d in found["calls"]["per_day"]}
    assert sum(by_day[today.isoformat()][o] for o in OUTCOMES) == 5
    old_day = (dt.datetime.now(CLINIC_TIMEZONE) - dt.timedelta(days=8)).date().isoformat()
    assert by_day[old_day]["answered"] == 1

    # First-audio latency: today's p50/p95 as PostgreSQL's percentile_cont computes them; the last turns.
    today_latency = next(d for d in found["latency"]["per_day"] if d["day"] == today.isoformat())
    assert today_latency["turns"] == len(latencies["today"]) == 7
    assert today_latency["p50_ms"] == pytest.approx(percentile(latencies["today"], 0.5), abs=0.1)
    assert today_latency["p95_ms"] == pytest.approx(percentile(latencies["today"], 0.95), abs=0.1)
    assert (
        len(found["latency"]["recent"]) == 8 and found["latency"]["recent"][0]["ms"] == 400.0
    )  # oldest first

    # Cost: today's is the booked call's (the only one on cloud providers), at the price table.
    priced = await call_usage(backend.knowledge_parts.database, "booked", empty_prices)
    assert priced is not None and priced["cost"]["total"] > 0
    assert found["cost"]["today"]["total"] == pytest.approx(priced["cost"]["total"], abs=1e-6)
    assert found["cost"]["month"]["total"] >= found["cost"]["today"]["total"]
    assert sum(d["total"] for d in found["cost"]["per_day"]) == pytest.approx(
        priced["cost"]["total"], abs=1e-5
    )

    # The last backup failed: it says so, with the last good one beside it.
    backup = found["backup"]
    assert backup["result"] == "failure" and backup["error"]
    assert backup["destination"] == "/proc/no-backups-here"
    assert backup["last_success"] == good
