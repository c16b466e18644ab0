"""The dashboard's settings (admin); what may be changed and how it is kept are taina/settings_api.py, how the
form shows and checks each one taina/settings_form.py.

GET /api/settings    the editable settings as form fields (label, help, group and unit in Spanish; kind:
                     toggle, select with choices, range or number with min/max/step, text, textarea, secret;
                     value and default, never a secret's) and the providers in use
PUT /api/settings    {"values": {"TAINA_ESPEAK_RATE": "180", "TAINA_TURN_MIN_INTERRUPTION_MS": null, ...}}
                     each value checked on its own, then all together; a bad one is a 400 with the reason in
                     Spanish and "field" naming it. Applied to the runtime, so new calls (and the HTTP layer,
                     which reads the runtime's settings at each request) use them; then stored
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
from taina.settings import Settings
from taina.settings_api import EDITABLE, StoredSettings, effective
from taina.settings_form import form, problem, rule_in_spanish

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
        raise ApiError(
            400, f"{unknown[0]} no se puede cambiar aquí (ver GET /api/settings)", field=unknown[0]
        )
    for name, value in body.values.items():
        if value is not None and ("\x00" in value or len(value) > 20_000):
            raise ApiError(400, "El valor es demasiado largo o tiene un carácter nulo.", field=name)
        wrong = None if value is None else problem(name, value, runtime.settings)
        if wrong:
            raise ApiError(400, wrong, field=name)
    overrides = {**await stored.load(), **body.values}
    kept = {name: value for name, value in overrides.items() if value is not None}
    try:
        settings = dataclasses.replace(effective(kept), data_dir=runtime.settings.data_dir)
    except SettingsError as exc:  # a rule over several settings (the silences' order)
        message, field = rule_in_spanish(str(exc), EDITABLE)
        raise ApiError(400, message, field=field) from None
    try:
        runtime.apply(settings)  # first: a voice espeak-ng does not have fails here, before anything is kept
    except Exception as exc:
        only = next(iter(body.values)) if len(body.values) == 1 else None
        raise ApiError(400, f"No se pueden usar estos ajustes: {exc}", field=only) from None
    await stored.save(body.values, caller.user_id)
    await accounts.audit(
        "settings_changed", caller.user_id, ", ".join(sorted(body.values)), dict(body.values)
    )
    return await listing(runtime, stored)


async def listing(runtime: App, stored: StoredSettings) -> dict[str, Any]:
    overrides = await stored.load()
    return {
        "settings": form(EDITABLE, runtime.settings, Settings.from_env({}), overrides),
        "providers": {
            "speech_to_text": runtime.speech_to_text().name,
            "language_model": runtime.assistant.language_model,
            "text_to_speech": runtime.text_to_speech().name,
        },
    }
