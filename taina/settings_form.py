"""The dashboard's settings form, described from the knobs themselves: each editable setting's control (a toggle
for a bool, a select for a Literal, a range or number with its bounds and unit, a password field for a secret,
text otherwise) with its Spanish words (taina/settings_es.py), and each value checked the same way on the
server, with the error in Spanish naming the field it is about.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, cast

import annotated_types
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from engine.options import Section
from taina.settings import Settings
from taina.settings_es import SPANISH, Words

RANGE_MAX_STEPS = 2_000  # a slider with more positions than this is a number field instead


def knobs(settings: Settings) -> dict[str, tuple[type[Section], str, FieldInfo]]:
    """Every setting's variable -> (its section's class, the field's name, the field)."""
    found: dict[str, tuple[type[Section], str, FieldInfo]] = {}
    for section in settings.sections().values():
        cls = type(section)
        for name, info in cls.model_fields.items():
            found.setdefault(cls.env_name(name), (cls, name, info))
    return found


def bounds(info: FieldInfo) -> dict[str, float]:
    """The field's ge/gt/le/lt as {"ge": 100, "le": 5000}."""
    out: dict[str, float] = {}
    for meta in info.metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(meta, getattr(annotated_types, kind.capitalize())):
                out[kind] = getattr(meta, kind)
    return out


def choices(info: FieldInfo) -> tuple[str, ...]:
    if typing.get_origin(info.annotation) is typing.Literal:
        return tuple(str(c) for c in typing.get_args(info.annotation))
    return ()


def control(variable: str, cls: type[Section], name: str, info: FieldInfo, words: Words) -> dict[str, Any]:
    """How the form shows one setting: its kind and what the browser needs to check it before sending."""
    field: dict[str, Any] = {
        "name": variable,
        "label": words.label,
        "help": words.help,
        "group": words.group,
        "unit": words.unit,
    }
    allowed = choices(info)
    if cls.is_secret(name):
        field["kind"] = "secret"
    elif info.annotation is bool:
        field["kind"] = "toggle"
    elif allowed:
        field["kind"] = "select"
        field["choices"] = [{"value": c, "label": words.choices.get(c, c)} for c in allowed]
    elif info.annotation in (int, float):
        limits = bounds(info)
        step = 1 if info.annotation is int else 0.01
        step = words.step if words.step is not None else step
        low = limits.get(
            "ge", limits["gt"] + (1 if info.annotation is int else 0) if "gt" in limits else None
        )
        high = limits.get(
            "le", limits["lt"] - (1 if info.annotation is int else 0) if "lt" in limits else None
        )
        field.update(min=low, max=high, step=step, integer=info.annotation is int)
        narrow = low is not None and high is not None and (high - low) / step <= RANGE_MAX_STEPS
        field["kind"] = "range" if narrow else "number"
    else:
        field["kind"] = "textarea" if words.long else "text"
        pattern = next(
            (getattr(m, "pattern", None) for m in info.metadata if getattr(m, "pattern", None)), None
        )
        if pattern:
            field["pattern"] = pattern
    return field


def form(
    editable: Iterable[str],
    current: Settings,
    defaults: Settings,
    overrides: Mapping[str, str],
    words: Mapping[str, Words] = SPANISH,
) -> list[dict[str, Any]]:
    """The form's fields in order, with their current and default values (a secret's never: only whether it
    is set)."""
    found, fields = knobs(current), []
    for variable in editable:
        cls, name, info = found[variable]
        field = control(variable, cls, name, info, words[variable])
        value, default = (
            _shown(getattr(current, _section_of(current, cls)), name),
            _shown(getattr(defaults, _section_of(defaults, cls)), name),
        )
        if field["kind"] == "secret":
            field.update(value="", default="", is_set=bool(value))
        else:
            field.update(value=value, default=default)
        field["changed_here"] = variable in overrides
        fields.append(field)
    return fields


def _section_of(settings: Settings, cls: type[Section]) -> str:
    return next(key for key, section in settings.sections().items() if type(section) is cls)


def _shown(section: Section, name: str) -> str:
    value = getattr(section, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def problem(variable: str, raw: str, settings: Settings) -> str | None:
    """What is wrong with ``raw`` as the value of ``variable`` on its own, in Spanish; None if nothing."""
    info = knobs(settings)[variable][2]
    words = SPANISH[variable]
    if raw == "":  # empty: the setting's default (text may be empty; numbers and choices fall back)
        return None
    try:
        TypeAdapter[Any](cast(Any, Annotated[info.annotation, info])).validate_python(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        return _spanish(error["type"], info, words)
    return None


def _spanish(kind: str, info: FieldInfo, words: Words) -> str:
    unit = f" {words.unit}" if words.unit else ""
    if kind == "int_parsing":
        return "Debe ser un número entero."
    if kind == "float_parsing":
        return "Debe ser un número (con punto para los decimales)."
    if kind == "bool_parsing":
        return "Debe ser sí o no."
    if kind == "literal_error":
        names = [words.choices.get(c, c) for c in choices(info)]
        return "Debe ser una de estas opciones: " + ", ".join(names) + "."
    if kind == "string_pattern_mismatch":
        return "El formato no es válido." + (f" Ejemplo: {info.default}." if info.default else "")
    limits = bounds(info)
    low = limits.get("ge", limits.get("gt"))
    high = limits.get("le", limits.get("lt"))
    if "ge" in limits and "le" in limits:
        return f"Debe estar entre {_number(low)} y {_number(high)}{unit}."
    parts = []
    if low is not None:
        parts.append(f"{'al menos' if 'ge' in limits else 'mayor que'} {_number(low)}{unit}")
    if high is not None:
        parts.append(f"{'como mucho' if 'le' in limits else 'menor que'} {_number(high)}{unit}")
    return ("Debe ser " + " y ".join(parts) + ".") if parts else "El valor no es válido."


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_PHRASES = (
    ("must be above 0 and below", "debe ser mayor que 0 y menor que"),
    ("must be above", "debe ser mayor que"),
    ("must be between", "debe estar entre"),
    ("and at most", "y como mucho"),
    ("and below", "y menor que"),
    (" and ", " y "),
    ("must be", "debe ser"),
)


def rule_in_spanish(message: str, editable: Iterable[str]) -> tuple[str, str | None]:
    """A rule over several settings that failed (its message names their variables), in the form's words:
    each variable by its Spanish label, and the field it is about (the first one named)."""
    named = sorted(
        ((message.find(v), v) for v in editable if re.search(rf"\b{v}\b", message)), key=lambda p: p[0]
    )
    text = message
    for variable in sorted((v for _, v in named), key=len, reverse=True):
        text = re.sub(rf"\b{variable}\b", f"«{SPANISH[variable].label}»", text)
    for english, spanish in _PHRASES:
        text = text.replace(english, spanish)
    text = text[:1].upper() + text[1:]
    return (text if text.endswith(".") else text + "."), (named[0][1] if named else None)
