"""Settings saved through one process reach the others: NOTIFY on the real PostgreSQL, heard by ``watch``, which
also catches up after its listening connection is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.postgres import Database, DatabaseSettings
from adapters.settings_db import SettingsOverrides
from tests.support.polling import until

EDITABLE = ("TAINA_ESPEAK_RATE", "TAINA_DIALOGUE_GREETING")


async def test_a_save_reaches_the_other_watchers_and_a_lost_connection_catches_up(
    database_url: str, tmp_path: Path
) -> None:
    first = await Database.open(DatabaseSettings(url=database_url, pool_size=3), tmp_path)
    second = await Database.open(DatabaseSettings(url=database_url, pool_size=3), tmp_path)
    here, there = SettingsOverrides(first, EDITABLE), SettingsOverrides(second, EDITABLE)
    heard_here: list[dict[str, str]] = []
    heard_there: list[dict[str, str]] = []

    async def changed_here() -> None:
        heard_here.append(await here.load())

    async def changed_there() -> None:
        heard_there.append(await there.load())

    watchers = [
        asyncio.create_task(here.watch(changed_here, check_s=0.2, retry_s=0.2)),
        asyncio.create_task(there.watch(changed_there, check_s=0.2, retry_s=0.2)),
    ]
    try:
        await asyncio.sleep(0.5)  # both listening
        await here.save({"TAINA_ESPEAK_RATE": "151"}, "admin")
        await until(lambda: heard_there, 5, "the other process hearing the change")
        assert heard_there[-1] == {"TAINA_ESPEAK_RATE": "151"}
        await asyncio.sleep(0.5)
        assert heard_here == []  # its own save: applied already, not heard again

        # Every other connection is cut (a database restart, a proxy's idle timeout): each watcher comes back
        # and reloads, since a change may have been missed meanwhile.
        await first.pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await until(lambda: len(heard_there) >= 2 and len(heard_here) >= 1, 10, "both catching up")
        await here.save({"TAINA_ESPEAK_RATE": None, "TAINA_DIALOGUE_GREETING": "Hola"}, "admin")
        await until(lambda: heard_there[-1] == {"TAINA_DIALOGUE_GREETING": "Hola"}, 5, "the second change")
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await first.aclose()
        await second.aclose()
