"""Settings changed from the dashboard, kept in PostgreSQL (settings_overrides) over the environment's values.

Every save is announced on the channel ``taina_settings`` (NOTIFY, sent when the change commits); ``watch``
listens there, so every worker process, and every engine on the same database, applies a change made through
any one of them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping

import asyncpg
import structlog

from adapters.postgres import Database

CHANNEL = "taina_settings"
log = structlog.get_logger("taina.settings")


class SettingsOverrides:
    """The stored overrides of the settings named in ``editable`` (others in the table are ignored)."""

    def __init__(self, database: Database, editable: Collection[str]) -> None:
        self._db = database
        self._editable = frozenset(editable)
        self.origin = uuid.uuid4().hex  # names this process's own announcements, which it need not hear

    async def load(self) -> dict[str, str]:
        rows = await self._db.fetch("SELECT name, value FROM settings_overrides")
        return {r["name"]: r["value"] for r in rows if r["name"] in self._editable}

    async def save(self, values: Mapping[str, str | None], user_id: str) -> None:
        """Each value kept, by ``user_id``; None removes it (the environment's value applies again)."""
        async with self._db.pool.acquire() as connection, connection.transaction():
            for name, value in values.items():
                if value is None:
                    await connection.execute("DELETE FROM settings_overrides WHERE name = $1", name)
                else:
                    await connection.execute(
                        "INSERT INTO settings_overrides (name, value, updated_by) VALUES ($1, $2, $3)"
                        " ON CONFLICT (name) DO UPDATE SET value = $2, updated_by = $3, updated_at = now()",
                        name,
                        value,
                        user_id,
                    )
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, self.origin)

    async def watch(
        self, changed: Callable[[], Awaitable[None]], check_s: float = 5.0, retry_s: float = 2.0
    ) -> None:
        """Forever (until cancelled): ``changed()`` each time another process saves settings, and after the
        listening connection was lost and is back (a change may have been missed meanwhile). Holds one of
        the pool's connections."""
        missed = False
        while True:
            try:
                async with self._db.pool.acquire() as connection:
                    heard: asyncio.Queue[str] = asyncio.Queue()
                    listener = _into(heard)
                    await connection.add_listener(CHANNEL, listener)
                    try:
                        if missed:
                            await changed()
                        missed = True  # from here on, losing the connection may lose a change
                        while not connection.is_closed():
                            try:
                                origin = await asyncio.wait_for(heard.get(), check_s)
                            except TimeoutError:
                                await connection.execute(
                                    "SELECT 1"
                                )  # notices a connection the server dropped
                                continue
                            if origin != self.origin:
                                await changed()
                    finally:
                        if not connection.is_closed():
                            await asyncio.shield(connection.remove_listener(CHANNEL, listener))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("settings.watch_lost", error=str(exc) or type(exc).__name__, retry_in_s=retry_s)
                await asyncio.sleep(retry_s)


def _into(queue: asyncio.Queue[str]) -> Callable[[object, int, str, str], None]:
    """asyncpg's listener callback: each announcement's origin, queued."""

    def heard(_connection: object, _pid: int, _channel: str, origin: str) -> None:
        queue.put_nowait(origin)

    return heard
