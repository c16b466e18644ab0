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
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass

import numpy as np

from engine.audio import AudioChunk, AudioFrame
from engine.ports import LanguageModelEvent, Prompt, TextDelta, Transcript

TRANSCRIPT = "¿A qué hora abren los sábados?"
REPLY = (
    "Claro, con gusto le ayudo. ",
    "Los sábados abrimos ",
    "de ocho de la mañana ",
    "a doce del mediodía.",
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


class ProfiledStream:
    def __init__(self, profile: LatencyProfile) -> None:
        self._profile = profile
        self.frames = 0

    async def send(self, frame: AudioFrame) -> None:
        self.frames += 1

    def speech_paused(self) -> None:
        pass

    def speech_resumed(self) -> None:
        pass

    async def finish(self) -> Transcript:
        await asyncio.sleep(self._profile.stt_final_ms / 1000)
        return Transcript(TRANSCRIPT, "es")

    async def aclose(self) -> None:
        pass


class ProfiledSpeechToText:
    name = "profiled-stt"

    def __init__(self, profile: LatencyProfile) -> None:
        self._profile = profile

    def start(self) -> None:
        pass

    def open(self, on_interim: Callable[[str], None] | None = None) -> ProfiledStream:
        return ProfiledStream(self._profile)

    async def aclose(self) -> None:
        pass


class ProfiledModel:
    name = "profiled-lm"

    def __init__(self, profile: LatencyProfile) -> None:
        self._profile = profile

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        await asyncio.sleep(self._profile.lm_first_token_ms / 1000)
        for index, piece in enumerate(REPLY):
            if index:
                await asyncio.sleep(self._profile.lm_piece_ms / 1000)
            yield TextDelta(piece)


class ProfiledTextToSpeech:
    name = "profiled-tts"

    def __init__(self, profile: LatencyProfile) -> None:
        self._profile = profile
        t = np.arange(TTS_RATE // 10) / TTS_RATE
        self._chunk = (0.2 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)  # 100 ms

    def start(self) -> None:
        pass

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        profile = self._profile
        await asyncio.sleep(profile.tts_first_audio_ms / 1000)
        chunks = max(1, round(profile.seconds_per_clause * 10))
        for index in range(chunks):
            if index:
                await asyncio.sleep(0.1 / profile.tts_speed)
            yield AudioChunk(self._chunk, TTS_RATE)

    async def aclose(self) -> None:
        pass
