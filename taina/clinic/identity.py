"""Who the assistant is: its name and whose assistant it is (TAINA_DIALOGUE_ASSISTANT_NAME, _ORGANISATION)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taina.settings import Settings


@dataclass(frozen=True)
class ClinicIdentity:
    assistant: str
    organisation: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ClinicIdentity:
        return cls(settings.dialogue.assistant_name, settings.dialogue.organisation)

    def fill(self, template: str) -> str:
        """``template`` with {assistant} and {organisation} filled in (nothing else is: prompts have braces)."""
        return template.replace("{assistant}", self.assistant).replace("{organisation}", self.organisation)
