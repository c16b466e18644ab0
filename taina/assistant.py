"""Each conversation's dialogue, made from settings: which language model, the knowledge base and the tools
(built by the composition root, taina/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal

import structlog
from pydantic import field_validator

from adapters.echo_responder import EchoResponder
from adapters.openai_chat import OpenAIChat
from adapters.policy.policy import DialoguePolicy
from engine.appointment_tools import AppointmentTools, describe_catalogue
from engine.dialogue import Dialogue
from engine.handoff import hand_off_tool
from engine.options import Section, SettingsError, knob
from engine.tools import Toolbox
from engine.urgent import UrgentCheck
from taina.backend import Backend
from taina.clinic.clock import ClinicClock
from taina.clinic.identity import ClinicIdentity
from taina.clinic.prompt import SYSTEM_PROMPT

if TYPE_CHECKING:
    from taina.settings import Settings


class DialogueSettings(Section):
    prefix: ClassVar[str] = "TAINA_DIALOGUE"
    language_model: Literal["auto", "policy", "openai"] = knob(
        "auto",
        "policy (the embedded Spanish dialogue policy), openai, or auto (openai when OPENAI_API_KEY is set).",
    )
    assistant_name: str = knob("TAINA", "The assistant's name, as it introduces itself.")
    greeting: str = knob(
        "", "What the assistant says when a call starts, before the caller speaks; empty: it waits for them."
    )
    system_prompt: str = knob(
        "",
        "The language model's instructions; empty: the built-in Spanish prompt. {assistant} and {organisation} "
        "are filled in.",
    )
    organisation: str = knob(
        "Centro Médico Caribe Salud", "Whose assistant it is (said in the system prompt)."
    )
    now: str = knob(
        "",
        "Fixes the clinic's clock (ISO 8601, e.g. 2026-11-25T09:00); empty means the real time. For tests and demos.",
        env="TAINA_NOW",
    )
    passages: int = knob(6, "Passages retrieved per user turn and given to the model.", ge=1, le=20)
    min_similarity: float = knob(
        0.0,
        "Passages less similar than this to what was said are not given to the model (0 gives them all).",
        ge=-1,
        le=1,
    )
    max_steps: int = knob(8, "Most model calls in one turn (each tool round trip is one more).", ge=2, le=20)
    memory: int = knob(
        40, "Most messages of the conversation kept for the model (tool results included).", ge=4, le=400
    )

    @field_validator("now")
    @classmethod
    def _iso(cls, now: str) -> str:
        if now:
            try:
                datetime.fromisoformat(now)
            except ValueError:
                raise ValueError(f"TAINA_NOW must be an ISO 8601 date and time, got {now!r}") from None
        return now


log = structlog.get_logger("taina.assistant")


class Assistant:
    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self._openai: OpenAIChat | None = None
        self._retired: list[OpenAIChat] = []  # clients calls in progress may still use; closed with us
        self.language_model = "echo"
        self._system_prompt = ""
        self.urgent = UrgentCheck()  # urgent symptoms, answered before the model with the documents' numbers
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """New conversations follow ``settings`` (the model, the prompt, names, retrieval); calls in progress
        keep theirs. SettingsError if the model asked for cannot be used."""
        choice = settings.dialogue.language_model
        if choice == "openai" and not settings.openai.api_key:
            raise SettingsError("TAINA_DIALOGUE_LANGUAGE_MODEL=openai needs OPENAI_API_KEY")
        use_openai = self.backend is not None and (
            choice == "openai" or (choice == "auto" and bool(settings.openai.api_key))
        )
        if use_openai and (self._openai is None or settings.openai != self.settings.openai):
            if self._openai is not None:
                self._retired.append(self._openai)
            self._openai = OpenAIChat(settings.openai)
        elif not use_openai and self._openai is not None:
            self._retired.append(self._openai)
            self._openai = None
        if self.backend is not None:
            self.language_model = self._openai.name if self._openai else DialoguePolicy.name
        self.settings = settings
        self.identity = ClinicIdentity.from_settings(settings)
        prompt = self.identity.fill(settings.dialogue.system_prompt or SYSTEM_PROMPT)
        if self.backend is not None:
            prompt += "\n\nCatálogo de citas:\n" + describe_catalogue(self.backend.catalogue)
        self._system_prompt = prompt

    def now(self) -> datetime:
        return ClinicClock(self.settings.dialogue.now).now()

    def dialogue(self, conversation_id: str, transfers: Callable[[], bool] = lambda: False) -> Dialogue:
        """A new conversation: its own memory, its own booking in progress. ``transfers`` answers whether the
        call can be put through to the staff when the caller asks for a person (engine/handoff.py)."""
        backend = self.backend
        if backend is None:
            return Dialogue(EchoResponder(), now=self.now)
        tools = AppointmentTools(backend.appointments, backend.catalogue, conversation_id, self.now)
        settings = self.settings.dialogue
        return Dialogue(
            self._openai
            or DialoguePolicy(backend.catalogue, assistant=self.identity.assistant, now=self.now),
            backend.library,
            Toolbox([*tools.tools(), hand_off_tool(transfers)]),
            system_prompt=self._system_prompt,
            now=self.now,
            passages=settings.passages,
            min_similarity=settings.min_similarity,
            max_steps=settings.max_steps,
            memory=settings.memory,
            urgent=self.urgent,
        )

    async def find_emergency_numbers(self) -> None:
        """Read the clinic's emergency numbers from its documents now (a failure only logs: 9-1-1 still goes out,
        and the numbers are looked up again at the first urgent turn)."""
        if self.backend is None:
            return
        try:
            await self.urgent.find_numbers(self.backend.library)
        except Exception as exc:
            log.error("assistant.emergency_numbers_failed", error=f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        for client in [*self._retired, *([self._openai] if self._openai else [])]:
            await client.aclose()
