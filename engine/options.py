"""Options sections: each component declares the small, typed group of settings it owns, beside its code.

A section is a frozen pydantic model with a ``prefix``; each field is read from the environment variable
``<prefix>_<FIELD>`` (upper case) unless it names its own (``env=``). Ranges are declared on the field
(``ge``/``le``/``gt``/``lt``, or a ``Literal`` of the allowed values) and checked by pydantic; a rule that ties
two fields together is a ``model_validator`` raising ``ValueError`` with the variables' names. The app's
loader (taina/settings.py) reads the environment, turns every failure into one line naming the variable, and
assembles the sections. Engine code takes only the sections it needs, never the whole product's settings.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class SettingsError(ValueError):
    """A setting has a value the assistant cannot use; the message names the variable."""


class Section(BaseModel):
    """One component's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str] = ""

    @classmethod
    def env_name(cls, field: str) -> str:
        extra = cls.model_fields[field].json_schema_extra
        named = extra.get("env") if isinstance(extra, dict) else None
        return str(named) if named else f"{cls.prefix}_{field.upper()}"

    @classmethod
    def is_secret(cls, field: str) -> bool:
        extra = cls.model_fields[field].json_schema_extra
        return bool(extra.get("secret")) if isinstance(extra, dict) else False


def knob(
    default: Any,
    help: str,
    *,
    env: str | None = None,
    secret: bool = False,
    form: tuple[str, str] | None = None,
    **bounds: Any,
) -> Any:
    """A field with its documentation, optionally its own variable name, its range (ge, le, gt, lt), and for
    text the form it must have: ``(regular expression, what the error says it must be)``."""
    extra: dict[str, Any] = {"secret": secret}
    if env:
        extra["env"] = env
    if form:
        bounds["pattern"] = form[0]
        extra["must"] = form[1]
    return Field(default, description=help, json_schema_extra=extra, **bounds)
