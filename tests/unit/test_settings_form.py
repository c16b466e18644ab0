"""The dashboard's settings form: every setting it shows has its Spanish words (a new knob without them fails
here), its control follows the knob (toggle, select, range/number with bounds, secret), and values are checked
with Spanish reasons."""

from __future__ import annotations

from typing import Any

import pytest

from taina.settings import Settings
from taina.settings_api import EDITABLE
from taina.settings_es import SPANISH, Words
from taina.settings_form import choices, form, knobs, problem, rule_in_spanish

DEFAULTS = Settings.from_env({})


def fields() -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in form(EDITABLE, DEFAULTS, DEFAULTS, {})}


def test_every_setting_the_form_shows_has_spanish_words() -> None:
    missing = [v for v in EDITABLE if v not in SPANISH]
    assert not missing, f"add a Spanish label and help to taina/settings_es.py for: {missing}"
    assert not set(SPANISH) - set(EDITABLE), "entries for settings the form does not show"
    found = knobs(DEFAULTS)
    for variable in EDITABLE:
        words = SPANISH[variable]
        assert words.label.strip() and words.help.strip() and words.group, variable
        assert words.help != found[variable][2].description, f"{variable}: the help is the English one"
        for choice in choices(found[variable][2]):
            assert choice in words.choices, f"{variable}: no Spanish name for the choice {choice!r}"


def test_each_knob_gets_the_control_its_type_asks_for() -> None:
    shown = fields()
    assert shown["TAINA_TURN_INTERRUPTIBLE"]["kind"] == "toggle"
    assert shown["TAINA_TURN_INTERRUPTIBLE"]["value"] == "true"
    model = shown["TAINA_DIALOGUE_LANGUAGE_MODEL"]
    assert model["kind"] == "select" and [c["value"] for c in model["choices"]] == [
        "auto",
        "policy",
        "openai",
    ]
    assert model["choices"][1]["label"] == "Política local (sin coste)"
    rate = shown["TAINA_ESPEAK_RATE"]
    assert (rate["kind"], rate["min"], rate["max"], rate["step"], rate["unit"]) == (
        "range",
        80,
        450,
        1,
        "palabras/min",
    )
    silence = shown["TAINA_ENDPOINT_SILENCE_MS"]
    assert (silence["kind"], silence["min"], silence["max"], silence["unit"]) == ("range", 100, 5000, "ms")
    pause = shown["TAINA_ENDPOINT_PAUSE_MS"]  # gt=0, no upper bound
    assert (pause["kind"], pause["min"], pause["max"]) == ("number", 1, None)
    price = shown["TAINA_PRICE_DEEPGRAM_PER_MINUTE"]
    assert (price["kind"], price["min"], price["integer"]) == ("number", 0, False)
    assert shown["TAINA_DIALOGUE_SYSTEM_PROMPT"]["kind"] == "textarea"
    assert shown["TAINA_PRICE_CURRENCY"]["kind"] == "text" and shown["TAINA_PRICE_CURRENCY"]["pattern"]


def test_a_secret_is_a_password_field_and_its_value_never_leaves() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-not-to-be-shown"})
    words = {"OPENAI_API_KEY": Words("Clave de OpenAI", "La clave de la API.", "Proveedores")}
    [key] = form(["OPENAI_API_KEY"], settings, DEFAULTS, {}, words)
    assert key["kind"] == "secret" and key["is_set"] is True
    assert "sk-not-to-be-shown" not in repr(key)


@pytest.mark.parametrize(
    ("variable", "raw", "reason"),
    [
        ("TAINA_ENDPOINT_SILENCE_MS", "5", "Debe estar entre 100 y 5000 ms."),
        ("TAINA_ENDPOINT_SILENCE_MS", "medio segundo", "Debe ser un número entero."),
        ("TAINA_TURN_INTERRUPTIBLE", "quizás", "Debe ser sí o no."),
        ("TAINA_DIALOGUE_LANGUAGE_MODEL", "gpt", "Debe ser una de estas opciones: Automático, "),
        ("TAINA_PRICE_DEEPGRAM_PER_MINUTE", "-1", "Debe ser al menos 0 por minuto."),
        ("TAINA_PRICE_DEEPGRAM_PER_MINUTE", "0,5", "Debe ser un número (con punto para los decimales)."),
        ("TAINA_PRICE_CURRENCY", "dólares", "El formato no es válido. Ejemplo: USD."),
        ("TAINA_ENDPOINT_PAUSE_MS", "0", "Debe ser mayor que 0 ms."),
    ],
)
def test_a_bad_value_gets_its_reason_in_spanish(variable: str, raw: str, reason: str) -> None:
    found = problem(variable, raw, DEFAULTS)
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("TAINA_ENDPOINT_SILENCE_MS", "600"), ("TAINA_TURN_INTERRUPTIBLE", "false"), ("TAINA_PRICE_CURRENCY", "DOP"),
     ("TAINA_PRICE_DEEPGRAM_PER_MINUTE", "0.0048"), ("TAINA_DIALOGUE_GREETING", "")],
)  # fmt: skip
def test_a_good_value_passes(variable: str, raw: str) -> None:
    assert problem(variable, raw, DEFAULTS) is None


def test_a_rule_over_several_settings_is_told_with_their_spanish_names() -> None:
    message = (
        "TAINA_ENDPOINT_SILENCE_COMPLETE_MS must be above TAINA_ENDPOINT_PAUSE_MS and at most "
        "TAINA_ENDPOINT_SILENCE_MS"
    )
    text, field = rule_in_spanish(message, EDITABLE)
    assert field == "TAINA_ENDPOINT_SILENCE_COMPLETE_MS"
    assert text == (
        "«Silencio tras una frase completa» debe ser mayor que «Pausa para adelantar el reconocimiento» "
        "y como mucho «Silencio que cierra el turno»."
    )
