"""Settings from the dashboard (admin): the voice, the assistant's words and the turn-taking knobs, stored in
PostgreSQL over the environment's values, checked by the same rules as at start-up, and applied to new calls.

GET /api/settings    the editable settings (value, default, help) and the providers in use. The language
                     model is a choice here (policy, openai, auto); API keys stay in the environment.
PUT /api/settings    {"values": {"TAINA_ESPEAK_RATE": "180", "TAINA_TURN_MIN_INTERRUPTION_MS": null, ...}}
                     null puts a setting back to the environment's value; a bad value is a 400 naming it
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from adapters.postgres import Database
from adapters.settings_db import SettingsOverrides
from engine.options import SettingsError
from taina.app import App
from taina.auth import Auth, Principal
from taina.http_errors import ApiError
from taina.settings import Settings, describe

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


class SettingsChange(BaseModel):
    values: dict[str, str | None] = Field(max_length=len(EDITABLE))


class StoredSettings(SettingsOverrides):
    """The dashboard's editable settings (EDITABLE) as stored in the database."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, EDITABLE)


def effective(overrides: Mapping[str, str]) -> Settings:
    """The environment's settings with the stored ones over them (SettingsError if a value is bad)."""
    return Settings.from_env({**os.environ, **overrides})


def settings_router(auth: Auth, stored: StoredSettings, runtime: App) -> APIRouter:
    router = APIRouter(tags=["settings"])
    admin = Depends(auth.require("admin"))  # a default, not an annotation: those are strings here

    async def listing() -> dict[str, Any]:
        overrides = await stored.load()
        current = {name: (value, help) for name, value, help in describe(runtime.settings)}
        defaults = {name: value for name, value, _help in describe(Settings.from_env({}))}
        return {
            "settings": [
                {
                    "name": name,
                    "value": current[name][0],
                    "default": defaults.get(name, ""),
                    "help": current[name][1],
                    "changed_here": name in overrides,
                }
                for name in EDITABLE
            ],
            "providers": {
                "speech_to_text": runtime.speech_to_text().name,
                "language_model": runtime.assistant.language_model,
                "text_to_speech": runtime.text_to_speech().name,
            },
        }

    @router.get("/api/settings")
    async def read(_caller: Principal = admin) -> dict[str, Any]:
        return await listing()

    @router.put("/api/settings")
    async def change(body: SettingsChange, caller: Principal = admin) -> dict[str, Any]:
        unknown = sorted(set(body.values) - set(EDITABLE))
        if unknown:
            raise ApiError(400, f"{unknown[0]} cannot be changed here (see GET /api/settings)")
        for name, value in body.values.items():
            if value is not None and ("\x00" in value or len(value) > 20_000):
                raise ApiError(400, f"{name}: the value is too long or has a NUL character")
        overrides = {**await stored.load(), **body.values}
        kept = {name: value for name, value in overrides.items() if value is not None}
        try:
            settings = dataclasses.replace(effective(kept), data_dir=runtime.settings.data_dir)
        except SettingsError as exc:
            raise ApiError(400, str(exc)) from None
        try:
            runtime.apply(
                settings
            )  # first: a voice espeak-ng does not have fails here, before anything is kept
        except Exception as exc:
            raise ApiError(400, f"these settings cannot be used: {exc}") from None
        await stored.save(body.values, caller.user_id)
        await auth.accounts.audit(
            "settings_changed", caller.user_id, ", ".join(sorted(body.values)), dict(body.values)
        )
        return await listing()

    return router
