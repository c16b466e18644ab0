"""A local ElevenLabs stream-input server for the tests, speaking the protocol in ../shared/protocols.md.

It answers as the real service does, and no more kindly:

- a wrong key is not refused at the handshake: the WebSocket opens, then the server closes it with 1008
  (policy violation) and a reason; bad query parameters are refused with 400;
- it checks the message order and shapes (BOS with voice settings and a chunk length schedule first; text
  pieces ending in a space; flush; EOS) and closes a socket idle past its inactivity timeout;
- it generates as soon as its buffered text reaches the next length of the chunk length schedule (or on a
  flush, or at EOS), so audio may arrive before the client has sent the end of its input;
- audio comes as base64 PCM at the asked rate, several messages per generation, each with the alignment of
  the characters it voices, their times counted from the start of THAT message's audio; then isFinal, then
  it closes.

The "voice" is a tone, 20 ms a character, its phase running on across the whole connection (so no two
messages carry the same samples). Fault modes: refuse (HTTP 503 at the handshake), close_mid_sentence
(no close frame), stall, malformed JSON, odd_audio, quota (an in-band quota_exceeded error, then a 1008
close) and server_error (a 1008 close with a reason and no in-band message), the last two after two audio
messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

KEY = "el-test-key"
MS_PER_CHAR = 20
CHARS_PER_MESSAGE = 4
WRONG_KEY_REASON = "Invalid API key"
QUOTA_MESSAGE = (
    "This request exceeds your quota of 10000. You have 12 credits remaining, while 51 credits are "
    "required for this request."
)
SERVER_ERROR_REASON = "We are sorry, something went wrong. You are not charged for this request."


@dataclass
class _Connection:
    rate: int
    schedule: list[int] = field(default_factory=lambda: [120, 160, 250, 290])
    generations: int = 0  # how many times the buffer went to the "model"
    messages: int = 0  # audio messages sent
    samples: int = 0  # audio samples sent (the tone's phase)


@dataclass
class FakeElevenLabs:
    fault: str = ""  # see the module's docstring
    sticky: bool = False
    first_audio_delay_s: float = 0.03
    connections: int = 0
    sentences: list[str] = field(default_factory=list)
    keepalives: int = 0
    violations: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # "text", "flush", "eos", "audio", "final": wire order
    sent_audio: list[bytes] = field(default_factory=list)  # every audio message's PCM, in the order sent
    sent_alignments: list[dict[str, list[object]]] = field(default_factory=list)
    server: Server | None = None
    url: str = ""

    async def start(self) -> FakeElevenLabs:
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check, max_queue=None)
        port = self.server.sockets[0].getsockname()[1] if self.server.sockets else 0
        self.url = f"ws://127.0.0.1:{port}"
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
        if self._take_fault("refuse"):
            return _response(503, {"detail": {"status": "service_unavailable", "message": "Try again later"}})
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = parts.path.split("/")
        problems = []
        if len(segments) != 5 or segments[1:3] != ["v1", "text-to-speech"] or segments[4] != "stream-input":
            problems.append(f"path {parts.path}")
        if query.get("output_format") not in ("pcm_16000", "pcm_24000") or not query.get("model_id"):
            problems.append("output_format or model_id")
        if not 5 <= int(query.get("inactivity_timeout", "20")) <= 180:
            problems.append("inactivity_timeout")
        if problems:
            self.violations += problems
            return _response(400, {"detail": {"status": "invalid_request", "message": "; ".join(problems)}})
        return None  # a wrong key too: the service accepts the socket and closes it (see _handle)

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        request = ws.request
        if request is None or request.headers.get("xi-api-key") != KEY:
            await ws.close(1008, WRONG_KEY_REASON)
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        state = _Connection(rate=int(query["output_format"].removeprefix("pcm_")))
        idle = float(query.get("inactivity_timeout", "20"))
        text = ""  # the whole input, for ``sentences``
        pending = ""  # the input not yet generated
        first = True
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), idle)
            except TimeoutError:
                await ws.close(1008, "Have not received a new text input within the timeout")
                return
            except Exception:
                return
            try:
                data = json.loads(message)
            except ValueError:
                self.violations.append(f"not JSON: {message[:40]!r}")
                continue
            if first:
                first = False
                schedule = data.get("generation_config", {}).get("chunk_length_schedule", [])
                if data.get("text") != " " or "voice_settings" not in data or not schedule:
                    self.violations.append(f"the first message is not a BOS: {data}")
                if not all(isinstance(v, int) and 50 <= v <= 500 for v in schedule):
                    self.violations.append(f"chunk_length_schedule {schedule}")
                elif schedule:
                    state.schedule = schedule
                continue
            if "voice_settings" in data or "generation_config" in data:
                self.violations.append("voice settings after the first message")
            piece = data.get("text")
            if not isinstance(piece, str):
                self.violations.append(f"a message without text: {data}")
                continue
            if piece == "":  # EOS: whatever is left is generated, then isFinal, then the socket closes
                self.events.append("eos")
                self.sentences.append(text.strip())
                if await self._generate(ws, state, pending.rstrip()):
                    self.events.append("final")
                    await ws.send(json.dumps({"isFinal": True}))
                    await ws.close()
                return
            if piece == " " and not data.get("flush"):
                self.keepalives += 1
                continue
            if not piece.endswith(" "):
                self.violations.append(f"text that does not end with a space: {piece!r}")
            text += piece
            pending += piece
            self.events.append("flush" if data.get("flush") else "text")
            if data.get("flush") or data.get("try_trigger_generation"):
                ready, pending = (pending.rstrip(), "") if data.get("flush") else (pending, "")
            elif len(pending) >= state.schedule[min(state.generations, len(state.schedule) - 1)]:
                ready, pending = pending, ""  # the schedule's next length is reached: generate now
            else:
                continue
            if not await self._generate(ws, state, ready):
                return

    async def _generate(self, ws: ServerConnection, state: _Connection, text: str) -> bool:
        """Voices ``text`` in several audio messages; False when a fault ended the connection."""
        if not text.strip():
            return True
        state.generations += 1
        if self._take_fault("stall"):
            await ws.wait_closed()  # never answers; the client gives up and hangs up
            return False
        await asyncio.sleep(self.first_audio_delay_s)
        if self._take_fault("malformed"):
            await ws.send('{"audio": "AAAA", "isFinal": nul')
            return False
        chars = list(text)
        for index in range(0, len(chars), CHARS_PER_MESSAGE):
            voiced = chars[index : index + CHARS_PER_MESSAGE]
            if state.messages >= 2 and self._take_fault("close_mid_sentence"):  # after two messages
                ws.transport.abort()
                return False
            if state.messages >= 2 and self._take_fault("quota"):
                error = {"message": QUOTA_MESSAGE, "error": "quota_exceeded", "code": 1008}
                await ws.send(json.dumps(error))
                await ws.close(1008, QUOTA_MESSAGE[:120])
                return False
            if state.messages >= 2 and self._take_fault("server_error"):
                await ws.close(1008, SERVER_ERROR_REASON)
                return False
            count = state.rate * MS_PER_CHAR * len(voiced) // 1000
            phase = np.arange(state.samples, state.samples + count)
            audio = (np.sin(phase * 0.07) * 8000).astype("<i2").tobytes()
            state.samples += count
            if self._take_fault("odd_audio"):
                audio = audio[:-1]
            alignment: dict[str, list[object]] = {
                "chars": list(voiced),
                "charStartTimesMs": [
                    i * MS_PER_CHAR for i in range(len(voiced))
                ],  # from THIS message's start
                "charDurationsMs": [MS_PER_CHAR] * len(voiced),
            }
            self.events.append("audio")
            self.sent_audio.append(audio)
            self.sent_alignments.append(alignment)
            state.messages += 1
            await ws.send(json.dumps({"audio": base64.b64encode(audio).decode(), "isFinal": None,
                                      "normalizedAlignment": alignment, "alignment": alignment}))  # fmt: skip
            await asyncio.sleep(0.005)
        return True


def _response(status: int, body: dict[str, object]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)
