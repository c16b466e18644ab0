"""Settings changed from the dashboard, kept in PostgreSQL (settings_overrides) over the environment's values."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from adapters.postgres import Database


class SettingsOverrides:
    """The stored overrides of the settings named in ``editable`` (others in the table are ignored)."""

    def __init__(self, database: Database, editable: Collection[str]) -> None:
        self._db = database
        self._editable = frozenset(editable)

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
