"""Call recordings: the caller left, the assistant right, aligned by time; spooled, encoded, stored; and a
spool left by a killed engine finished at the next start."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import av
import numpy as np

from adapters.conversation_journal import Conversations, PostgresJournal
from adapters.echo_responder import EchoResponder
from adapters.file_store import FileStore
from adapters.recordings import Recordings, recording_key
from engine.audio import rms_dbfs
from engine.dialogue import Dialogue
from engine.ports.records import TurnEntry
from engine.recording import RATE, SLOT, CallRecorder
from engine.session import Session
from taina.backend import Backend
from taina.settings import Settings
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.speech import silence, speech


class MemorySpool:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, pcm: bytes) -> None:
        self.data += pcm

    def close(self) -> None:
        self.closed = True

    def stereo(self) -> np.ndarray:
        return np.frombuffer(bytes(self.data), np.int16).reshape(-1, 2)


def test_both_sides_land_where_they_happened() -> None:
    spool = MemorySpool()
    recorder = CallRecorder(spool, started_at=100.0)
    loud = np.full(SLOT, 1000, np.int16)
    for slot in range(100):  # two seconds: the caller loud in the first second only
        recorder.caller(loud if slot < 50 else np.zeros(SLOT, np.int16), 100.0 + (slot + 1) * 0.02)
        if 60 <= slot < 80:  # the assistant, at 48 kHz, from 1.2 s to 1.6 s
            recorder.assistant(np.full(960, 2000, np.int16), 48_000, 100.0 + slot * 0.02)
    recorder.caller(loud, 99.0)  # from before the call: ignored
    recorder.close()
    audio = spool.stereo()
    assert spool.closed and len(audio) == 100 * SLOT
    left, right = audio[:, 0], audio[:, 1]
    assert (left[: 50 * SLOT] == 1000).all() and (left[50 * SLOT :] == 0).all()
    assert np.abs(right[: 60 * SLOT]).max() == 0 and np.abs(right[80 * SLOT + 100 :]).max() == 0
    assert abs(int(np.median(right[62 * SLOT : 78 * SLOT])) - 2000) < 20  # the decimated level


def test_a_missing_frame_is_silence_not_a_shift() -> None:
    spool = MemorySpool()
    recorder = CallRecorder(spool, started_at=0.0)
    for slot in (0, 1, 3):  # slot 2 never came
        recorder.caller(np.full(SLOT, slot + 1, np.int16), (slot + 1) * 0.02)
    recorder.close()
    left = spool.stereo()[:, 0]
    assert [int(left[s * SLOT]) for s in range(4)] == [1, 2, 0, 4]


def decoded(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
        rate = stream.rate
    pcm = np.concatenate(frames, axis=1)
    if pcm.dtype.kind == "f":  # Opus decodes to float planes
        pcm = np.clip(pcm * 32767, -32768, 32767).astype(np.int16)
    return (pcm.reshape(-1, 2) if pcm.shape[0] == 1 else pcm.T), rate


async def test_a_session_is_recorded_stored_and_listed(backend: Backend, tmp_path: Path) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    recordings = Recordings(tmp_path / "spool", store, database)
    journal = PostgresJournal(database)
    said = speech("Quiero una cita para mañana.")
    audio = np.concatenate([silence(0.4), said, silence(2.5)])
    transport = ScriptedTransport(audio, realtime=True)
    settings = Settings.from_env({"TAINA_DATA_DIR": "/nonexistent"})

    def hang_up(_record: object) -> None:
        asyncio.get_running_loop().call_later(0.3, transport.hung_up.set)

    session = Session("rec-1", transport, ScriptedStt("Quiero una cita para mañana."), Dialogue(EchoResponder()),
                      ToneTts(seconds=0.5), settings.session(), hang_up, journal, recordings)  # fmt: skip
    await asyncio.wait_for(session.run(), 30)
    await journal.aclose()
    assert session.error is None

    stereo, rate = decoded(await store.get(recording_key("rec-1")))
    assert rate == 48_000 and stereo.shape[1] == 2
    seconds = len(stereo) / rate
    speech_end = 0.4 + len(said) / RATE
    assert seconds > speech_end + 1.0
    left, right = stereo[:, 0], stereo[:, 1]
    during_speech = slice(int(0.6 * rate), int((speech_end - 0.1) * rate))
    assert rms_dbfs(left[during_speech]) > -40 and rms_dbfs(right[during_speech]) < -60
    reply_at = speech_end + session.records[0].timings_ms["first_audio"] / 1000
    during_reply = slice(int((reply_at + 0.1) * rate), int((reply_at + 0.4) * rate))
    assert rms_dbfs(right[during_reply]) > -30 and rms_dbfs(left[during_reply]) < -60

    (listed,) = await Conversations(database).recent()
    assert listed["id"] == "rec-1" and abs(listed["recording_seconds"] - seconds) < 0.3
    assert list((tmp_path / "spool").iterdir()) == []  # the spool is gone once stored


async def test_a_spool_left_by_a_killed_engine_is_finished_at_the_next_start(
    backend: Backend, tmp_path: Path
) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    first_run = Recordings(tmp_path / "spool", store, database)
    PostgresJournal(database).started("killed", "whisper", "policy", "espeak-ng")
    await asyncio.sleep(0.2)
    spool = first_run.open("killed")
    recorder = CallRecorder(spool, started_at=0.0, lag_slots=5)
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 300 * np.arange(SLOT) / RATE)).astype(np.int16)
    for slot in range(150):  # three seconds said, then the process dies: no close, no finish
        recorder.caller(tone, (slot + 1) * 0.02)

    next_run = Recordings(tmp_path / "spool", store, database)
    assert await next_run.recover() == []  # its process is alive (it holds the spool): the call goes on
    spool.close()  # the process dies: the kernel closes its files, letting go of the spool's lock
    assert await next_run.recover() == [recording_key("killed")]
    stereo, rate = decoded(await store.get(recording_key("killed")))
    assert len(stereo) / rate >= 2.8  # all but the last few slots not yet written when it died
    assert rms_dbfs(stereo[int(0.2 * rate) : int(2.6 * rate), 0]) > -20
    (row,) = await database.fetch("SELECT recording_key, ended_at FROM conversations WHERE id = 'killed'")
    assert row["recording_key"] == recording_key("killed") and row["ended_at"] is not None
    assert await next_run.recover() == []  # done once


async def test_calls_past_the_retention_period_are_deleted_recording_and_rows(
    backend: Backend, tmp_path: Path
) -> None:
    database = backend.database
    store = FileStore(tmp_path / "objects")
    recordings = Recordings(tmp_path / "spool", store, database)
    journal = PostgresJournal(database)
    for conversation_id in ("old", "new"):
        journal.started(conversation_id, "whisper", "policy", "espeak-ng")
        journal.turn(conversation_id, TurnEntry(1, "Hola", "Hola.", False, {"first_audio": 600.0}))
    await journal.aclose()
    for conversation_id in ("old", "new"):
        spool = recordings.open(conversation_id)
        spool.write(np.zeros(RATE * 4, np.int16).tobytes())
        spool.close()
        await recordings.finish(conversation_id)
    await database.pool.execute(
        "UPDATE conversations SET started_at = now() - interval '100 days' WHERE id = 'old'"
    )

    assert await recordings.enforce_retention(0) == 0  # 0 keeps everything
    assert await recordings.enforce_retention(90) == 1
    assert not await store.exists(recording_key("old")) and await store.exists(recording_key("new"))
    rows = await database.fetch("SELECT conversation_id FROM turns")
    assert [r["conversation_id"] for r in rows] == ["new"]
    assert [c["id"] for c in await Conversations(database).recent()] == ["new"]
