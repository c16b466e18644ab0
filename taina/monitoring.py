"""What the operator is woken up for, as Prometheus metrics: is the database and the object store reachable,
are recordings waiting to be uploaded, were calls refused, is the data folder's disk filling, how old is the
last good backup. infra/prometheus/alerts.yml turns them into alerts.

``watch_dependencies`` runs in the server's lifespan and refreshes the gauges every ``every_s`` seconds; the
counters are incremented where things happen (signalling refuses a call, the backup job finishes).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sized
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter, Gauge

from engine import metrics as engine_metrics

if TYPE_CHECKING:
    from taina.app import App

log = structlog.get_logger("taina.monitoring")

DEPENDENCY_UP = Gauge(
    "taina_dependency_up",
    "1 if the dependency answered its last check (every 15 s), 0 if not.",
    ["dependency"],
    multiprocess_mode="livemin",  # with several workers: down if any worker found it down
)
DEPENDENCY_CHECK = Gauge(
    "taina_dependency_check_seconds",
    "How long the last check of the dependency took.",
    ["dependency"],
    multiprocess_mode="livemax",
)
RECORDING_UPLOADS_PENDING = Gauge(
    "taina_recording_uploads_pending",
    "Call recordings spooled on the data folder and not yet in the object store, for calls no longer running.",
    multiprocess_mode="livemax",  # every worker counts the same folder
)
CALLS_REFUSED = Counter(
    "taina_calls_refused",
    "Calls refused before they started: capacity (the server is full), per_address, rate (offers per minute).",
    ["reason"],
)
# The engine may keep this gauge itself (signalling counting calls in and out); then it is not set here too.
_ENGINE_GAUGE: Gauge | None = vars(engine_metrics).get("SESSIONS_ACTIVE")
_ENGINE_COUNTS_SESSIONS = _ENGINE_GAUGE is not None
SESSIONS_ACTIVE = _ENGINE_GAUGE or Gauge(
    "taina_sessions_active", "Calls in progress.", multiprocess_mode="livesum"
)
SESSIONS_CAPACITY = Gauge(
    "taina_sessions_capacity",
    "Most calls the server takes at once (TAINA_WEBRTC_MAX_SESSIONS).",
    multiprocess_mode="livemax",
)
DATA_DISK_FREE = Gauge(
    "taina_data_disk_free_bytes",
    "Free space on the disk holding the data folder.",
    multiprocess_mode="livemin",
)
DATA_DISK_SIZE = Gauge(
    "taina_data_disk_size_bytes", "Size of the disk holding the data folder.", multiprocess_mode="livemax"
)
# The backup job runs in the first worker only; the others leave these at 0, so the largest is its value.
BACKUP_ENABLED = Gauge(
    "taina_backup_enabled", "1 if this engine takes the daily backup itself.", multiprocess_mode="livemax"
)
BACKUP_LAST_SUCCESS = Gauge(
    "taina_last_backup_success_timestamp_seconds",
    "When the newest good backup was taken (Unix time); 0 if none is known.",
    multiprocess_mode="max",
)
BACKUP_LAST_SIZE = Gauge(
    "taina_last_backup_size_bytes",
    "Bytes the last good backup added to its destination.",
    multiprocess_mode="livemax",
)
BACKUP_LAST_DURATION = Gauge(
    "taina_last_backup_duration_seconds", "How long the last good backup took.", multiprocess_mode="livemax"
)
BACKUPS = Counter("taina_backups", "Backups attempted, by outcome (success, failure).", ["outcome"])

for _reason in ("capacity", "per_address", "rate"):
    CALLS_REFUSED.labels(_reason)
for _outcome in ("success", "failure"):
    BACKUPS.labels(_outcome)

STALE_SPOOL_S = (
    120.0  # a live call's spool is written to every 20 ms; one untouched this long is a pending upload
)


def pending_uploads(folder: Path, now: float | None = None) -> int:
    """Spools (``<id>.pcm``) not written to for STALE_SPOOL_S: their call is over and the upload has not
    happened (the store was unreachable, or the engine was killed and has not restarted)."""
    now = time.time() if now is None else now
    count = 0
    for spool in folder.glob("*.pcm"):
        try:
            if now - spool.stat().st_mtime > STALE_SPOOL_S:
                count += 1
        except FileNotFoundError:
            continue
    return count


def observe_disk(folder: Path) -> None:
    usage = shutil.disk_usage(folder)
    DATA_DISK_FREE.set(usage.free)
    DATA_DISK_SIZE.set(usage.total)


async def check_dependencies(runtime: App, timeout_s: float = 5.0) -> dict[str, bool]:
    """One round of checks: the database answers ``SELECT 1`` and the object store its own check, each within
    ``timeout_s``. Sets the gauges; returns what it found."""
    found: dict[str, bool] = {}
    backend = runtime.backend
    if backend is not None:
        parts = backend.knowledge_parts
        database = parts.database
        for name, probe in (
            ("database", lambda: database.pool.fetchval("SELECT 1")),
            ("object_store", parts.objects.check),
        ):
            started = time.monotonic()
            try:
                async with asyncio.timeout(timeout_s):
                    await probe()
                found[name] = True
            except Exception as exc:
                found[name] = False
                log.warning("dependency.down", dependency=name, error=str(exc) or type(exc).__name__)
            DEPENDENCY_UP.labels(name).set(1 if found[name] else 0)
            DEPENDENCY_CHECK.labels(name).set(time.monotonic() - started)
    data_dir = runtime.settings.data_dir
    try:
        observe_disk(data_dir)
        RECORDING_UPLOADS_PENDING.set(pending_uploads(data_dir / "recordings"))
    except OSError:
        log.warning("monitoring.data_dir_unreadable", exc_info=True)
    return found


async def watch_dependencies(runtime: App, sessions: Sized, every_s: float = 15.0) -> None:
    """Forever: check the dependencies and refresh the gauges (calls in progress and capacity too)."""
    while True:
        try:
            if not _ENGINE_COUNTS_SESSIONS:
                SESSIONS_ACTIVE.set(len(sessions))
            SESSIONS_CAPACITY.set(runtime.settings.webrtc.max_sessions)
            await check_dependencies(runtime)
        except Exception:
            log.error("monitoring.check_failed", exc_info=True)
        await asyncio.sleep(every_s)
