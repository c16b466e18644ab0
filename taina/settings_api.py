"""Settings from the dashboard (admin): the voice, the assistant's words, the turn-taking knobs and the price
table, stored in PostgreSQL over the environment's values, checked by the same rules as at start-up, and
applied to new calls.
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
from adapters.settings_db import SettingsOverrides
from taina.settings import Settings

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
    "TAINA_PRICE_CURRENCY",
    "TAINA_PRICE_OPENAI_PROMPT_PER_MILLION",
    "TAINA_PRICE_OPENAI_CACHED_PER_MILLION",
    "TAINA_PRICE_OPENAI_COMPLETION_PER_MILLION",
    "TAINA_PRICE_DEEPGRAM_PER_MINUTE",
    "TAINA_PRICE_ELEVENLABS_PER_THOUSAND_CHARACTERS",
)


class StoredSettings(SettingsOverrides):
    """The dashboard's editable settings (EDITABLE) as stored in the database."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, EDITABLE)


def effective(overrides: Mapping[str, str]) -> Settings:
    """The environment's settings with the stored ones over them (SettingsError if a value is bad)."""
    return Settings.from_env({**os.environ, **overrides})
