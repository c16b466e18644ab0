"""The daily backup the server takes itself (the embedded default's): at TAINA_BACKUP_AT local time, into
TAINA_BACKUP_TO, keeping TAINA_BACKUP_KEEP; each result in the audit log and in the backup metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from taina.backup import backup_ids, backup_time, create_backup, database_url
from taina.backup_archive import backup_key, default_destination, destination
from taina.monitoring import (
    BACKUP_ENABLED,
    BACKUP_LAST_DURATION,
    BACKUP_LAST_SIZE,
    BACKUP_LAST_SUCCESS,
    BACKUPS,
)

if TYPE_CHECKING:
    from taina.app import App

log = structlog.get_logger("taina.backup")


def seconds_until(at: str, now: dt.datetime | None = None) -> float:
    """Seconds from ``now`` (local time) to the next ``at`` (HH:MM)."""
    now = now or dt.datetime.now().astimezone()
    hour, minute = (int(part) for part in at.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += dt.timedelta(days=1)
    return (target - now).total_seconds()


async def backup_now(runtime: App) -> dict[str, Any] | None:
    """One backup as the daily job takes it: the summary, or None if it failed (logged, audited, counted)."""
    assert runtime.backend is not None
    settings = runtime.settings
    parts = runtime.backend.knowledge_parts
    accounts = runtime.backend.accounts
    target = default_destination(settings)
    try:
        dest = await asyncio.to_thread(destination, target)
        key = await asyncio.to_thread(backup_key, settings, None, True)
        async with database_url(settings) as url:
            summary = await create_backup(settings, parts.objects, url, dest, key)
    except Exception as exc:
        BACKUPS.labels("failure").inc()
        log.error("backup.failed", destination=target, exc_info=True)
        await accounts.audit("backup_failed", target=target, detail={"error": str(exc) or type(exc).__name__})
        return None
    BACKUPS.labels("success").inc()
    BACKUP_LAST_SUCCESS.set(backup_time(summary["id"]))
    BACKUP_LAST_SIZE.set(summary["added_bytes"])
    BACKUP_LAST_DURATION.set(summary["seconds"])
    detail = {k: v for k, v in summary.items() if k not in ("rows", "destination")}
    await accounts.audit("backup_created", target=target, detail=detail)
    return summary


def daily_backups(runtime: App) -> Coroutine[Any, Any, None] | None:
    """The job, or None when this engine takes no backups (TAINA_BACKUP_DAILY=false, or no database)."""
    if not runtime.settings.backup.daily or runtime.backend is None:
        BACKUP_ENABLED.set(0)
        return None
    return _daily(runtime)


async def _daily(runtime: App) -> None:
    BACKUP_ENABLED.set(1)
    try:  # the newest backup already there, so the age alert knows it after a restart
        ids = await asyncio.to_thread(backup_ids, destination(default_destination(runtime.settings)))
        if ids:
            BACKUP_LAST_SUCCESS.set(backup_time(ids[-1]))
    except Exception:
        log.warning("backup.destination_unreadable", exc_info=True)
    while True:
        await asyncio.sleep(seconds_until(runtime.settings.backup.at))
        await backup_now(runtime)
