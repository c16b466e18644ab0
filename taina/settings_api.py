"""Settings from the dashboard (admin): the voice, the assistant's words and the turn-taking knobs, stored in
PostgreSQL over the environment's values, checked by the same rules as at start-up, and applied to new calls.
The routes are in taina/http/settings.py:

GET /api/settings    the editable settings (value, default, help) and the providers in use. The language
                     model is a choice here (policy, openai, auto); API keys stay in the environment.
PUT /api/settings    {"values": {"TAINA_ESPEAK_RATE": "180", "TAINA_TURN_MIN_INTERRUPTION_MS": null, ...}}
                     null puts a setting back to the environment's value; a bad value is a 400 naming it
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from adapters.postgres import Database
from engine.settings import Settings

EDITABLE = (
    "TAINA_DIALOGUE_LANGUAGE_MODEL",
    "TAINA_ESPEAK_VOICE",
    "TAINA_ESPEAK_RATE",
    "TAINA_ESPEAK_PITCH",
    "TAINA_DIALOGUE_ASSISTANT_NAME",
    "TAINA_DIALOGUE_ORGANISATION",
    "TAINA_DIALOGUE_GREETING",
    "TAINA_DIALOGUE_SYSTEM_PROMPT",
    "TAINA_ENDPOINT_SILENCE_MS",
    "TAINA_ENDPOINT_SILENCE_COMPLETE_MS",
    "TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS",
    "TAINA_ENDPOINT_PAUSE_MS",
    "TAINA_ENDPOINT_MIN_UTTERANCE_MS",
    "TAINA_TURN_MIN_INTERRUPTION_MS",
    "TAINA_TURN_INTERRUPTIBLE",
    "TAINA_TURN_PREEMPTIVE_GENERATION",
)


class StoredSettings:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def load(self) -> dict[str, str]:
        rows = await self._db.fetch("SELECT name, value FROM settings_overrides")
        return {r["name"]: r["value"] for r in rows if r["name"] in EDITABLE}

    async def save(self, values: Mapping[str, str | None], user_id: str) -> None:
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


def effective(overrides: Mapping[str, str]) -> Settings:
    """The environment's settings with the stored ones over them (SettingsError if a value is bad)."""
    return Settings.from_env({**os.environ, **overrides})
