"""Every turn, with its latency waterfall, lands in PostgreSQL; and in the Prometheus histograms."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from prometheus_client import REGISTRY

from adapters.conversation_journal import PostgresJournal
from adapters.echo_responder import EchoResponder
from engine.dialogue import Dialogue
from engine.ports.records import TurnEntry
from engine.session import Session
from engine.waterfall import STAGES
from taina.backend import Backend
from taina.settings import Settings
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence, speech


def histogram_count(stage: str) -> float:
    return REGISTRY.get_sample_value("taina_turn_stage_seconds_count", {"stage": stage}) or 0.0


async def test_a_session_keeps_its_conversation_and_turns(backend: Backend) -> None:
    database = backend.database
    journal = PostgresJournal(database)
    audio = np.concatenate([silence(0.4), speech("Quiero una cita para mañana."), silence(1.0)])
    transport = ScriptedTransport(audio)
    before = histogram_count("first_audio")

    def hang_up(_record: object) -> None:
        transport.hung_up.set()

    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})
    stt = ScriptedStt("Quiero una cita para mañana.")
    session = Session(
        "conv-1", transport, stt, Dialogue(EchoResponder()), ToneTts(), settings.session(), hang_up, journal
    )
    await asyncio.wait_for(session.run(), 30)
    await journal.aclose()

    (conversation,) = await database.fetch("SELECT * FROM conversations")
    assert conversation["id"] == "conv-1" and conversation["turns"] == 1 and not conversation["failed"]
    assert conversation["ended_at"] is not None and conversation["lm"] == "echo"
    (turn,) = await database.fetch("SELECT * FROM turns WHERE conversation_id = 'conv-1'")
    assert turn["transcript"] == "Quiero una cita para mañana." and not turn["interrupted"]
    timings = json.loads(turn["timings_ms"])
    assert set(timings) == set(STAGES) and timings == session.records[0].timings_ms
    assert histogram_count("first_audio") == before + 1


async def test_a_failed_write_is_logged_and_the_next_ones_still_land(backend: Backend) -> None:
    database = backend.database
    journal = PostgresJournal(database)
    entry = TurnEntry(1, "hola", "Hola.", False, {"first_audio": 500.0})
    journal.turn("no-such-conversation", entry)  # refused by the foreign key
    journal.started("conv-2", "stt", "lm", "tts")
    journal.turn("conv-2", entry)
    await journal.aclose()
    rows = await database.fetch("SELECT conversation_id FROM turns")
    assert [r["conversation_id"] for r in rows] == ["conv-2"]
