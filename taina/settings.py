"""The product's settings: every component's section, read from the environment in one place.

Each section lives beside the code that owns it (engine/vad.py has VadSettings, adapters/deepgram_stt.py has
DeepgramSettings, ...) and declares its fields, defaults, help and ranges; this module only assembles them.
A field is read from ``<SECTION PREFIX>_<FIELD>`` (or the variable it names, such as ``DATABASE_URL``), or from
the file named by the same variable with ``_FILE`` appended (Kubernetes secrets, Secrets Manager mounts).
Values are checked as they are read: a wrong value stops start-up with one line naming the variable.
``taina settings`` prints them all with their current values.

pydantic parses and range-checks each section. The loading itself is written here rather than with
pydantic-settings, because three of its rules are ours: one variable read by two sections (OPENAI_API_KEY),
comma-separated lists, and every failure reported as one line naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import annotated_types
from pydantic import ValidationError

from adapters.appointments_http import AppointmentsSettings
from adapters.deepgram_stt import DeepgramSettings
from adapters.elevenlabs_tts import ElevenLabsSettings
from adapters.espeak_tts import EspeakSettings
from adapters.livekit_transport import LiveKitSettings
from adapters.openai_chat import OpenAISettings
from adapters.openai_embedder import EmbeddingSettings
from adapters.passage_store import RetrievalSettings
from adapters.postgres import DatabaseSettings
from adapters.recordings import RecordingSettings
from adapters.s3_store import StorageSettings
from adapters.smart_turn import SmartTurnSettings
from adapters.webrtc import WebRtcSettings
from adapters.whisper_stt import WhisperSettings
from engine.audio import AudioSettings
from engine.endpointing import EndOfTurnSettings, EndpointSettings
from engine.options import Section, SettingsError
from engine.session import SessionSettings
from engine.turns import TurnSettings
from engine.vad import VadSettings
from taina.assistant import DialogueSettings
from taina.auth import AuthSettings
from taina.backup import BackupSettings
from taina.clinic.keyterms import SAMPLE_KEYTERMS
from taina.http_settings import HttpSettings
from taina.knowledge.ingest import IngestSettings
from taina.logs import LogSettings
from taina.oidc import OidcSettings
from taina.telemetry import TraceSettings
from taina.usage import PriceSettings

__all__ = ["Settings", "SettingsError", "describe"]

S = TypeVar("S", bound=Section)


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "taina")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    turn: TurnSettings = field(default_factory=TurnSettings)
    end_of_turn: EndOfTurnSettings = field(default_factory=EndOfTurnSettings)
    smart_turn: SmartTurnSettings = field(default_factory=SmartTurnSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    webrtc: WebRtcSettings = field(default_factory=WebRtcSettings)
    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    espeak: EspeakSettings = field(default_factory=EspeakSettings)
    log: LogSettings = field(default_factory=LogSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    appointments: AppointmentsSettings = field(default_factory=AppointmentsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    deepgram: DeepgramSettings = field(default_factory=DeepgramSettings)
    elevenlabs: ElevenLabsSettings = field(default_factory=ElevenLabsSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)
    livekit: LiveKitSettings = field(default_factory=LiveKitSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    prices: PriceSettings = field(default_factory=PriceSettings)
    trace: TraceSettings = field(default_factory=TraceSettings)

    DATA_DIR_HELP: ClassVar[str] = (
        "TAINA_DATA_DIR: the one folder holding all state (models, database, recordings); "
        "default $XDG_DATA_HOME/taina, i.e. ~/.local/share/taina."
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        sections: dict[str, Any] = {
            f.name: load_section(f.default_factory, env)  # type: ignore[arg-type]
            for f in dataclasses.fields(cls)
            if f.name != "data_dir"
        }
        if not sections["deepgram"].keyterms:  # the clinic's names, when the operator gives none
            sections["deepgram"] = sections["deepgram"].model_copy(update={"keyterms": SAMPLE_KEYTERMS})
        data_dir = Path(_read(env, "TAINA_DATA_DIR") or _default_data_dir()).expanduser()
        return cls(data_dir=data_dir, **sections)

    def session(self) -> SessionSettings:
        """What one call's Session needs of these settings."""
        return SessionSettings(
            self.audio,
            self.vad,
            self.endpoint,
            self.turn,
            self.end_of_turn,
            greeting=self.dialogue.greeting,
            max_call_s=self.webrtc.max_call_s,
        )

    def sections(self) -> dict[str, Section]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "data_dir"}


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, current value, help) for every setting, in order."""
    rows = [("TAINA_DATA_DIR", str(settings.data_dir), Settings.DATA_DIR_HELP.split(": ", 1)[1])]
    seen = set()
    for section in settings.sections().values():
        for name, info in type(section).model_fields.items():
            variable = section.env_name(name)
            if variable in seen:  # one variable read by two sections (OPENAI_API_KEY)
                continue
            seen.add(variable)
            value = getattr(section, name)
            shown = ",".join(value) if isinstance(value, tuple) else str(value)
            if section.is_secret(name) and shown:
                shown = "(set, not shown)"
            rows.append((variable, shown, info.description or ""))
    return rows


def load_section(cls: type[S], env: Mapping[str, str]) -> S:
    """One section from ``env``; SettingsError naming the variable if a value cannot be used."""
    values: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        raw = _read(env, cls.env_name(name))
        if raw is None or raw == "":
            continue
        if info.annotation == tuple[str, ...]:
            values[name] = tuple(part.strip() for part in raw.split(",") if part.strip())
        else:
            values[name] = raw
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(_explain(cls, exc, values)) from None


def _read(env: Mapping[str, str], variable: str) -> str | None:
    """``variable``'s value, or the contents of the file ``<variable>_FILE`` names (trailing newline dropped)."""
    value = env.get(variable)
    if value:
        return value
    path = env.get(f"{variable}_FILE")
    if not path:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{variable}_FILE: cannot read {path}: {exc.__class__.__name__}") from None


def _explain(cls: type[Section], exc: ValidationError, values: Mapping[str, Any]) -> str:
    """The first error as one line: which variable, what it must be, and what it was."""
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a rule over several fields: its message names the variables
        return message
    name = str(error["loc"][0])
    variable = cls.env_name(name)
    kind = error["type"]
    if kind == "value_error":
        return message
    expected = {"int_parsing": "an integer", "float_parsing": "a number", "bool_parsing": "true or false"}
    if kind in expected:
        return f"{variable} must be {expected[kind]}, got {values.get(name)!r}"
    info = cls.model_fields[name]
    bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in info.metadata if _is_bound(m)}
    if bounds:
        return f"{variable} must be {_range(bounds)}"
    if kind == "literal_error":
        allowed = [str(a) for a in getattr(info.annotation, "__args__", ())]
        return f"{variable} must be {', '.join(allowed[:-1])} or {allowed[-1]}"
    if kind == "string_pattern_mismatch" and isinstance(info.json_schema_extra, dict):
        return f"{variable} must {info.json_schema_extra.get('must')}"
    return f"{variable}: {message}, got {values.get(name)!r}"


def _is_bound(meta: object) -> bool:
    return isinstance(meta, annotated_types.Ge | annotated_types.Le | annotated_types.Gt | annotated_types.Lt)


def _range(bounds: Mapping[str, Any]) -> str:
    low = bounds.get("Ge", bounds.get("Gt"))
    high = bounds.get("Le", bounds.get("Lt"))
    low_s, high_s = _number(low), _number(high)
    if "Ge" in bounds and "Le" in bounds:
        return f"{low_s}-{high_s}"
    parts = []
    if low is not None:
        parts.append(f"at least {low_s}" if "Ge" in bounds else f"above {low_s}")
    if high is not None:
        parts.append(f"at most {high_s}" if "Le" in bounds else f"below {high_s}")
    return " and ".join(parts)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
