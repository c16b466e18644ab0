"""A local ElevenLabs stream-input server for the tests, speaking the protocol in ../shared/protocols.md.

It refuses a wrong key (401) and bad query parameters (400), checks the message order and shapes (BOS with
voice settings and a chunk length schedule first; text pieces ending in a space; flush; EOS), closes a socket
idle past its inactivity timeout, and answers as ElevenLabs does: base64 PCM at the asked rate in chunks with
the alignment of the characters they voice, then isFinal, then it closes. The "voice" is a tone, 20 ms a
character. Fault modes: refuse, close mid-sentence, stall, malformed JSON, audio of an odd length.
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


@dataclass
class FakeElevenLabs:
    fault: str = ""  # "refuse" | "close_mid_sentence" | "stall" | "malformed" | "odd_audio"
    sticky: bool = False
    first_audio_delay_s: float = 0.03
    connections: int = 0
    sentences: list[str] = field(default_factory=list)
    keepalives: int = 0
    violations: list[str] = field(default_factory=list)
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
        if request.headers.get("xi-api-key") != KEY or self._take_fault("refuse"):
            return _response(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
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
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        query = {k: v[0] for k, v in parse_qs(urlsplit(ws.request.path if ws.request else "").query).items()}
        rate = int(query["output_format"].removeprefix("pcm_"))
        idle = float(query.get("inactivity_timeout", "20"))
        text = ""
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
                continue
            if "voice_settings" in data or "generation_config" in data:
                self.violations.append("voice settings after the first message")
            piece = data.get("text")
            if not isinstance(piece, str):
                self.violations.append(f"a message without text: {data}")
                continue
            if piece == "":  # EOS
                self.sentences.append(text.strip())
                await self._speak(ws, text, rate)
                return
            if piece == " " and not data.get("flush"):
                self.keepalives += 1
                continue
            if not piece.endswith(" "):
                self.violations.append(f"text that does not end with a space: {piece!r}")
            text += piece

    async def _speak(self, ws: ServerConnection, text: str, rate: int) -> None:
        if self._take_fault("stall"):
            await ws.wait_closed()  # never answers; the client gives up and hangs up
            return
        await asyncio.sleep(self.first_audio_delay_s)
        if self._take_fault("malformed"):
            await ws.send('{"audio": "AAAA", "isFinal": nul')
            return
        chars = list(text.strip())
        per_chunk = 4  # characters voiced per message
        for index in range(0, len(chars), per_chunk):
            voiced = chars[index : index + per_chunk]
            samples = (np.sin(np.arange(rate * MS_PER_CHAR * len(voiced) // 1000) * 0.07) * 8000).astype(
                "<i2"
            )
            audio = samples.tobytes()
            if index >= 2 * per_chunk and self._take_fault("close_mid_sentence"):  # after two chunks
                ws.transport.abort()
                return
            if self._take_fault("odd_audio"):
                audio = audio[:-1]
            starts = [(index + i) * MS_PER_CHAR for i in range(len(voiced))]
            alignment = {
                "chars": voiced,
                "charStartTimesMs": starts,
                "charDurationsMs": [MS_PER_CHAR] * len(voiced),
            }
            await ws.send(json.dumps({"audio": base64.b64encode(audio).decode(), "isFinal": None,
                                      "normalizedAlignment": alignment, "alignment": alignment}))  # fmt: skip
            await asyncio.sleep(0.005)
        await ws.send(json.dumps({"isFinal": True}))
        await ws.close()


def _response(status: int, body: dict[str, object]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)
