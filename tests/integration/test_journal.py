"""Every turn, with its latency waterfall, lands in PostgreSQL; and in the Prometheus histograms."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
from prometheus_client import REGISTRY

from adapters.conversation_journal import WORKER_LOST, Conversations, PostgresJournal, end_lost
from adapters.echo_responder import EchoResponder
from adapters.file_store import FileStore
from adapters.recordings import Recordings, recording_key
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


async def test_a_dead_workers_open_conversations_end_at_their_last_turn_and_no_others(
    backend: Backend, tmp_path: Path
) -> None:
    """end_lost (what the supervisor runs when a worker process dies): the dead worker's open conversations end
    at their last turn (their start without one), failed, reason 'worker_lost', turns counted; its conversation
    that had ended is left as it was, and so is the live worker's. A recording stored after (the replacement
    recovering the spool) moves the end on when it ran longer, never back."""
    database = backend.database
    dead, live = (
        PostgresJournal(database, owner="host/1/1/aa"),
        PostgresJournal(database, owner="host/1/0/bb"),
    )
    entry = TurnEntry(1, "hola", "Hola.", False, {"first_audio": 500.0})
    for conversation in ("cut", "silent", "done"):
        dead.started(conversation, "stt", "lm", "tts")
    live.started("running", "stt", "lm", "tts")
    dead.turn("cut", entry)
    await dead.flush()
    await asyncio.sleep(0.05)
    dead.turn("cut", TurnEntry(2, "gracias", "De nada.", False, {"first_audio": 480.0}))
    dead.turn("done", entry)
    dead.ended("done", 1, False)
    live.turn("running", entry)
    await dead.aclose()
    await live.aclose()

    async with database.pool.acquire() as connection:
        assert await end_lost(connection, "host/1/1/aa") == 2
        assert await end_lost(connection, "host/1/1/aa") == 0  # once
        assert await end_lost(connection, "host/1/1/zz") == 0  # another run of that worker index: nothing
    rows = {
        r["id"]: r
        for r in await database.fetch(
            "SELECT c.*, (SELECT max(at) FROM turns t WHERE t.conversation_id = c.id) AS last_turn"
            " FROM conversations c"
        )
    }
    cut, silent, done, running = rows["cut"], rows["silent"], rows["done"], rows["running"]
    assert cut["ended_at"] == cut["last_turn"] and cut["ended_at"] > cut["started_at"]
    assert (cut["turns"], cut["failed"], cut["end_reason"]) == (2, True, WORKER_LOST)
    assert silent["ended_at"] == silent["started_at"] and silent["end_reason"] == WORKER_LOST
    assert (done["end_reason"], done["failed"], done["turns"]) == (None, False, 1)
    assert done["ended_at"] is not None
    assert running["ended_at"] is None and running["end_reason"] is None and not running["failed"]

    # The replacement stores the cut call's recording: 30 s of audio, so it ends later than its last turn.
    recordings = Recordings(tmp_path / "spool", FileStore(tmp_path / "objects"), database)
    spool = recordings.open("cut")
    spool.write(b"\0" * (4 * 16_000 * 30))
    spool.close()
    assert await recordings.recover() == [recording_key("cut")]
    (after,) = await database.fetch(
        "SELECT started_at, ended_at, end_reason FROM conversations WHERE id = 'cut'"
    )
    assert after["end_reason"] == WORKER_LOST
    assert abs((after["ended_at"] - after["started_at"]).total_seconds() - 30) < 0.01
    listed = await Conversations(database).one("cut")
    assert listed is not None and listed["end_reason"] == WORKER_LOST and listed["outcome"] == "failed"
