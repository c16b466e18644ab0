"""ElevenLabs streaming text-to-speech over raw WebSockets (stream-input), one connection per sentence, the
next one always opened ahead.

A call keeps one connection open and idle, its BOS (voice settings, chunk length schedule) already sent and
kept alive within the inactivity timeout, so a sentence's first audio is never held up by a handshake. A
sentence goes out in clause-sized pieces, flushed at its end, then EOS; its base64 PCM (16 or 24 kHz) is
decoded straight into audio chunks until ``isFinal``, with the alignment telling how much of the text has been
voiced. Meanwhile the next connection opens. Cancelling a sentence closes its socket (a single-context socket
cannot cancel a generation in flight); the next one is already open.

A refused handshake, a socket closed by the service (a wrong key is accepted and then closed with 1008 and a
reason; quota and other errors come as an in-band ``{"error", "message"}`` message, then a close), no audio
in time, malformed JSON or audio of an odd length raise ProviderError naming what the service said and
carrying how many characters were voiced, so the caller can fail over for the rest.

The service may answer before the end of input (it generates whenever its buffer reaches the next length of
the chunk length schedule); those messages wait in the socket's queue and are read in order. How much was
voiced is counted from each message's alignment ``chars``, never from its times: those run from the start of
that message's audio, not of the sentence.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import numpy as np
import structlog
import websockets
from pydantic import field_validator
from websockets.asyncio.client import ClientConnection

from engine.audio import AudioChunk
from engine.options import Section, knob
from engine.ports.speech import ProviderError


class ElevenLabsSettings(Section):
    prefix: ClassVar[str] = "TAINA_ELEVENLABS"
    api_key: str = knob(
        "",
        "ElevenLabs API key: text-to-speech is ElevenLabs' when it is set.",
        env="ELEVENLABS_API_KEY",
        secret=True,
    )
    url: str = knob(
        "wss://api.elevenlabs.io",
        "ElevenLabs' WebSocket origin.",
        env="ELEVENLABS_URL",
        form=(r"^wss?://", "be a ws:// or wss:// URL"),
    )
    voice_id: str = knob("21m00Tcm4TlvDq8ikWAM", "The voice.", env="ELEVENLABS_VOICE_ID")
    model: str = knob("eleven_flash_v2_5", "The model.", env="ELEVENLABS_MODEL")
    output_format: Literal["pcm_16000", "pcm_24000"] = knob(
        "pcm_24000", "pcm_16000 or pcm_24000: raw 16-bit audio, decoded straight into frames."
    )
    stability: float = knob(0.5, "Voice stability, 0-1.", ge=0, le=1)
    similarity_boost: float = knob(0.75, "Voice similarity boost, 0-1.", ge=0, le=1)
    speed: float = knob(1.0, "Speaking speed, 0.7-1.2.", ge=0.7, le=1.2)
    chunk_length_schedule: tuple[str, ...] = knob(
        ("120", "160", "250", "290"), "Characters buffered before each generation (50-500 each)."
    )
    inactivity_timeout_s: int = knob(
        20, "Server-side inactivity timeout of a connection, in s (up to 180).", ge=5, le=180
    )
    first_audio_timeout_s: float = knob(
        2.0,
        "Longest wait for a sentence's first audio, in s; then the sentence fails over to espeak-ng.",
        ge=0.1,
        le=30,
    )
    stall_timeout_s: float = knob(
        2.0, "Longest gap between two audio messages of one sentence, in s.", ge=0.1, le=30
    )
    connect_timeout_s: float = knob(3.0, "Longest wait for the WebSocket handshake, in s.", ge=0.1, le=30)

    @field_validator("chunk_length_schedule")
    @classmethod
    def _schedule(cls, schedule: tuple[str, ...]) -> tuple[str, ...]:
        if not schedule or not all(v.isdigit() and 50 <= int(v) <= 500 for v in schedule):
            raise ValueError("TAINA_ELEVENLABS_CHUNK_LENGTH_SCHEDULE must be numbers from 50 to 500")
        return schedule

    @property
    def sample_rate(self) -> int:
        return int(self.output_format.removeprefix("pcm_"))


log = structlog.get_logger("taina.elevenlabs")


class VoicedError(ProviderError):
    """A ProviderError that knows how much of the sentence was already voiced."""

    def __init__(self, message: str, voiced_chars: int = 0) -> None:
        super().__init__(message)
        self.voiced_chars = voiced_chars


def stream_url(settings: ElevenLabsSettings) -> str:
    query = urlencode(
        {
            "model_id": settings.model,
            "output_format": settings.output_format,
            "language_code": "es",
            "inactivity_timeout": str(settings.inactivity_timeout_s),
            "sync_alignment": "true",
            "enable_logging": "false",
        }
    )
    return f"{settings.url.rstrip('/')}/v1/text-to-speech/{settings.voice_id}/stream-input?{query}"


def clauses(text: str) -> list[str]:
    """Clause-sized pieces, each ending with a space, as the stream-input protocol wants."""
    pieces = [p for p in re.split(r"(?<=[,;:])\s+", text.strip()) if p]
    return [p + " " for p in pieces] or [" "]


class ElevenLabsTextToSpeech:
    name = "elevenlabs"

    def __init__(self, settings: ElevenLabsSettings) -> None:
        self.settings = settings
        self._url = stream_url(settings)
        self._next: asyncio.Task[ClientConnection] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.connections = 0

    def start(self) -> None:
        self._prepare()
        if self._keepalive is None:
            self._keepalive = asyncio.create_task(self._keep_alive(), name="elevenlabs-keepalive")

    async def aclose(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            await asyncio.gather(self._keepalive, return_exceptions=True)
        ready, self._next = self._next, None
        if ready is not None:
            ready.cancel()
            results = await asyncio.gather(ready, return_exceptions=True)
            if isinstance(results[0], ClientConnection):
                await results[0].close()

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        ws = await self._take()
        self._prepare()  # the next sentence's connection opens while this one speaks
        voiced = 0
        try:
            try:
                for piece in clauses(text):
                    await ws.send(json.dumps({"text": piece, "try_trigger_generation": False}))
                await ws.send(json.dumps({"text": " ", "flush": True}))
                await ws.send(json.dumps({"text": ""}))  # EOS: the server finishes the sentence and closes
            except websockets.ConnectionClosed:
                pass  # the service hung up: what it sent first (audio, an error) is read below, then its close
            timeout = self.settings.first_audio_timeout_s
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        message = await ws.recv()
                except TimeoutError:
                    raise VoicedError(f"elevenlabs: no audio for {timeout:g} s", voiced) from None
                except websockets.ConnectionClosed as closed:
                    raise VoicedError(closed_message(closed), voiced) from None
                timeout = self.settings.stall_timeout_s
                data = _parse(message, voiced)
                if data.get("audio"):
                    samples = _pcm(data["audio"], voiced)
                    voiced = min(len(text), voiced + _aligned_chars(data))
                    yield AudioChunk(samples, self.settings.sample_rate, voiced)
                if data.get("isFinal"):
                    return
                if "error" in data or ("message" in data and not data.get("audio")):
                    raise VoicedError(reported_message(data), voiced)
        finally:
            await ws.close()  # done, or cancelled (barge-in): this socket's generation stops here

    # -- connections ------------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._next is None:
            self._next = asyncio.create_task(self._connect(), name="elevenlabs-connect")

    async def _take(self) -> ClientConnection:
        self._prepare()
        assert self._next is not None
        task, self._next = self._next, None
        ws = await task
        if ws.state is not websockets.State.OPEN:  # timed out while idle: one more, now
            ws = await self._connect()
        return ws

    async def _connect(self) -> ClientConnection:
        started = time.monotonic()
        try:
            ws = await websockets.connect(
                self._url, additional_headers={"xi-api-key": self.settings.api_key},
                open_timeout=self.settings.connect_timeout_s, max_size=2**22, ping_interval=None,
            )  # fmt: skip
        except websockets.InvalidStatus as exc:
            raise ProviderError(
                f"elevenlabs refused the connection: HTTP {exc.response.status_code}"
            ) from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise ProviderError(f"elevenlabs: cannot connect: {exc or type(exc).__name__}") from None
        settings = self.settings
        bos = {
            "text": " ",
            "voice_settings": {"stability": settings.stability, "similarity_boost": settings.similarity_boost,
                               "style": 0.0, "use_speaker_boost": True, "speed": settings.speed},
            "generation_config": {"chunk_length_schedule": [int(v) for v in settings.chunk_length_schedule]},
        }  # fmt: skip
        try:
            await ws.send(json.dumps(bos))
        except websockets.ConnectionClosed as closed:
            raise ProviderError(closed_message(closed)) from None
        self.connections += 1
        log.debug("elevenlabs.connected", ms=round((time.monotonic() - started) * 1000, 1))
        return ws

    async def _keep_alive(self) -> None:
        """The idle connection gets a space well within the server's inactivity timeout."""
        interval = max(1.0, self.settings.inactivity_timeout_s / 2)
        while True:
            await asyncio.sleep(interval)
            ready = self._next
            if ready is None or not ready.done() or ready.cancelled() or ready.exception() is not None:
                continue
            try:
                await ready.result().send(json.dumps({"text": " "}))
            except websockets.ConnectionClosed:
                self._next = None
                self._prepare()


def closed_message(closed: websockets.ConnectionClosed) -> str:
    """What the service said when it closed the socket: its close code and reason."""
    if closed.rcvd is None:
        return "ElevenLabs closed the connection without a close frame"
    code, reason = closed.rcvd.code, closed.rcvd.reason
    return (
        f"ElevenLabs closed the connection ({code}: {reason})"
        if reason
        else f"ElevenLabs closed the connection ({code})"
    )


def reported_message(data: dict[str, Any]) -> str:
    """An in-band error, e.g. ``{"message": "This request exceeds your quota...", "error": "quota_exceeded",
    "code": 1008}``: its kind and its message, both."""
    kind, message = data.get("error"), data.get("message")
    parts = [str(p) for p in (kind, message) if p]
    detail = ": ".join(parts) if parts else json.dumps(data)[:200]
    code = data.get("code")
    return f"ElevenLabs reported {detail}" + (f" (code {code})" if code else "")


def _parse(message: str | bytes, voiced: int) -> dict[str, Any]:
    try:
        data = json.loads(message)
    except ValueError:
        raise VoicedError(
            f"elevenlabs sent a message that is not JSON: {str(message)[:60]!r}", voiced
        ) from None
    if not isinstance(data, dict):
        raise VoicedError("elevenlabs sent a message that is not a JSON object", voiced)
    return data


def _pcm(encoded: str, voiced: int) -> np.ndarray:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise VoicedError("elevenlabs sent audio that is not base64", voiced) from None
    if len(raw) % 2:
        raise VoicedError(f"elevenlabs sent {len(raw)} bytes of 16-bit audio (an odd length)", voiced)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


def _aligned_chars(data: dict[str, Any]) -> int:
    alignment = data.get("alignment") or {}
    chars = alignment.get("chars") if isinstance(alignment, dict) else None
    return len(chars) if isinstance(chars, list) else 0
