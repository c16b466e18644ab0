"""Conversations and turns (with their latency waterfall) in PostgreSQL, written in the background; and the
ending of conversations whose `taina serve` worker process died under them (``end_lost``)."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace

from adapters.postgres import UNAVAILABLE, Database
from engine.ports.records import TurnEntry

log = structlog.get_logger("taina.journal")

_Write = Callable[[], Awaitable[None]]
_Queued = tuple[_Write, str, otel_context.Context]


class PostgresJournal:
    """Queues each record and writes it on its own task, in order, so a slow database never delays a reply.

    While the database is unreachable (down, restarting) the write in hand is retried with a growing pause
    (``retry_s`` doubling up to ``max_retry_s``) and the rest wait behind it, in order, in a queue of at most
    ``max_queued``; a record past that bound is dropped with an error naming it. A write the database refuses
    (a broken constraint) is logged with what it was and the writer goes on. Closing waits ``close_timeout_s``
    for what is queued, then logs how many records it leaves unwritten.

    ``owner``: the `taina serve` worker process writing (its run id; '' in a single process), kept on each
    conversation it starts so that, if the process dies, the supervisor ends those and only those
    (``end_lost``)."""

    def __init__(
        self,
        database: Database,
        max_queued: int = 10_000,
        retry_s: float = 0.2,
        max_retry_s: float = 5.0,
        close_timeout_s: float = 10.0,
        owner: str = "",
    ) -> None:
        self._db = database
        self.owner = owner
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(max_queued)
        self._writer: asyncio.Task[None] | None = None
        self._retry_s, self._max_retry_s = retry_s, max_retry_s
        self._close_timeout_s = close_timeout_s

    def started(self, conversation_id: str, stt: str, lm: str, tts: str) -> None:
        self._put(
            lambda: self._execute(
                "INSERT INTO conversations (id, stt, lm, tts, owner) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (id) DO NOTHING",
                conversation_id,
                stt,
                lm,
                tts,
                self.owner,
            ),
            "started",
        )

    def turn(self, conversation_id: str, turn: TurnEntry) -> None:
        self._put(
            lambda: self._execute(
                "INSERT INTO turns (conversation_id, turn_id, transcript, reply, interrupted, timings_ms,"
                " actions, sources, usage, trace_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9::jsonb,"
                " $10) ON CONFLICT (conversation_id, turn_id) DO NOTHING",
                conversation_id,
                turn.turn_id,
                turn.transcript,
                turn.reply,
                turn.interrupted,
                json.dumps(dict(turn.timings_ms)),
                json.dumps([dict(a) for a in turn.actions], ensure_ascii=False, default=str),
                list(turn.sources),
                json.dumps(dict(turn.usage or {})),
                turn.trace_id,
            ),
            "turn",
        )

    def ended(self, conversation_id: str, turns: int, failed: bool) -> None:
        trace_id = trace.format_trace_id(span.trace_id) if (span := _current_span()).is_valid else ""
        self._put(
            lambda: self._execute(
                "UPDATE conversations SET ended_at = now(), turns = $2, failed = $3, trace_id = $4"
                " WHERE id = $1",
                conversation_id,
                turns,
                failed,
                trace_id,
            ),
            "ended",
        )

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        await self._queue.join()

    async def aclose(self) -> None:
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await self.flush()
        except TimeoutError:
            log.error("journal.unwritten", records=self._queue.qsize(), waited_s=self._close_timeout_s)
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    def _put(self, write: _Write, what: str) -> None:
        if self._writer is None or self._writer.done():
            # A context of its own: not the first call's log context, nor its trace, for every later write.
            self._writer = asyncio.create_task(
                self._write_all(), name="journal-writer", context=contextvars.Context()
            )
        try:
            # Each write is traced under the call (and turn) that made it.
            self._queue.put_nowait((write, what, otel_context.get_current()))
        except asyncio.QueueFull:
            log.error("journal.dropped", what=what, queued=self._queue.qsize())

    async def _write_all(self) -> None:
        while True:
            write, what, traced = await self._queue.get()
            token = otel_context.attach(traced)
            try:
                await self._write(write, what)
            finally:
                otel_context.detach(token)
                self._queue.task_done()

    async def _write(self, write: _Write, what: str) -> None:
        """One record, tried again while the database is unreachable; refused, logged and left."""
        pause = self._retry_s
        attempt = 1
        while True:
            try:
                await write()
                if attempt > 1:
                    log.info("journal.write_recovered", what=what, attempts=attempt)
                return
            except UNAVAILABLE as exc:
                log.warning(
                    "journal.write_retrying",
                    what=what,
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_s=pause,
                    queued=self._queue.qsize(),
                )
            except Exception:
                log.error("journal.write_failed", what=what, exc_info=True)
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._max_retry_s)
            attempt += 1

    async def _execute(self, query: str, *args: object) -> None:
        await self._db.pool.execute(query, *args)


WORKER_LOST = "worker_lost"


async def end_lost(connection: asyncpg.Connection | asyncpg.Pool, owner: str) -> int:
    """End the conversations a dead worker process (run id ``owner``) left open: ended at the last thing
    recorded for them (their last turn, else their start; a recording stored later may only move it on,
    adapters/recordings.py), failed, their turns counted, with end_reason 'worker_lost'. Only rows with that
    owner and no end are touched: calls in live workers carry other owners. How many were ended."""
    if not owner:
        raise ValueError("end_lost needs a worker's run id: '' is every single-process engine's")
    status: str = await connection.execute(
        "UPDATE conversations c SET"
        " ended_at = GREATEST(c.started_at, (SELECT max(t.at) FROM turns t WHERE t.conversation_id = c.id)),"
        " turns = (SELECT count(*) FROM turns t WHERE t.conversation_id = c.id),"
        " failed = true, end_reason = $2"
        " WHERE c.owner = $1 AND c.ended_at IS NULL",
        owner,
        WORKER_LOST,
    )
    return int(status.split()[-1])


# A call with what the list shows of it: length, turn count, and whether it booked or was handed off.
_SUMMARY = (
    "SELECT c.*, EXTRACT(EPOCH FROM (COALESCE(c.ended_at, now()) - c.started_at)) AS seconds,"
    " (SELECT count(*) FROM turns t WHERE t.conversation_id = c.id) AS turn_count,"
    ' (SELECT bool_or(t.actions @> \'[{"tool": "book_appointment", "result": {"booked": {}}}]\') FROM turns t'
    "   WHERE t.conversation_id = c.id) AS booked,"
    ' (SELECT bool_or(t.actions @> \'[{"tool": "hand_off_to_staff"}]\') FROM turns t'
    "   WHERE t.conversation_id = c.id) AS handed_off"
    " FROM conversations c"
)


def _current_span() -> trace.SpanContext:
    return trace.get_current_span().get_span_context()


class Conversations:
    """Reading what the journal wrote: the list of calls and one call with its turns."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def recent(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        rows = await self._db.fetch(
            f"{_SUMMARY} ORDER BY c.started_at DESC LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        return [_conversation(r) for r in rows]

    async def one(self, conversation_id: str) -> dict[str, Any] | None:
        rows = await self._db.fetch(
            f"{_SUMMARY} WHERE c.id = $1",
            conversation_id,
        )
        if not rows:
            return None
        turns = await self._db.fetch(
            "SELECT * FROM turns WHERE conversation_id = $1 ORDER BY turn_id", conversation_id
        )
        return {
            **_conversation(rows[0]),
            "turns": [
                {
                    "turn": t["turn_id"],
                    "at": t["at"].isoformat(),
                    "transcript": t["transcript"],
                    "reply": t["reply"],
                    "interrupted": t["interrupted"],
                    "timings_ms": json.loads(t["timings_ms"]),
                    "actions": json.loads(t["actions"]),
                    "sources": list(t["sources"]),
                    "trace_id": t["trace_id"],
                }
                for t in turns
            ],
        }


def _conversation(row: Any) -> dict[str, Any]:
    turns = int(row["turn_count"])
    return {
        "id": row["id"],
        "started_at": row["started_at"].isoformat(),
        "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None,
        "seconds": round(float(row["seconds"]), 1),
        "turns": turns,
        "outcome": _outcome(row, turns),
        "providers": {"stt": row["stt"], "lm": row["lm"], "tts": row["tts"]},
        "recording_seconds": round(float(row["recording_seconds"]), 2) if row["recording_key"] else None,
        "trace_id": row["trace_id"],
        "end_reason": row["end_reason"],  # None: ended by itself (or still running); 'worker_lost'
    }


def _outcome(row: Any, turns: int) -> str:
    if row["failed"]:
        return "failed"
    if row["booked"]:
        return "booked"
    if row["handed_off"]:
        return "handed_off"
    return "answered" if turns else "silent"
