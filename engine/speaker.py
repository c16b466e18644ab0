"""Speaks one reply: each clause through text-to-speech into paced output frames, keeping count of which
frames carry which words, so an interrupted reply knows what the caller actually heard."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace

from engine.audio import AudioFrame, Pcm
from engine.ports.speech import TextToSpeech
from engine.ports.transport import AudioOutput
from engine.resample import OutputConditioner
from engine.spoken import speakable
from engine.tracing import stage
from engine.waterfall import Waterfall


@dataclass
class _Clause:
    text: str
    start: int  # index of its first frame in the reply
    frames: int = 0
    done: bool = False  # synthesis finished, so ``frames`` is its whole length
    voiced: list[tuple[int, int]] = field(default_factory=list)  # (frames so far, characters voiced by then)

    def heard(self, frames: int) -> str:
        """The words of this clause the first ``frames`` of its audio carried."""
        if frames >= self.frames and self.done:
            return self.text
        chars = 0
        for upto, voiced in self.voiced:  # the provider's alignment, when it gives one
            if upto <= frames:
                chars = max(chars, voiced)
        if chars == 0 and self.done and self.frames:
            chars = len(self.text) * frames // self.frames
        if chars <= 0:
            return ""
        # Whole words only: the one cut half-way was not really heard.
        cut = self.text[:chars]
        if chars < len(self.text) and not self.text[chars].isspace():
            cut = cut.rsplit(" ", 1)[0] if " " in cut else ""
        return cut.strip()


class Speaker:
    def __init__(
        self,
        tts: TextToSpeech,
        transport: AudioOutput,
        frame_ms: int,
        waterfall: Waterfall,
        on_first_frame: Callable[[float], None],
        live: Callable[[], bool] = lambda: True,
    ) -> None:
        self._tts = tts
        self._transport = transport
        self._output = OutputConditioner(transport.output_rate, frame_ms)
        self._waterfall = waterfall
        self._on_first_frame = on_first_frame
        self._live = live
        self._tracing = trace.get_current_span().is_recording()  # made under the turn's span
        self._clauses: list[_Clause] = []
        self.frames_queued = 0
        self.characters = 0  # characters sent to text-to-speech (what a cloud voice bills)

    async def say(self, clause: str) -> None:
        """Synthesize one clause and queue its frames (waits while the output queue is full)."""
        current = _Clause(clause, self.frames_queued)
        self._clauses.append(current)
        said = speakable(clause)
        self.characters += len(said)
        scale = len(clause) / max(1, len(said))  # the alignment counts characters of the spoken form
        first_audio = self._tracing and "tts_first_audio" not in self._waterfall.marks
        asked = time.monotonic()
        async for chunk in self._tts.synthesize(said):
            if first_audio:  # the reply's first clause: how long text-to-speech took to its first audio
                first_audio = False
                stage("text_to_speech", asked, time.monotonic(), {"taina.tts": self._tts.name})
            self._waterfall.mark("tts_first_audio")
            for samples in self._output.push(chunk.samples, chunk.sample_rate):
                await self._play(samples, current)
            if chunk.voiced_chars:
                current.voiced.append((current.frames, round(chunk.voiced_chars * scale)))
        current.done = True

    async def finish(self) -> None:
        """Queue the last partial frame and wait until every frame has left."""
        for samples in self._output.flush():
            await self._play(samples, self._clauses[-1] if self._clauses else None)
        await self._transport.drained()

    def heard(self, frames_sent: int) -> str:
        """The reply's words that the first ``frames_sent`` frames carried."""
        words: list[str] = []
        for clause in self._clauses:
            if frames_sent <= clause.start:
                break
            words.append(clause.heard(frames_sent - clause.start))
        return " ".join(w for w in words if w)

    async def _play(self, samples: Pcm, clause: _Clause | None) -> None:
        if not self._live():
            return  # stale audio of an interrupted turn
        first = self.frames_queued == 0
        await self._transport.play(
            AudioFrame(samples, self._output.rate), self._on_first_frame if first else None
        )
        self.frames_queued += 1
        if clause is not None:
            clause.frames += 1
