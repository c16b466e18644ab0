"""Backup and restore times and sizes: the sample clinic, and a synthetic clinic of 10,000 documents and 1,000
hours of calls (12,000 five-minute calls with 10 turns each) on the embedded default.

Disk is bounded: the synthetic clinic's database is full size (10,000 documents with 50,000 passages and their
embeddings, 12,000 conversations, 120,000 turns) and so are its 10,000 document originals, but only
``RECORDING_SHARE`` of its recordings are written (1.2 MB each, random bytes, which do not compress: Opus at
32 kbit/s). The recordings' backup and restore are linear in their bytes (each object is read, sealed and written
once), so the full figure is the measured throughput times 14.4 GB; the result says which figures are measured
and which scaled. After the first backup, a backup copies only what changed: the second and third runs measure
that (nothing changed; ten new documents and one new call).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.postgres import Database
from taina.backup import create_backup, database_url, restore_backup, verify_backup
from taina.backup_archive import FolderDestination
from taina.knowledge.open import object_store
from taina.settings import Settings

KEY = bytes(range(32))
DOCUMENTS = 10_000
CALLS = 12_000  # 1,000 hours of five-minute calls
TURNS_PER_CALL = 10
RECORDING_BYTES = 300 * 4_000  # five minutes of Opus at 32 kbit/s
RECORDING_SHARE = 0.01  # the share of the recordings written to disk (120 calls, 144 MB)


def _settings(data_dir: Path) -> Settings:
    return Settings.from_env({"TAINA_DATA_DIR": str(data_dir), "TAINA_INGEST_SAMPLE_KB": "true"})


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def _synthetic(settings: Settings, recordings: int) -> None:
    database = await Database.open(settings.database, settings.data_dir)
    store = object_store(settings)
    try:
        pool = database.pool
        await pool.execute(
            """INSERT INTO documents (id, name, title, media_type, status, content_sha256, size_bytes, object_key,
                                      chunk_count)
               SELECT 'd' || i, 'doc-' || i || '.md', 'Documento ' || i, 'text/markdown', 'ready',
                      md5(i::text) || md5((i + 1)::text), 6000, 'documents/d' || i || '.md', 5
               FROM generate_series(1, $1) i""",
            DOCUMENTS,
        )
        await pool.execute(
            "DROP INDEX chunks_embedding"
        )  # built once after the rows: much faster than row by row
        await pool.execute(
            """INSERT INTO chunks (document_id, ordinal, heading, text, embedder, embedding)
               SELECT 'd' || i, j, 'Sección ' || j, repeat('Texto de ejemplo sobre la clínica y sus citas. ', 20),
                      'e5', (SELECT array_agg(random()) FROM generate_series(1, 384) WHERE i > 0 AND j > 0)::vector(384)
               FROM generate_series(1, $1) i, generate_series(1, 5) j""",
            DOCUMENTS,
        )
        await pool.execute("CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)")
        await pool.execute(
            """INSERT INTO conversations (id, started_at, ended_at, stt, lm, tts, turns, recording_key,
                                          recording_seconds)
               SELECT 'c' || i, now() - make_interval(mins => i), now() - make_interval(mins => i) + interval '5 min',
                      'whisper', 'policy', 'espeak', $2, 'recordings/c' || i || '.ogg', 300
               FROM generate_series(1, $1) i""",
            CALLS,
            TURNS_PER_CALL,
        )
        await pool.execute(
            """INSERT INTO turns (conversation_id, turn_id, transcript, reply, timings_ms)
               SELECT 'c' || i, t, 'Quiero una cita con la doctora el lunes a las nueve',
                      'Tengo el lunes a las nueve con la doctora Rosario. ¿Le sirve?',
                      '{"end_of_speech": 300, "transcript": 420, "first_token": 700, "first_audio": 900}'
               FROM generate_series(1, $1) i, generate_series(1, $2) t""",
            CALLS,
            TURNS_PER_CALL,
        )
        text = ("Horarios, precios y preparación para estudios del centro médico. " * 100).encode()[:6000]
        for start in range(1, DOCUMENTS + 1, 200):
            await asyncio.gather(
                *(
                    store.put(f"documents/d{i}.md", text[:-8] + f"{i:08d}".encode(), "text/markdown")
                    for i in range(start, min(start + 200, DOCUMENTS + 1))
                )
            )
        for i in range(1, recordings + 1):
            await store.put(f"recordings/c{i}.ogg", os.urandom(RECORDING_BYTES), "audio/ogg")
    finally:
        await store.aclose()
        await database.aclose()


async def _sample(settings: Settings) -> None:
    from taina.app import App

    async with App.open(settings, samples=True):
        pass


async def _backup(settings: Settings, dest: FolderDestination) -> dict[str, Any]:
    store = object_store(settings)
    try:
        async with database_url(settings) as url:
            return await create_backup(settings, store, url, dest, KEY, keep=3)
    finally:
        await store.aclose()


async def _round_trip(root: Path, build: Any) -> dict[str, Any]:
    """Build a clinic, back it up three times (full; unchanged; a little changed), verify, and restore it into a
    new data folder. Times in seconds, sizes in bytes."""
    source, target = _settings(root / "source"), _settings(root / "target")
    started = time.perf_counter()
    await build(source)
    built_s = time.perf_counter() - started
    dest = FolderDestination(root / "backups")
    data_bytes = _size(root / "source")
    first = await _backup(source, dest)
    unchanged = await _backup(source, dest)
    store = object_store(source)
    try:
        for i in range(10):
            await store.put(f"documents/new{i}.md", f"nuevo {i}".encode() * 500, "text/markdown")
        await store.put("recordings/new.ogg", os.urandom(RECORDING_BYTES), "audio/ogg")
    finally:
        await store.aclose()
    changed = await _backup(source, dest)
    verified = await verify_backup(str(root / "backups"), KEY)
    restored = await restore_backup(target, str(root / "backups"), KEY)
    return {
        "build_s": round(built_s, 1),
        "data_folder_bytes": data_bytes,
        "rows": sum(first["rows"].values()),
        "objects": changed["objects"],
        "objects_bytes": changed["objects_bytes"],
        "database_dump_bytes": changed["database_bytes"],
        "backup_full_s": first["seconds"],
        "backup_full_database_s": first["database_seconds"],
        "backup_full_added_bytes": first["added_bytes"],
        "backup_unchanged_s": unchanged["seconds"],
        "backup_unchanged_added_bytes": unchanged["added_bytes"],
        "backup_changed_s": changed["seconds"],
        "backup_changed_added_bytes": changed["added_bytes"],
        "backups_folder_bytes": _size(root / "backups"),
        "verify_s": verified["seconds"],
        "restore_s": restored["seconds"],
        "restore_verify_s": restored["verify_seconds"],
        "restore_database_s": restored["database_seconds"],
        "restore_objects_s": restored["objects_seconds"],
    }


async def _measure() -> dict[str, Any]:
    recordings = int(CALLS * RECORDING_SHARE)
    with tempfile.TemporaryDirectory(prefix="taina-bench-backup-") as tmp:
        sample = await _round_trip(Path(tmp) / "sample", _sample)
        shutil.rmtree(Path(tmp) / "sample")
        synthetic = await _round_trip(Path(tmp) / "synthetic", lambda s: _synthetic(s, recordings))
    written = recordings * RECORDING_BYTES
    full_recordings = CALLS * RECORDING_BYTES
    # The objects' share of each time grows with their bytes; the database's is measured at full size.
    scale = (synthetic["objects_bytes"] - written + full_recordings) / synthetic["objects_bytes"]
    backup_objects_s = synthetic["backup_full_s"] - synthetic["backup_full_database_s"]
    restore_objects_s = synthetic["restore_verify_s"] + synthetic["restore_objects_s"]
    return {
        "sample_clinic": sample,
        "synthetic_clinic": {
            **synthetic,
            "documents": DOCUMENTS,
            "calls": CALLS,
            "turns": CALLS * TURNS_PER_CALL,
            "recordings_written": recordings,
            "recording_bytes_written": written,
        },
        "scaled_to_1000_hours": {
            "recording_bytes": full_recordings,
            "backup_full_s": round(synthetic["backup_full_database_s"] + backup_objects_s * scale),
            "restore_s": round(synthetic["restore_database_s"] + restore_objects_s * scale),
            "how": "the database's part as measured (full size); the objects' part (reading, sealing, writing; "
            "for a restore also the check before it) times the ratio of the full objects' bytes to those "
            "written: each object is handled once, so that part is linear in bytes",
        },
    }


def run(runs: int | None = None) -> dict[str, Any]:
    return asyncio.run(_measure())
