"""Call recordings: spooled to the data folder while the call runs, encoded (Opus in Ogg, with PyAV) and put in
the object store when it ends. A spool left behind by a killed engine is finished at the next start, so nothing
said before the kill is lost.

Spool files: <data dir>/recordings/<conversation id>.pcm (16 kHz interleaved 16-bit stereo, appended with
unbuffered writes) and its .json (when the call started). Objects: recordings/<conversation id>.ogg.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import structlog

from adapters.postgres import Database
from adapters.private import open_private, private_dir, write_private
from engine.options import Section, knob
from engine.ports.storage import ObjectStore
from engine.recording import RATE


class RecordingSettings(Section):
    prefix: ClassVar[str] = "TAINA_RECORDINGS"
    enabled: bool = knob(True, "Record every call (caller left, assistant right) into the object store.")
    retention_days: int = knob(
        90,
        "Calls older than this are deleted, recording and rows, by an hourly job; 0 keeps them forever.",
        ge=0,
        le=36_500,
    )


log = structlog.get_logger("taina.recordings")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONTENT_TYPE = "audio/ogg"


def recording_key(conversation_id: str) -> str:
    return f"recordings/{conversation_id}.ogg"


class FileSpool:
    """A call's spool, locked (flock) while its call runs: ``recover`` in another worker process leaves it alone,
    and the kernel lets go of the lock when the process dies, so a killed worker's spools can be recovered."""

    def __init__(self, path: Path) -> None:
        self._fd = open_private(path, os.O_WRONLY | os.O_APPEND)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def write(self, pcm: bytes) -> None:
        """Straight to the kernel (a killed process loses nothing written), all of it: a short write (the disk
        filling up) is carried on, so the next raises ENOSPC rather than some audio going missing unsaid."""
        view = memoryview(pcm)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


SPOOL_BYTES_PER_SECOND = RATE * 2 * 2  # interleaved 16-bit stereo


def encode_spool(path: Path, rate: int = RATE, bit_rate: int = 32_000) -> tuple[bytes, float]:
    """A spool file as Opus in Ogg, read a second at a time (a long call's PCM is never all in memory: an hour is
    230 MB of spool, its recording 14 MB), and the seconds of audio it held."""
    total = 0

    def seconds_of_pcm() -> Iterator[bytes]:
        nonlocal total
        with path.open("rb") as spool:
            while block := spool.read(SPOOL_BYTES_PER_SECOND):
                total += len(block)
                yield block

    encoded = _encode(seconds_of_pcm(), rate, bit_rate)
    return encoded, total // 4 / rate


def _encode(blocks: Iterator[bytes], rate: int, bit_rate: int) -> bytes:
    out_buffer = io.BytesIO()
    with av.open(out_buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="stereo")
        stream.bit_rate = bit_rate
        step = rate * 2 * 2  # one second of interleaved stereo samples, per frame handed to the encoder
        carry = b""
        for block in blocks:
            data = carry + block
            whole = len(data) - len(data) % 4  # whole stereo samples; a split one waits for the next block
            carry = data[whole:]
            samples = np.frombuffer(data[:whole], dtype=np.int16)
            for start in range(0, len(samples), step):
                frame = av.AudioFrame.from_ndarray(
                    samples[start : start + step].reshape(1, -1), format="s16", layout="stereo"
                )
                frame.sample_rate = rate
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out_buffer.getvalue()


@dataclass
class _Retry:
    attempts: int  # failed so far
    due: float  # monotonic time of the next try


class Recordings:
    """A call whose recording cannot be stored when it ends (the object store or the database down) keeps its
    spool and is tried again by ``run_retries`` while the engine runs: the pause after each failure doubles
    from ``retry_s`` up to ``max_retry_s``, at most ``per_pass`` recordings are tried at a time, and every
    failure is logged. One left when the engine stops is finished by ``recover`` at the next start."""

    def __init__(
        self,
        folder: Path,
        store: ObjectStore,
        database: Database,
        retry_s: float = 1.0,
        max_retry_s: float = 60.0,
        per_pass: int = 4,
    ) -> None:
        self._folder = folder
        self._store = store
        self._db = database
        self._retry_s, self._max_retry_s, self._per_pass = retry_s, max_retry_s, per_pass
        self._pending: dict[str, _Retry] = {}
        private_dir(folder)

    def open(self, conversation_id: str) -> FileSpool:
        if not _ID.match(conversation_id):
            raise ValueError(f"invalid conversation id {conversation_id!r}")
        write_private(
            self._folder / f"{conversation_id}.json",
            json.dumps({"conversation_id": conversation_id, "started": time.time(), "rate": RATE}).encode(),
        )
        return FileSpool(self._folder / f"{conversation_id}.pcm")

    async def finish(self, conversation_id: str) -> str | None:
        """Encode the call's spool, store it, note it on the conversation, and remove the spool. The key, or
        None if nothing was recorded. On failure it raises, and the recording is tried again later."""
        try:
            return await self._finish(conversation_id)
        except Exception:
            self._pending.setdefault(conversation_id, _Retry(0, time.monotonic() + self._retry_s))
            raise

    @property
    def pending(self) -> list[str]:
        """The calls whose recordings wait to be stored again."""
        return list(self._pending)

    async def retry_pending(self) -> list[str]:
        """Try the recordings whose turn has come (at most ``per_pass``): the keys of those stored."""
        now = time.monotonic()
        due = sorted((r.due, cid) for cid, r in self._pending.items() if r.due <= now)[: self._per_pass]
        stored = []
        for _, conversation_id in due:
            retry = self._pending[conversation_id]
            try:
                key = await self._finish(conversation_id)
            except Exception as exc:
                retry.attempts += 1
                pause = min(self._retry_s * 2**retry.attempts, self._max_retry_s)
                retry.due = time.monotonic() + pause
                log.error(
                    "recording.retry_failed",
                    conversation_id=conversation_id,
                    attempt=retry.attempts,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_s=pause,
                )
                continue
            del self._pending[conversation_id]
            log.info(
                "recording.retry_stored",
                conversation_id=conversation_id,
                key=key,
                attempts=retry.attempts + 1,
            )
            if key is not None:
                stored.append(key)
        return stored

    async def run_retries(self) -> None:
        """Forever (until cancelled, with the app): the recordings that failed, tried again as they come due."""
        while True:
            await self.retry_pending()
            now = time.monotonic()
            next_due = min((r.due for r in self._pending.values()), default=now + self._retry_s)
            await asyncio.sleep(min(max(next_due - now, 0.05), self._retry_s))

    async def _finish(self, conversation_id: str) -> str | None:
        spool = self._folder / f"{conversation_id}.pcm"
        if not spool.exists():
            return None
        if spool.stat().st_size < 4:
            self._remove(conversation_id)
            return None
        # Not queued behind other calls' encodes: a session holds its call's slot until its recording is stored.
        encoded, seconds = await asyncio.to_thread(encode_spool, spool)
        key = recording_key(conversation_id)
        await self._store.put(key, encoded, CONTENT_TYPE)
        await self._db.pool.execute(
            "INSERT INTO conversations (id, recording_key, recording_seconds) VALUES ($1, $2, $3)"
            " ON CONFLICT (id) DO UPDATE SET recording_key = $2, recording_seconds = $3,"
            # No end yet: the recording's. Ended by the supervisor when its worker died (end_lost, at the last
            # turn): the recording may have run longer, and is the later thing recorded.
            " ended_at = CASE WHEN conversations.end_reason = 'worker_lost'"
            " THEN GREATEST(conversations.ended_at, conversations.started_at + make_interval(secs => $3))"
            " ELSE COALESCE(conversations.ended_at, conversations.started_at + make_interval(secs => $3)) END",
            conversation_id,
            key,
            seconds,
        )
        self._remove(conversation_id)
        log.info("recording.stored", conversation_id=conversation_id, key=key, seconds=round(seconds, 1))
        return key

    def discard(self, conversation_id: str) -> None:
        self._remove(conversation_id)

    async def recover(self) -> list[str]:
        """Finish every spool a killed process left (a previous run, or a worker that died mid-call): their
        keys. A spool another live process holds (its call goes on) is left alone."""
        keys = []
        for spool in sorted(self._folder.glob("*.pcm")):
            conversation_id = spool.stem
            try:
                claim = os.open(spool, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # finished meanwhile
            try:
                try:
                    fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live call's, or another process is recovering it
                key = await self.finish(conversation_id)
            except Exception:
                log.error("recording.recover_failed", conversation_id=conversation_id, exc_info=True)
                continue
            finally:
                os.close(claim)
            if key is not None:
                log.warning("recording.recovered", conversation_id=conversation_id, key=key)
                keys.append(key)
        return keys

    async def enforce_retention(self, days: int) -> int:
        """Delete calls that started over ``days`` ago: recording first, then the rows. How many went."""
        if days <= 0:
            return 0
        rows = await self._db.fetch(
            "SELECT id, recording_key FROM conversations WHERE started_at < now() - make_interval(days => $1)",
            days,
        )
        for row in rows:
            if row["recording_key"]:
                await self._store.delete(row["recording_key"])
            await self._db.pool.execute("DELETE FROM conversations WHERE id = $1", row["id"])
        if rows:
            log.info("recording.retention", deleted=len(rows), days=days)
        return len(rows)

    async def audio(self, conversation_id: str) -> bytes:
        return await self._store.get(recording_key(conversation_id))

    def _remove(self, conversation_id: str) -> None:
        for suffix in (".pcm", ".json"):
            (self._folder / f"{conversation_id}{suffix}").unlink(missing_ok=True)
