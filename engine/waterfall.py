"""A turn's latency waterfall: when each stage of the reply happened, measured from the end of speech."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# In the order they happen in a turn.
STAGES = (
    "end_of_speech",  # the endpointer decided the user had finished
    "transcript",  # the final transcript was ready
    "first_token",  # the language model's first text
    "first_clause",  # the first clause was ready for text-to-speech
    "tts_first_audio",  # text-to-speech produced its first audio
    "reply_text",  # the whole reply text was known
    "first_audio",  # the first reply frame left the transport
)


@dataclass
class Waterfall:
    speech_ended_at: float  # time.monotonic() of the last speech heard
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, at: float | None = None) -> None:
        """Record a stage once; later marks of the same stage are ignored."""
        if stage not in STAGES:
            raise ValueError(f"unknown waterfall stage {stage!r}")
        self.marks.setdefault(stage, time.monotonic() if at is None else at)

    def as_ms(self) -> dict[str, float]:
        """Milliseconds from the end of speech to each stage reached, in stage order."""
        return {
            stage: round((self.marks[stage] - self.speech_ended_at) * 1000, 1)
            for stage in STAGES
            if stage in self.marks
        }
