"""The supervisor ending a dead worker's conversations (taina/workers.py: Supervisor._end_lost) against a real
PostgreSQL: while the database cannot be reached the run ids wait, logged, and are ended at the next try, with
those of workers that died meanwhile; conversations of other runs stay open."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog

from adapters.postgres import _migrate
from taina.settings import Settings
from taina.workers import END_LOST_RETRY_S, Supervisor
from tests.support.servers import free_port


async def _rows(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await connection.close()


def test_lost_conversations_wait_for_the_database_and_spare_other_runs(database_url: str) -> None:
    asyncio.run(_migrate(database_url, 10))
    for conversation, owner in (("a", "h/9/1/r1"), ("b", "h/9/0/r2"), ("c", "h/9/0/live")):
        asyncio.run(
            _rows(database_url, "INSERT INTO conversations (id, owner) VALUES ($1, $2)", conversation, owner)
        )
    supervisor = Supervisor(Settings.from_env({}), "127.0.0.1", 0, 2)

    supervisor.database_url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    with structlog.testing.capture_logs() as logs:
        supervisor._end_lost(["h/9/1/r1"])
    assert supervisor.lost == ["h/9/1/r1"]
    assert [e["event"] for e in logs] == ["workers.end_lost_failed"] and logs[0][
        "retry_in_s"
    ] == END_LOST_RETRY_S

    supervisor.database_url = database_url  # reachable again; another worker died meanwhile
    with structlog.testing.capture_logs() as logs:
        supervisor._end_lost(["h/9/0/r2"])
    assert supervisor.lost == []
    assert sorted(
        (e["run"], e["conversations"]) for e in logs if e["event"] == "workers.conversations_lost"
    ) == [
        ("h/9/0/r2", 1),
        ("h/9/1/r1", 1),
    ]
    rows = asyncio.run(_rows(database_url, "SELECT id, ended_at, end_reason FROM conversations ORDER BY id"))
    assert [(r["id"], r["end_reason"], r["ended_at"] is not None) for r in rows] == [
        ("a", "worker_lost", True),
        ("b", "worker_lost", True),
        ("c", None, False),
    ]
