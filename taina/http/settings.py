"""The dashboard's settings (admin); what may be changed and how it is kept are taina/settings_api.py.

GET /api/settings    the editable settings (value, default, help) and the providers in use
PUT /api/settings    {"values": {"TAINA_ESPEAK_RATE": "180", "TAINA_TURN_MIN_INTERRUPTION_MS": null, ...}}
                     applied to the runtime, so new calls (and the HTTP layer, which reads the runtime's
                     settings at each request) use them; then stored
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from engine.options import SettingsError
from taina.app import App
from taina.http.deps import AccountsDep, Admin, AppDep, StoredSettingsDep
from taina.http.errors import ApiError
from taina.settings import Settings, describe
from taina.settings_api import EDITABLE, StoredSettings, effective

router = APIRouter(tags=["settings"])


class SettingsChange(BaseModel):
    values: dict[str, str | None] = Field(max_length=len(EDITABLE))


@router.get("/api/settings")
async def read(_caller: Admin, runtime: AppDep, stored: StoredSettingsDep) -> dict[str, Any]:
    return await listing(runtime, stored)


@router.put("/api/settings")
async def change(
    body: SettingsChange,
    caller: Admin,
    runtime: AppDep,
    stored: StoredSettingsDep,
    accounts: AccountsDep,
) -> dict[str, Any]:
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
        runtime.apply(settings)  # first: a voice espeak-ng does not have fails here, before anything is kept
    except Exception as exc:
        raise ApiError(400, f"these settings cannot be used: {exc}") from None
    await stored.save(body.values, caller.user_id)
    await accounts.audit(
        "settings_changed", caller.user_id, ", ".join(sorted(body.values)), dict(body.values)
    )
    return await listing(runtime, stored)


async def listing(runtime: App, stored: StoredSettings) -> dict[str, Any]:
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
