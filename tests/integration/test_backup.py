"""Backups restored: a clinic with documents, appointments, accounts, conversations with turns and a recording is
backed up with `taina backup create`, destroyed, and restored into a new data folder with `taina backup restore`;
everything is there and identical, and the assistant answers the same question the same way. Then the same through
the S3 server (SeaweedFS), and the refusals: a wrong key, a corrupt or truncated backup, a non-empty target."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest

from adapters.postgres import running_postmaster
from engine.ports.records import TurnEntry
from taina.app import App
from taina.backup import backup_ids, list_objects
from taina.backup_archive import FolderDestination
from taina.settings import Settings
from tests.integration.test_recording import decoded
from tests.support.clock import TEST_NOW
from tests.support.servers import REPO, S3Server

KEY = base64.b64encode(bytes(range(32))).decode()
QUESTION = "¿Qué horario tiene el centro de llamadas?\n"


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "TAINA_DATA_DIR": str(data_dir),
        "TAINA_NOW": TEST_NOW,
        "TAINA_BACKUP_KEY": KEY,
        **extra,
    }
    env.pop("OPENAI_API_KEY", None)
    return env


def taina(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taina.cli", *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def tone_pcm(seconds: float) -> bytes:
    """16 kHz interleaved stereo: 440 Hz on the caller's side, 660 Hz on the assistant's."""
    t = np.arange(int(16_000 * seconds)) / 16_000
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    right = (8000 * np.sin(2 * np.pi * 660 * t)).astype(np.int16)
    return np.stack([left, right], axis=1).tobytes()


async def populate(settings: Settings, e5: object) -> None:
    """The sample documents, an account, an appointment, a conversation with two turns and its recording."""
    from taina.auth import hash_password

    async with App.open(settings, samples=True, embedder=e5) as app:  # type: ignore[arg-type]
        assert app.backend is not None and app.journal is not None and app.recordings is not None
        await app.backend.accounts.create_user(
            "ana@example.com", hash_password("una contraseña larga"), "admin"
        )
        appointments = app.backend.appointments
        service = app.backend.catalogue.services[0].id
        day = date.fromisoformat(TEST_NOW[:10])
        slots: list[Any] = []
        while not slots:
            day += timedelta(days=1)
            slots = await appointments.list_available_slots(service, day)
        await appointments.book(slots[0], "Carlos Féliz", "829 555 3030")
        app.journal.started("call1", "whisper", "echo", "espeak")
        for turn in (1, 2):
            app.journal.turn(
                "call1",
                TurnEntry(
                    turn, f"pregunta {turn}", f"respuesta {turn}", False, {"first_audio": 812.5 + turn}
                ),
            )
        app.journal.ended("call1", 2, False)
        await app.journal.flush()
        spool = app.recordings.open("call1")
        spool.write(tone_pcm(3.0))
        spool.close()
        assert await app.recordings.finish("call1") == "recordings/call1.ogg"


async def snapshot(settings: Settings, e5: object) -> dict[str, Any]:
    """Every table's rows and every object's sha256, as the app sees them."""
    async with App.open(settings, embedder=e5) as app:  # type: ignore[arg-type]
        assert app.backend is not None
        parts = app.backend.knowledge_parts
        tables = [
            r["tablename"]
            for r in await parts.database.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        rows = {}
        for table in sorted(tables):
            found = await parts.database.fetch(f'SELECT * FROM "{table}"')
            rows[table] = sorted(json.dumps(dict(r), default=str, sort_keys=True) for r in found)
        objects = {}
        for item in await asyncio.to_thread(list_objects, parts.objects):
            objects[item.key] = hashlib.sha256(await parts.objects.get(item.key)).hexdigest()
        recording = await parts.objects.get("recordings/call1.ogg")
    return {"rows": rows, "objects": objects, "recording": recording}


def ask(env: dict[str, str]) -> dict[str, Any]:
    result = taina(env, "chat", "--json", stdin=QUESTION)
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[0])
    return answer


def check_restored(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["objects"] == before["objects"]  # every object, byte for byte (sha256)
    assert set(after["rows"]) == set(before["rows"])
    for table, rows in before["rows"].items():
        assert after["rows"][table] == rows, table  # every row of every table, identical
    assert len(before["rows"]["documents"]) == 9 and len(before["rows"]["appointments"]) == 1
    assert len(before["rows"]["users"]) == 1 and len(before["rows"]["turns"]) == 2
    audio, rate = decoded(after["recording"])  # the recording decodes: 3 s of stereo
    assert rate == 48_000 and abs(len(audio) / rate - 3.0) < 0.1 and audio.shape[1] == 2


async def test_backup_destroy_restore_on_the_embedded_default(
    tmp_path: Path, shared_models: Path, e5: object
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "models").symlink_to(shared_models)
    old_env, new_env = env_for(old), env_for(new)
    settings = Settings.from_env(old_env)
    await populate(settings, e5)
    before = await snapshot(settings, e5)
    answer_before = ask(old_env)

    made = taina(old_env, "backup", "create", "--to", str(tmp_path / "backups"), "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["objects"] == 10 and summary["objects_new"] == 10 and summary["rows"]["turns"] == 2
    again = json.loads(taina(old_env, "backup", "create", "--to", str(tmp_path / "backups"), "--json").stdout)
    assert (
        again["objects_new"] == 0 and again["objects"] == 10
    )  # incremental: nothing changed, nothing copied
    assert (
        again["added_bytes"]
        == (tmp_path / "backups" / "backups" / again["id"] / "database.dump").stat().st_size
    )
    verified = taina(old_env, "backup", "verify", str(tmp_path / "backups"), "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True

    assert running_postmaster(old / "postgres") is None
    shutil.rmtree(old)  # the machine is gone
    restored = taina(new_env, "backup", "restore", str(tmp_path / "backups"), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["rows"] == again["rows"]

    after = await snapshot(Settings.from_env(new_env), e5)
    check_restored(before, after)
    assert ask(new_env) == answer_before  # the same question, the same answer

    # Restoring again over what is now there is refused, and changes nothing.
    refused = taina(new_env, "backup", "restore", str(tmp_path / "backups"))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "taina: error: the object store already holds objects: restore into an empty one, or give --force"
    )


def test_bad_backups_and_targets_are_refused_changing_nothing(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    env = env_for(data, DATABASE_URL=database_url, TAINA_INGEST_SAMPLE_KB="false")
    backups = tmp_path / "backups"
    assert taina(env, "documents", "list").returncode == 0  # the schema made, no documents
    made = taina(env, "backup", "create", "--to", str(backups), "--json")
    assert made.returncode == 0, made.stderr  # an empty database and store back up too
    (backup_id,) = backup_ids(FolderDestination(backups))
    target = tmp_path / "target"

    def restore(**extra: str) -> subprocess.CompletedProcess[str]:
        return taina(env_for(target, **extra), "backup", "restore", str(backups))

    wrong = restore(TAINA_BACKUP_KEY=base64.b64encode(b"k" * 32).decode())
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert "does not open with this key" in wrong.stderr
    assert not target.exists()  # nothing made

    dump = backups / "backups" / backup_id / "database.dump"
    whole = dump.read_bytes()
    dump.write_bytes(whole[: len(whole) // 2])  # truncated
    cut = restore()
    assert cut.returncode == 1 and "truncated" in cut.stderr and cut.stderr.count("\n") == 1
    assert not (target / "postgres").exists()
    corrupt = bytearray(whole)
    corrupt[len(whole) // 2] ^= 0x01
    dump.write_bytes(bytes(corrupt))
    flipped = taina(env, "backup", "verify", str(backups))
    assert flipped.returncode == 1 and "does not open with this key" in flipped.stderr
    dump.write_bytes(whole)
    assert taina(env, "backup", "verify", str(backups)).returncode == 0

    busy = taina(env, "backup", "restore", str(backups))  # into the database it came from: not empty
    assert busy.returncode == 1
    assert (
        busy.stderr.strip()
        == "taina: error: the database already holds tables: restore into an empty one, or give --force"
    )


async def test_backup_to_s3_and_restore_into_s3(
    tmp_path: Path,
    database_url: str,
    postgres_url: str,
    s3_server: S3Server,
    e5: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An external database (DATABASE_URL), backed up to S3, restored into a new database and an S3 store."""
    import asyncpg

    for variable, value in s3_server.env().items():
        monkeypatch.setenv(variable, value)
    old_env = env_for(tmp_path / "old", DATABASE_URL=database_url)
    settings = Settings.from_env(old_env)
    await populate(settings, e5)
    before = await snapshot(settings, e5)
    dest = f"s3://{s3_server.bucket}/backups-{os.urandom(3).hex()}"
    made = taina(old_env, "backup", "create", "--to", dest, "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["objects"] == 10
    verified = taina(old_env, "backup", "verify", dest, "--json")
    assert verified.returncode == 0, verified.stderr

    name = f"r_{os.urandom(4).hex()}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    new_url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    store = f"s3://{s3_server.bucket}/restored-{os.urandom(3).hex()}"
    new_env = env_for(tmp_path / "new", DATABASE_URL=new_url, TAINA_STORAGE=store)
    restored = taina(new_env, "backup", "restore", dest, "--json")
    assert restored.returncode == 0, restored.stderr
    after = await snapshot(Settings.from_env(new_env), e5)
    check_restored(before, after)


async def test_retention_keeps_the_newest_and_the_objects_they_hold(
    tmp_path: Path, database_url: str
) -> None:
    from adapters.file_store import FileStore
    from taina.backup import create_backup

    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url})
    store = FileStore(tmp_path / "objects", bytes(32))
    dest = FolderDestination(tmp_path / "backups")
    key = base64.b64decode(KEY)
    await store.put("documents/a.md", b"primero", "text/markdown")
    first = await create_backup(settings, store, database_url, dest, key, keep=2)
    await store.delete("documents/a.md")
    await store.put("documents/b.md", b"segundo", "text/markdown")
    second = await create_backup(settings, store, database_url, dest, key, keep=2)
    third = await create_backup(settings, store, database_url, dest, key, keep=2)
    assert third["removed_backups"] == [first["id"]] and third["objects_new"] == 0
    assert backup_ids(dest) == [second["id"], third["id"]]
    blobs = dest.names("blobs/")
    assert blobs == [
        f"blobs/{hashlib.sha256(b'segundo').hexdigest()}"
    ]  # "primero" went with the first backup


def test_a_backup_taken_while_the_engine_serves(tmp_path: Path, data_dir: Path) -> None:
    """`taina backup create` uses the running engine's embedded database, and the engine goes on serving."""
    import httpx

    from tests.support.servers import start_server, stop_server

    server = start_server(data_dir)
    try:
        made = taina(env_for(data_dir), "backup", "create", "--to", str(tmp_path / "backups"), "--json")
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["rows"]["schema_migrations"] >= 9
        assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
        assert running_postmaster(data_dir / "postgres") is not None  # the engine's database was not stopped
    finally:
        stop_server(server)
    assert taina(env_for(data_dir), "backup", "verify", str(tmp_path / "backups")).returncode == 0
