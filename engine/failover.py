"""A cloud provider with a local one behind it: when the cloud fails during a call, the local adapter finishes
the turn (speech-to-text) or the sentence (text-to-speech), the failure is logged and counted, and the cloud
is tried again next time. No call ends because a provider failed.

Only ProviderError fails over; anything else is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import structlog

from engine.audio import AudioChunk, AudioFrame
from engine.metrics import PROVIDER_FAILOVERS
from engine.ports.speech import ProviderError, SpeechToText, SpeechToTextStream, TextToSpeech, Transcript

log = structlog.get_logger("taina.failover")


class FailoverStream:
    def __init__(self, primary: SpeechToTextStream, owner: FailoverSpeechToText) -> None:
        self._primary = primary
        self._owner = owner
        self._frames: list[AudioFrame] = []  # the utterance, for the local adapter if the cloud fails

    async def send(self, frame: AudioFrame) -> None:
        self._frames.append(frame)
        await self._primary.send(frame)

    def speech_paused(self) -> None:
        self._primary.speech_paused()

    def speech_resumed(self) -> None:
        self._primary.speech_resumed()

    async def finish(self) -> Transcript:
        try:
            return await self._primary.finish()
        except ProviderError as failure:
            owner = self._owner
            log.warning(
                "stt.failover", provider=owner.primary.name, to=owner.fallback.name, reason=str(failure)
            )
            PROVIDER_FAILOVERS.labels("speech_to_text", owner.primary.name).inc()
            owner.failovers += 1
            local = owner.fallback.open()
            for frame in self._frames:
                await local.send(frame)
            return await local.finish()

    async def aclose(self) -> None:
        await self._primary.aclose()


class FailoverSpeechToText:
    def __init__(self, primary: SpeechToText, fallback: SpeechToText) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = f"{primary.name} (fallback {fallback.name})"
        self.failovers = 0

    def start(self) -> None:
        self.primary.start()
        self.fallback.start()

    def open(self, on_interim: Callable[[str], None] | None = None) -> FailoverStream:
        return FailoverStream(self.primary.open(on_interim), self)

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.fallback.aclose()


class FailoverTextToSpeech:
    def __init__(self, primary: TextToSpeech, fallback: TextToSpeech) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = f"{primary.name} (fallback {fallback.name})"
        self.failovers = 0

    def start(self) -> None:
        self.primary.start()
        self.fallback.start()

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        voiced = 0  # characters of ``text`` the cloud's audio already covered
        try:
            async for chunk in self.primary.synthesize(text):
                voiced = max(voiced, chunk.voiced_chars)
                yield chunk
            return
        except ProviderError as failure:
            log.warning(
                "tts.failover", provider=self.primary.name, to=self.fallback.name, reason=str(failure)
            )
            PROVIDER_FAILOVERS.labels("text_to_speech", self.primary.name).inc()
            self.failovers += 1
        rest = remainder(text, voiced)
        if rest:
            async for chunk in self.fallback.synthesize(rest):
                yield chunk

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.fallback.aclose()


def remainder(text: str, voiced: int) -> str:
    """What is left to say after ``voiced`` characters, from the start of the word they ended in."""
    if voiced <= 0:
        return text
    if voiced >= len(text.rstrip()):
        return ""
    start = max(text.rfind(" ", 0, voiced + 1), 0)
    return text[start:].strip()
