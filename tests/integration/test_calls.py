"""A call's bounds on the real journal and recordings: the longest call allowed is hung up by the assistant and
kept with its recording; an offer that never sends audio leaves nothing behind."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import numpy as np

from adapters.conversation_journal import Conversations, PostgresJournal
from adapters.echo_responder import EchoResponder
from adapters.file_store import FileStore
from adapters.recordings import Recordings, recording_key
from engine.dialogue import Dialogue
from engine.session import Session
from taina.backend import Backend
from taina.settings import Settings
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence


async def test_a_call_past_its_maximum_length_ends_cleanly_with_its_recording(
    backend: Backend, tmp_path: Path
) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    recordings = Recordings(tmp_path / "spool", store, database)
    journal = PostgresJournal(database)
    transport = ScriptedTransport(silence(30.0), realtime=True)  # a caller who never hangs up
    settings = dataclasses.replace(
        Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"}).session(), max_call_s=1.5, greeting="Hola."
    )
    session = Session("long-1", transport, ScriptedStt(""), Dialogue(EchoResponder()), ToneTts(),
                      settings, None, journal, recordings)  # fmt: skip
    began = time.monotonic()
    await asyncio.wait_for(session.run(), 20)
    await journal.aclose()
    assert time.monotonic() - began < 6
    assert session.error is None and session.reached_max_length and transport.closed
    assert {"type": "ended", "reason": "max_length"} in transport.events
    assert await store.exists(recording_key("long-1"))
    (listed,) = await Conversations(database).recent()
    assert listed["id"] == "long-1" and listed["ended_at"] is not None and listed["outcome"] != "failed"
    assert 1.0 < listed["recording_seconds"] < 4.0


async def test_an_offer_that_never_sends_audio_leaves_no_conversation(
    backend: Backend, tmp_path: Path
) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    recordings = Recordings(tmp_path / "spool", store, database)
    journal = PostgresJournal(database)
    transport = ScriptedTransport(np.zeros(0, np.int16), realtime=True)  # connected, then nothing
    settings = dataclasses.replace(
        Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"}).session(), greeting="Hola."
    )
    session = Session("probe-1", transport, ScriptedStt(""), Dialogue(EchoResponder()), ToneTts(),
                      settings, None, journal, recordings)  # fmt: skip
    asyncio.get_running_loop().call_later(0.8, transport.hung_up.set)  # the probe goes away
    await asyncio.wait_for(session.run(), 20)
    await journal.aclose()
    assert await database.fetch("SELECT id FROM conversations") == []
    assert session.error is None and not session.media_flowed
    assert not await store.exists(recording_key("probe-1"))
    assert list((tmp_path / "spool").iterdir()) == []
