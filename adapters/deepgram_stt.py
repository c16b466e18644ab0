"""Deepgram live transcription over a raw WebSocket: one connection per call, opened when the call starts.

Each utterance's audio (16 kHz linear16, one 20 ms frame per binary message) goes out through one sender task,
so the listening path never waits on the network. KeepAlive is sent while the caller is silent. When the
engine's endpointer ends the turn, the utterance is over at once if Deepgram has already finalized it by itself
(its own endpointing, 300 ms, usually comes before the engine's): a ``speech_final`` Results or an UtteranceEnd
with no words heard since. Otherwise Finalize is sent and the Results that answer it (``from_finalize``) close
the utterance (Deepgram does not answer a Finalize with nothing buffered, so one is never sent then). Its final
segments are the transcript. Interim results are passed on as they come.

If the socket closes in the middle of an utterance, the adapter reconnects (with backoff, a bounded number of
times) and sends the utterance's audio again. A refused handshake, a stall past the deadline, malformed
messages or too many reconnects raise ProviderError from ``finish``, and the caller fails over.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import structlog
import websockets
from websockets.asyncio.client import ClientConnection

from engine.audio import PROCESSING_RATE, AudioFrame
from engine.options import Section, knob
from engine.ports.speech import ProviderError, Transcript


class DeepgramSettings(Section):
    prefix: ClassVar[str] = "TAINA_DEEPGRAM"
    api_key: str = knob(
        "",
        "Deepgram API key: speech-to-text is Deepgram's when it is set.",
        env="DEEPGRAM_API_KEY",
        secret=True,
    )
    url: str = knob(
        "wss://api.deepgram.com/v1/listen",
        "Deepgram's live transcription WebSocket.",
        env="DEEPGRAM_URL",
        form=(r"^wss?://", "be a ws:// or wss:// URL"),
    )
    model: str = knob("nova-3", "Deepgram model.")
    language: Literal["es", "es-419", "multi"] = knob("es", "es, es-419 or multi.")
    endpointing_ms: int = knob(
        300, "Deepgram's own endpointing, in ms (the engine's endpointer finalizes first).", ge=10, le=5_000
    )
    utterance_end_ms: int = knob(
        1_000, "Deepgram's UtteranceEnd gap, in ms (at least 1000).", ge=1_000, le=5_000
    )
    smart_format: bool = knob(True, "Numbers, dates and punctuation formatted by Deepgram.")
    keyterms: tuple[str, ...] = knob(
        (),
        "Comma-separated names Deepgram should expect: doctors, sites, insurers (nova-3 keyterm); empty: the "
        "clinic's own (taina/clinic/keyterms.py).",
    )
    keepalive_s: float = knob(
        4.0, "KeepAlive sent after this long without audio, in s (Deepgram closes after ~10 s).", ge=0.5, le=9
    )
    finalize_timeout_s: float = knob(
        1.5,
        "Longest wait for the final transcript after Finalize, in s; then the turn fails over to Whisper.",
        ge=0.1,
        le=10,
    )
    connect_timeout_s: float = knob(3.0, "Longest wait for the WebSocket handshake, in s.", ge=0.1, le=30)
    reconnects: int = knob(
        2, "Reconnections tried within one utterance (its audio is sent again).", ge=0, le=10
    )


log = structlog.get_logger("taina.deepgram")


def listen_url(settings: DeepgramSettings, sample_rate: int = PROCESSING_RATE) -> str:
    query: list[tuple[str, str]] = [
        ("model", settings.model),
        ("language", settings.language),
        ("encoding", "linear16"),
        ("sample_rate", str(sample_rate)),
        ("channels", "1"),
        ("interim_results", "true"),
        ("endpointing", str(settings.endpointing_ms)),
        ("utterance_end_ms", str(settings.utterance_end_ms)),
        ("vad_events", "true"),
        ("smart_format", "true" if settings.smart_format else "false"),
        ("punctuate", "true"),
        ("mip_opt_out", "true"),
    ]
    query += [("keyterm", term) for term in settings.keyterms]
    return f"{settings.url}?{urlencode(query)}"


class DeepgramStream:
    """One utterance on the call's connection."""

    def __init__(self, owner: DeepgramSpeechToText, on_interim: Callable[[str], None] | None) -> None:
        self._owner = owner
        self.on_interim = on_interim
        self.audio: list[bytes] = []  # all of it, kept for a replay after a reconnect
        self.sent = 0  # chunks of ``audio`` sent on connection ``generation``
        self.generation = 0
        self.reconnects = 0
        self.finals: list[str] = []
        self.finalize_sent = False  # finish() asked for it
        self.finalize_delivered = False  # ... and it went out on connection ``generation``
        self.settled = (
            False  # Deepgram finalized everything heard so far by itself (speech_final, UtteranceEnd)
        )
        self.done = asyncio.Event()
        self.failure: ProviderError | None = None

    async def send(self, frame: AudioFrame) -> None:
        self.audio.append(frame.samples.tobytes())
        self._owner.wake()

    def speech_paused(self) -> None:
        """Deepgram transcribes continuously; nothing to start."""

    def speech_resumed(self) -> None:
        """Nothing was started on the pause."""

    async def finish(self) -> Transcript:
        if self.settled and self.failure is None:  # nothing is buffered: a Finalize would go unanswered
            self.done.set()
        self.finalize_sent = True
        self._owner.wake()
        timeout = self._owner.settings.finalize_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await self.done.wait()
        except TimeoutError:
            self.fail(ProviderError(f"deepgram: no final transcript within {timeout:g} s of Finalize"))
            self._owner.reset("stalled")
        finally:
            self._owner.release(self)
        if self.failure is not None:
            raise self.failure
        return Transcript(" ".join(self.finals).strip(), self._owner.settings.language)

    async def aclose(self) -> None:
        self._owner.release(self)

    def fail(self, failure: ProviderError) -> None:
        if self.failure is None and not self.done.is_set():
            self.failure = failure
        self.done.set()


class DeepgramSpeechToText:
    name = "deepgram"

    def __init__(self, settings: DeepgramSettings, sample_rate: int = PROCESSING_RATE) -> None:
        self.settings = settings
        self._url = listen_url(settings, sample_rate)
        self._wake = asyncio.Event()
        self._control: list[str] = []  # KeepAlive
        self._ws: ClientConnection | None = None
        self._generation = 0  # connections made so far; an utterance sent on an older one is sent again
        self._utterance: DeepgramStream | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_sent = time.monotonic()
        self._closed = False
        self.connections = 0  # handshakes made (tests and logs)
        self.connected = asyncio.Event()  # set once the first connection is up

    # -- the port ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._send_loop(), name="deepgram-send"),
                asyncio.create_task(self._keep_alive(), name="deepgram-keepalive"),
            ]
            self.wake()  # connect now, ahead of the first utterance

    def open(self, on_interim: Callable[[str], None] | None = None) -> DeepgramStream:
        self.start()
        stream = DeepgramStream(self, on_interim)
        if self._utterance is not None:
            self._utterance.fail(
                ProviderError("deepgram: a new utterance began before the last one finished")
            )
        self._utterance = stream
        return stream

    async def aclose(self) -> None:
        self._closed = True
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.send(json.dumps({"type": "CloseStream"}))
                async with asyncio.timeout(1.0):
                    await ws.wait_closed()
            except (websockets.ConnectionClosed, TimeoutError, OSError):
                pass  # the call is over; the server will drop the socket on its side
            await ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- used by the streams ----------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def release(self, stream: DeepgramStream) -> None:
        if self._utterance is stream:
            self._utterance = None

    def reset(self, reason: str) -> None:
        """Drop the connection (stalled or garbled): the next utterance connects afresh."""
        ws, self._ws = self._ws, None
        if ws is not None:
            log.warning("deepgram.reset", reason=reason)
            self._tasks.append(asyncio.create_task(_close(ws), name="deepgram-reset"))

    # -- the connection ---------------------------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        headers = {"Authorization": f"Token {self.settings.api_key}"}
        try:
            ws = await websockets.connect(
                self._url, additional_headers=headers, open_timeout=self.settings.connect_timeout_s,
                max_size=2**20, ping_interval=None,
            )  # fmt: skip
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            why = " (rate limited: too many requests or streams)" if status == 429 else ""
            raise ProviderError(f"deepgram refused the connection: HTTP {status}{why}") from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise ProviderError(
                f"deepgram: cannot connect to {self.settings.url}: {exc or type(exc).__name__}"
            ) from None
        self.connections += 1
        self._generation += 1
        self._ws = ws
        self.connected.set()
        self._tasks.append(asyncio.create_task(self._read(ws), name="deepgram-read"))
        log.info("deepgram.connected", connections=self.connections)
        return ws

    async def _send_loop(self) -> None:
        """Whatever is due goes out: the open utterance's unsent audio and Finalize, then KeepAlive."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            utterance = self._utterance
            if utterance is not None and utterance.done.is_set():
                continue  # finished or failed over: nothing more to send for it
            try:
                await self._flush(utterance)
            except ProviderError as failure:
                log.warning("deepgram.unavailable", error=str(failure))
                if utterance is not None:
                    utterance.fail(failure)

    async def _flush(self, utterance: DeepgramStream | None) -> None:
        while True:
            ws = self._ws
            if ws is None:
                if utterance is not None and utterance.generation:
                    utterance.reconnects += 1
                    if utterance.reconnects > self.settings.reconnects:
                        raise ProviderError(
                            f"deepgram: connection lost {utterance.reconnects} times in one utterance"
                        )
                    await asyncio.sleep(0.1 * 2 ** (utterance.reconnects - 1))
                ws = await self._connect()
            try:
                if utterance is not None:
                    if (
                        utterance.generation != self._generation
                    ):  # a new connection: the utterance from the top
                        if utterance.generation:
                            log.info("deepgram.replaying", chunks=len(utterance.audio))
                        utterance.generation, utterance.sent, utterance.finalize_delivered = (
                            self._generation,
                            0,
                            False,
                        )
                    while utterance.sent < len(utterance.audio):
                        await ws.send(utterance.audio[utterance.sent])
                        utterance.sent += 1
                    if utterance.finalize_sent and not utterance.finalize_delivered:
                        await ws.send(json.dumps({"type": "Finalize"}))
                        utterance.finalize_delivered = True
                while self._control:
                    await ws.send(self._control.pop(0))
                self._last_sent = time.monotonic()
                return
            except websockets.ConnectionClosed:
                if self._ws is ws:
                    self._ws = None
                if utterance is None:
                    return  # reconnect when there is something to say

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self.settings.keepalive_s / 4))
            idle = time.monotonic() - self._last_sent
            if self._ws is not None and self._utterance is None and idle >= self.settings.keepalive_s:
                self._last_sent = time.monotonic()
                self._control.append(json.dumps({"type": "KeepAlive"}))
                self.wake()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    raise ProviderError("deepgram sent binary data on a text channel")
                self._handle(_parse(message))
        except ProviderError as failure:
            log.warning("deepgram.bad_message", error=str(failure))
            if self._utterance is not None:
                self._utterance.fail(failure)
            if self._ws is ws:
                self.reset("malformed message")
            return
        except websockets.ConnectionClosed:
            pass
        if self._ws is ws:
            self._ws = None
        utterance = self._utterance
        if not self._closed and utterance is not None and not utterance.done.is_set():
            log.warning("deepgram.closed_mid_utterance", code=ws.close_code, reason=ws.close_reason)
            self.wake()  # reconnect and send the utterance again

    def _handle(self, message: dict[str, Any]) -> None:
        utterance = self._utterance
        kind = message.get("type")
        if utterance is None:
            return
        if kind == "UtteranceEnd":  # a gap after the last word: what was heard is final (if it came)
            utterance.settled = bool(utterance.finals) or utterance.settled
            return
        if kind != "Results":
            return  # SpeechStarted, Metadata: the engine's own VAD decides turns
        try:
            text = str(message["channel"]["alternatives"][0]["transcript"])
        except (KeyError, IndexError, TypeError):
            raise ProviderError("deepgram sent Results without channel.alternatives[0].transcript") from None
        if message.get("is_final"):
            if text:
                utterance.finals.append(text)
            if message.get("from_finalize") and utterance.finalize_delivered:
                utterance.done.set()
            elif message.get("speech_final"):  # Deepgram's own endpointing finalized it
                utterance.settled = True
                if utterance.finalize_sent:
                    utterance.done.set()
        elif text:
            utterance.settled = False  # words after the last final: a Finalize is needed for them
            if utterance.on_interim is not None:
                utterance.on_interim(" ".join([*utterance.finals, text]))


async def _close(ws: ClientConnection) -> None:
    await ws.close()


def _parse(message: str) -> dict[str, Any]:
    try:
        parsed = json.loads(message)
    except ValueError:
        raise ProviderError(f"deepgram sent a message that is not JSON: {message[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise ProviderError("deepgram sent a message that is not a JSON object")
    return parsed
