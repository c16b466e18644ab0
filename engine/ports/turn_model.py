"""An end-of-turn model: from the sound of an utterance so far, whether the speaker has finished their turn."""

from __future__ import annotations

from typing import Protocol

from engine.audio import Pcm


class TurnModelBusy(RuntimeError):
    """The model has as many calls waiting as it takes: this pause is judged without it."""


class TurnModel(Protocol):
    """Shared by every call of the process; ``complete`` runs off the event loop."""

    name: str
    window_s: float  # how much of the utterance's end the model listens to

    async def complete(self, samples: Pcm) -> float:
        """The probability (0-1) that the utterance in ``samples`` (16 kHz mono, ending now, its trailing
        silence included) is a finished turn. Raises TurnModelBusy when too many calls wait."""
