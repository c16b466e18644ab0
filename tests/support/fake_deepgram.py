"""A local Deepgram live-transcription server for the tests, speaking the protocol in ../shared/protocols.md.

It refuses what Deepgram refuses (a wrong key: 401; bad query parameters: 400), checks what the client sends
(binary linear16 audio in 20-50 ms chunks; KeepAlive, Finalize and CloseStream text frames; nothing else),
closes an idle socket as Deepgram does, and answers like Deepgram: SpeechStarted, interim Results as audio
comes in, a final Results with ``from_finalize`` after Finalize, Metadata at CloseStream. It cannot hear: the
transcripts come from a script, and silence is audio below a small energy.

With ``finalizes_first`` it behaves as the real service usually does: its own endpointing (the query's
``endpointing`` ms of silence after speech) finalizes the utterance first (``is_final`` and ``speech_final``,
not ``from_finalize``), an UtteranceEnd follows ``utterance_end_ms`` of silence after the last word, and a
Finalize with nothing buffered is not answered (``answers_empty_finalize``: answered with an empty
``from_finalize`` Results, as it sometimes is). Fault modes: refuse, close mid-utterance, stall, malformed
JSON, rate_limit (inside an open stream: closed with 1008, and handshakes refused with 429 while it lasts).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

KEY = "dg-test-key"
RATE = 16_000


@dataclass
class FakeDeepgram:
    transcripts: list[str] = field(default_factory=list)  # one per utterance; "" when the script runs out
    final_delay_s: float = 0.05
    idle_timeout_s: float = 10.0
    fault: str = (
        ""  # "refuse" | "close_mid_utterance" | "stall" | "malformed" | "rate_limit" (once, unless sticky)
    )
    finalizes_first: bool = False  # its own endpointing finalizes an utterance followed by silence
    answers_empty_finalize: bool = (
        False  # ... and a Finalize with nothing buffered gets an empty from_finalize
    )
    self_finals: int = 0
    utterance_ends: int = 0
    sticky: bool = False  # the fault repeats on every connection/utterance
    connections: int = 0
    keepalives: int = 0
    finalizes: int = 0
    closestreams: int = 0
    audio_per_connection: list[int] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    server: Server | None = None
    url: str = ""

    async def start(self) -> FakeDeepgram:
        # max_queue=None: the fake never stops reading, so a close handshake is not stuck behind unread audio.
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check, max_queue=None)
        port = self.server.sockets[0].getsockname()[1] if self.server.sockets else 0
        self.url = f"ws://127.0.0.1:{port}/v1/listen"
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _take_fault(self, name: str) -> bool:
        if self.fault != name:
            return False
        if not self.sticky:
            self.fault = ""
        return True

    def _check(self, _connection: ServerConnection, request: Request) -> Response | None:
        if self._take_fault("refuse") or request.headers.get("Authorization") != f"Token {KEY}":
            return _response(401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})
        if self.fault == "rate_limit" and self.connections:
            return _response(429, {"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests."})
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        self.queries.append(query)
        one = {k: v[0] for k, v in query.items()}
        problems = []
        if parts.path != "/v1/listen":
            problems.append(f"path {parts.path}")
        if (
            one.get("encoding") != "linear16"
            or one.get("sample_rate") != str(RATE)
            or one.get("channels") != "1"
        ):
            problems.append("audio format")
        if one.get("language") not in ("es", "es-419", "multi") or not one.get("model"):
            problems.append("model or language")
        if one.get("interim_results") != "true" or one.get("vad_events") != "true":
            problems.append("interim_results and vad_events")
        if not one.get("endpointing", "").isdigit() or int(one.get("utterance_end_ms", "0")) < 1000:
            problems.append("endpointing / utterance_end_ms")
        if problems:
            self.violations += problems
            return _response(400, {"err_code": "Bad Request", "err_msg": "; ".join(problems)})
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.audio_per_connection.append(0)
        index = len(self.audio_per_connection) - 1
        request_id = str(uuid.uuid4())
        utterance = bytearray()
        heard_since_interim = 0
        started = False
        offset_s = 0.0
        query = {k: v[0] for k, v in parse_qs(urlsplit(ws.request.path if ws.request else "").query).items()}
        endpointing_bytes = int(query.get("endpointing", "300")) * RATE * 2 // 1000
        utterance_end_bytes = int(query.get("utterance_end_ms", "1000")) * RATE * 2 // 1000
        speech = 0  # bytes of speech in ``utterance`` (not finalized yet)
        silence = 0  # bytes of silence since the last speech
        since_word: int | None = None  # bytes since the last finalized word, until UtteranceEnd
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), self.idle_timeout_s)
            except TimeoutError:
                await ws.close(1011, "NET-0001: no audio received within the timeout")
                return
            except Exception:
                return
            if isinstance(message, bytes):
                if len(message) % 2 or not 640 <= len(message) <= 1600:
                    self.violations.append(f"audio chunk of {len(message)} bytes (20-50 ms of 16-bit audio)")
                utterance += message
                self.audio_per_connection[index] += len(message)
                if self.finalizes_first and _silent(message):
                    silence += len(message)
                    if since_word is not None:
                        since_word += len(message)
                        if since_word >= utterance_end_bytes:
                            since_word = None
                            self.utterance_ends += 1
                            end = offset_s + len(utterance) / (RATE * 2)
                            await ws.send(json.dumps({"type": "UtteranceEnd", "channel": [0, 1],
                                                      "last_word_end": end}))  # fmt: skip
                    if speech and silence >= endpointing_bytes:  # its own endpointing: a final, unasked
                        self.self_finals += 1
                        text = self.transcripts.pop(0) if self.transcripts else ""
                        results = self._results(text, offset_s, len(utterance), True, request_id)
                        await ws.send(json.dumps({**results, "from_finalize": False}))
                        offset_s += len(utterance) / (RATE * 2)
                        utterance.clear()
                        speech, started, heard_since_interim, since_word = 0, False, 0, silence
                    continue
                speech += len(message)
                silence = 0
                heard_since_interim += len(message)
                if not started:
                    started = True
                    await ws.send(
                        json.dumps({"type": "SpeechStarted", "channel": [0, 1], "timestamp": offset_s})
                    )
                if self.fault == "close_mid_utterance" and len(utterance) >= RATE:  # after 0.5 s of audio
                    self._take_fault("close_mid_utterance")
                    ws.transport.abort()  # the socket drops, no closing handshake
                    return
                if self.fault == "rate_limit" and len(utterance) >= RATE:
                    await ws.close(1008, "TOO_MANY_REQUESTS: rate limit exceeded for this project")
                    return
                if heard_since_interim >= RATE * 2 * 3 // 10:  # an interim every 300 ms of audio
                    heard_since_interim = 0
                    words = (self.transcripts[0] if self.transcripts else "").split()
                    partial = " ".join(words[: max(1, len(utterance) // (RATE * 2 // 3))])
                    await ws.send(
                        json.dumps(self._results(partial, offset_s, len(utterance), False, request_id))
                    )
                continue
            try:
                control = json.loads(message)
            except ValueError:
                self.violations.append(f"text frame that is not JSON: {message[:40]!r}")
                continue
            kind = control.get("type") if isinstance(control, dict) else None
            if kind == "KeepAlive":
                self.keepalives += 1
            elif kind == "Finalize":
                self.finalizes += 1
                if self._take_fault("stall"):
                    continue
                await asyncio.sleep(self.final_delay_s)
                if self.finalizes_first and not speech:  # nothing buffered
                    if self.answers_empty_finalize:
                        results = self._results("", offset_s, 0, True, request_id)
                        await ws.send(json.dumps({**results, "speech_final": False}))
                    continue
                if self._take_fault("malformed"):
                    await ws.send('{"type": "Results", "channel": {"alternatives": [')
                    continue
                text = self.transcripts.pop(0) if self.transcripts else ""
                await ws.send(json.dumps(self._results(text, offset_s, len(utterance), True, request_id)))
                offset_s += len(utterance) / (RATE * 2)
                utterance.clear()
                started, speech, silence = False, 0, 0
            elif kind == "CloseStream":
                self.closestreams += 1
                await ws.send(json.dumps({"type": "Metadata", "transaction_key": "deprecated", "request_id": request_id,
                                          "sha256": "0" * 64, "created": "2026-11-25T09:00:00.000Z",
                                          "duration": offset_s, "channels": 1, "models": ["fake"],
                                          "model_info": {}}))  # fmt: skip
                await ws.close()
                return
            else:
                self.violations.append(f"unknown control message {message[:60]!r}")

    @staticmethod
    def _results(text: str, start: float, size: int, final: bool, request_id: str) -> dict[str, Any]:
        words = [{"word": w.lower().strip("¿?¡!.,"), "start": start, "end": start + 0.3, "confidence": 0.98,
                  "punctuated_word": w} for w in text.split()]  # fmt: skip
        return {
            "type": "Results", "channel_index": [0, 1], "start": start, "duration": size / (RATE * 2),
            "is_final": final, "speech_final": final, "from_finalize": final,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.98 if text else 0.0, "words": words}]},
            "metadata": {"request_id": request_id, "model_info": {"name": "fake-nova-3", "version": "0", "arch": "fake"},
                         "model_uuid": "00000000-0000-0000-0000-000000000000"},
        }  # fmt: skip


def _silent(chunk: bytes) -> bool:
    samples = np.frombuffer(chunk, dtype=np.int16).astype(np.float64)
    return bool(samples.size == 0 or np.sqrt(np.mean(samples**2)) < 300)


def _response(status: int, body: dict[str, str]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)
