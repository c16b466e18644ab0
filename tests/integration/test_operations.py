"""What the operator's alerts read: the dependency checks, pending recording uploads, refused calls, and the
daily backup's audit entries and metrics."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from taina.app import App
from taina.backup_schedule import backup_now, seconds_until
from taina.http.errors import ApiError
from taina.http.signalling import SessionRegistry
from taina.monitoring import check_dependencies, pending_uploads
from taina.settings import Settings
from tests.support.clock import TEST_NOW


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def settings_for(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    return Settings.from_env(
        {"TAINA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url, "TAINA_NOW": TEST_NOW,
         "TAINA_INGEST_SAMPLE_KB": "false", "TAINA_BACKUP_TO": str(tmp_path / "backups"), **extra}
    )  # fmt: skip


async def test_dependency_checks_see_a_database_or_store_down(
    tmp_path: Path, database_url: str, e5: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with App.open(settings_for(tmp_path, database_url), embedder=e5) as app:  # type: ignore[arg-type]
        assert await check_dependencies(app) == {"database": True, "object_store": True}
        assert sample("taina_dependency_up", dependency="database") == 1
        assert sample("taina_data_disk_free_bytes") > 0 and sample("taina_data_disk_size_bytes") > 0
        assert app.backend is not None
        parts = app.backend.knowledge_parts

        async def refused(*_args: Any) -> None:
            raise ConnectionRefusedError("connection refused")

        class DownPool:
            fetchval = staticmethod(refused)

        monkeypatch.setattr(parts.database, "pool", DownPool())
        assert await check_dependencies(app) == {"database": False, "object_store": True}
        assert sample("taina_dependency_up", dependency="database") == 0
        monkeypatch.undo()
        monkeypatch.setattr(parts.objects, "check", refused)
        assert await check_dependencies(app) == {"database": True, "object_store": False}
        monkeypatch.undo()
        assert await check_dependencies(app) == {"database": True, "object_store": True}


def test_pending_uploads_are_spools_no_call_writes_to(tmp_path: Path) -> None:
    live, left = tmp_path / "live.pcm", tmp_path / "left.pcm"
    live.write_bytes(b"\0" * 4)
    left.write_bytes(b"\0" * 4)
    old = time.time() - 600
    os.utime(left, (old, old))
    (tmp_path / "left.json").write_text("{}")
    assert pending_uploads(tmp_path) == 1


def test_calls_refused_are_counted_by_reason() -> None:
    registry = SessionRegistry(capacity=1, per_address=1)
    before = sample("taina_calls_refused_total", reason="capacity")
    registry.reserve("10.0.0.1")
    with pytest.raises(ApiError):
        registry.reserve("10.0.0.2")
    assert sample("taina_calls_refused_total", reason="capacity") == before + 1


def test_the_daily_backup_waits_for_its_time() -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
    assert seconds_until("03:30", now) == 1800
    assert seconds_until("02:00", now) == 23 * 3600


async def test_the_daily_backup_is_audited_and_measured(
    tmp_path: Path, database_url: str, e5: object
) -> None:
    async with App.open(settings_for(tmp_path, database_url), embedder=e5) as app:  # type: ignore[arg-type]
        assert app.backend is not None
        successes = sample("taina_backups_total", outcome="success")
        summary = await backup_now(app)
        assert summary is not None and summary["objects"] == 0
        assert sample("taina_backups_total", outcome="success") == successes + 1
        assert abs(sample("taina_last_backup_success_timestamp_seconds") - time.time()) < 120
        assert (tmp_path / "data" / "backup_key").exists()  # made once, for the operator to copy away
        entries = await app.backend.accounts.audit_entries()
        assert entries[0]["action"] == "backup_created" and entries[0]["detail"]["id"] == summary["id"]

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings = settings_for(tmp_path, database_url, TAINA_BACKUP_TO=str(blocked / "backups"))
    async with App.open(settings, embedder=e5) as app:  # type: ignore[arg-type]
        assert app.backend is not None
        failures = sample("taina_backups_total", outcome="failure")
        assert await backup_now(app) is None
        assert sample("taina_backups_total", outcome="failure") == failures + 1
        entries = await app.backend.accounts.audit_entries()
        assert entries[0]["action"] == "backup_failed" and "Not a directory" in entries[0]["detail"]["error"]
