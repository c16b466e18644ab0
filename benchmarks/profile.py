"""Scripted providers with a fixed latency profile, so the benchmarks measure what the engine adds.

The profile (milliseconds), from figures published for the cloud providers (../shared/anchors.md):
- speech-to-text: the final transcript ``stt_final_ms`` after the engine's end of speech (Deepgram's
  Finalize answer; Pipecat's table gives Deepgram a median of about 250 ms);
- language model: the first text ``lm_first_token_ms`` after the prompt, the first clause whole in it, then
  one piece every ``lm_piece_ms``;
- text-to-speech: the first audio ``tts_first_audio_ms`` after the text, then audio at ``tts_speed`` times
  real time, in 100 ms chunks at 24 kHz.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.audio import AudioChunk, AudioFrame
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta
from engine.ports.speech import Transcript

TRANSCRIPT = "¿A qué hora abren los sábados?"
# Pieces as a language model streams them: the space before a word, never after it, so a sentence's end is
# known only when the next piece arrives (lm_piece_ms later), for this engine's chunker and Pipecat's alike.
REPLY = (
    "Claro, con gusto le ayudo.",
    " Los sábados abrimos",
    " de ocho de la mañana",
    " a doce del mediodía.",
)
TTS_RATE = 24_000


@dataclass(frozen=True)
class LatencyProfile:
    stt_final_ms: float = 250.0
    lm_first_token_ms: float = 350.0
    lm_piece_ms: float = 20.0
    tts_first_audio_ms: float = 150.0
    tts_speed: float = 4.0
    seconds_per_clause: float = 0.4

    @property
    def provider_ms(self) -> float:
        """The providers' share of end-of-speech to first audio: transcript, first token, first audio."""
        return self.stt_final_ms + self.lm_first_token_ms + self.tts_first_audio_ms

    def as_json(self) -> dict[str, float]:
        return {**asdict(self), "provider_ms": self.provider_ms}


@dataclass
class ProviderClock:
    """What one call's providers really took per turn, in ms (timers wake a little late; that is not the
    engine's doing): speech-to-text finish, model to first text, text-to-speech to first audio."""

    turns: list[dict[str, float]] = field(default_factory=list)

    def stt(self, ms: float) -> None:
        self.turns.append({"stt": ms})

    def first(self, part: str, ms: float) -> None:
        if self.turns and part not in self.turns[-1]:
            self.turns[-1][part] = ms

    def total_ms(self, turn: int) -> float | None:
        spent = self.turns[turn] if turn < len(self.turns) else {}
        return sum(spent.values()) if len(spent) == 3 else None


async def _wait(ms: float) -> float:
    """Sleep ``ms``; returns how long it really took."""
    start = time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return (time.perf_counter() - start) * 1000


class ProfiledStream:
    def __init__(self, profile: LatencyProfile, clock: ProviderClock) -> None:
        self._profile = profile
        self._clock = clock
        self.frames = 0

    async def send(self, frame: AudioFrame) -> None:
        self.frames += 1

    def speech_paused(self) -> None:
        pass

    def speech_resumed(self) -> None:
        pass

    async def finish(self) -> Transcript:
        self._clock.stt(await _wait(self._profile.stt_final_ms))
        return Transcript(TRANSCRIPT, "es")

    async def aclose(self) -> None:
        pass


class ProfiledSpeechToText:
    name = "profiled-stt"

    def __init__(self, profile: LatencyProfile, clock: ProviderClock | None = None) -> None:
        self._profile = profile
        self.clock = clock or ProviderClock()

    def start(self) -> None:
        pass

    def open(self, on_interim: Callable[[str], None] | None = None) -> ProfiledStream:
        return ProfiledStream(self._profile, self.clock)

    async def aclose(self) -> None:
        pass


class ProfiledModel:
    name = "profiled-lm"

    def __init__(self, profile: LatencyProfile, clock: ProviderClock | None = None) -> None:
        self._profile = profile
        self.clock = clock or ProviderClock()

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        self.clock.first("lm", await _wait(self._profile.lm_first_token_ms))
        for index, piece in enumerate(REPLY):
            if index:
                await asyncio.sleep(self._profile.lm_piece_ms / 1000)
            yield TextDelta(piece)


class ProfiledTextToSpeech:
    name = "profiled-tts"

    def __init__(self, profile: LatencyProfile, clock: ProviderClock | None = None) -> None:
        self._profile = profile
        self.clock = clock or ProviderClock()
        t = np.arange(TTS_RATE // 10) / TTS_RATE
        self._chunk = (0.2 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)  # 100 ms

    def start(self) -> None:
        pass

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        profile = self._profile
        self.clock.first("tts", await _wait(profile.tts_first_audio_ms))
        chunks = max(1, round(profile.seconds_per_clause * 10))
        for index in range(chunks):
            if index:
                await asyncio.sleep(0.1 / profile.tts_speed)
            yield AudioChunk(self._chunk, TTS_RATE)

    async def aclose(self) -> None:
        pass
