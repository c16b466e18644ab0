"""Engine-side overhead of the cloud speech adapters per audio chunk, against WebSocket servers on 127.0.0.1.

- deepgram: from ``stream.send(frame)`` (a 20 ms frame on the listening path) to its bytes handed to the
  socket (``ws.send`` returned): the wake-up of the sender task, the bytes, the WebSocket framing.
- elevenlabs: from an audio message received (``ws.recv`` returned) to its 20 ms frames at the output rate
  (base64, PCM decoding, the chunk, and the OutputConditioner's resampling to 48 kHz).

The servers do nothing but take the audio (Deepgram) or send recorded-size audio messages (ElevenLabs), so
what is measured is the engine's own work, not a provider's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from adapters.deepgram_stt import DeepgramSpeechToText
from adapters.elevenlabs_tts import ElevenLabsTextToSpeech
from engine.audio import AudioFrame
from engine.resample import OutputConditioner
from taina.settings import Settings

TARGET_MEDIAN_US = 100.0


async def _deepgram_sink(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        await _answer_finalize(ws)


async def _answer_finalize(ws: ServerConnection) -> None:
    async for message in ws:
        if isinstance(message, str) and "Finalize" in message:
            await ws.send(json.dumps({"type": "Results", "is_final": True, "from_finalize": True,
                                      "channel": {"alternatives": [{"transcript": "hola"}]}}))  # fmt: skip


async def _elevenlabs_voice(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):  # the last connection opened ahead is closed unused
        await _speak(ws)


async def _speak(ws: ServerConnection) -> None:
    chunk = base64.b64encode(
        np.zeros(1_920, "<i2").tobytes()
    ).decode()  # 80 ms at 24 kHz, as ElevenLabs sends
    async for message in ws:
        if json.loads(message).get("text") == "":
            for _ in range(40):
                await ws.send(json.dumps({"audio": chunk, "isFinal": None,
                                          "alignment": {"chars": list("hola"), "charStartTimesMs": [0, 1, 2, 3],
                                                        "charDurationsMs": [1, 1, 1, 1]}}))  # fmt: skip
            await ws.send(json.dumps({"isFinal": True}))
            await ws.close()
            return


def _timed(
    call: Callable[..., Awaitable[Any]], marks: list[float], done: asyncio.Event | None = None
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await call(*args, **kwargs)
        marks.append(time.perf_counter())
        if done is not None:
            done.set()
        return result

    return wrapper


async def _deepgram(chunks: int) -> list[float]:
    async with serve(_deepgram_sink, "127.0.0.1", 0, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1] if server.sockets else 0
        env = {"DEEPGRAM_API_KEY": "k", "DEEPGRAM_URL": f"ws://127.0.0.1:{port}/v1/listen"}
        stt = DeepgramSpeechToText(Settings.from_env(env).deepgram)
        stt.start()
        async with asyncio.timeout(10):
            await stt.connected.wait()  # connected ahead, as in a call
        assert stt._ws is not None
        sent: list[float] = []
        went_out = asyncio.Event()
        stt._ws.send = _timed(stt._ws.send, sent, went_out)  # type: ignore[method-assign,assignment]
        frame = AudioFrame(np.zeros(320, np.int16), 16_000)
        overheads: list[float] = []
        stream = stt.open()
        for _ in range(chunks):
            went_out.clear()
            start = time.perf_counter()
            await stream.send(frame)
            await went_out.wait()  # the sender task runs at the next loop turn, as in a call
            overheads.append((sent[-1] - start) * 1e6)
            await asyncio.sleep(0.001)
        await stream.finish()
        await stt.aclose()
    return overheads


async def _elevenlabs(sentences: int) -> list[float]:
    async with serve(_elevenlabs_voice, "127.0.0.1", 0, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1] if server.sockets else 0
        env = {"ELEVENLABS_API_KEY": "k", "ELEVENLABS_URL": f"ws://127.0.0.1:{port}"}
        tts = ElevenLabsTextToSpeech(Settings.from_env(env).elevenlabs)
        received: list[float] = []
        connect = tts._connect

        async def timed_connect() -> Any:
            ws = await connect()
            ws.recv = _timed(ws.recv, received)  # type: ignore[method-assign,assignment]
            return ws

        tts._connect = timed_connect  # type: ignore[method-assign]
        tts.start()
        output = OutputConditioner(48_000, 20)
        overheads: list[float] = []
        for _ in range(sentences):
            async for chunk in tts.synthesize("Hola, ¿en qué le puedo ayudar?"):
                frames = output.push(chunk.samples, chunk.sample_rate)
                assert frames
                overheads.append((time.perf_counter() - received[-1]) * 1e6)
        await tts.aclose()
    return overheads


def run(runs: int | None) -> dict[str, Any]:
    from taina.logs import configure_logging

    configure_logging(Settings.from_env({"TAINA_LOG_LEVEL": "warning"}).log)
    chunks = runs or 2_000
    deepgram = asyncio.run(_deepgram(chunks))
    elevenlabs = asyncio.run(_elevenlabs(max(1, chunks // 40)))
    dg, el = float(np.median(deepgram)), float(np.median(elevenlabs))
    return {
        "benchmark": "adapters",
        "deepgram_chunks": len(deepgram),
        "deepgram_frame_to_socket_median_us": round(dg, 1),
        "deepgram_frame_to_socket_p95_us": round(float(np.percentile(deepgram, 95)), 1),
        "elevenlabs_messages": len(elevenlabs),
        "elevenlabs_message_to_frames_median_us": round(el, 1),
        "elevenlabs_message_to_frames_p95_us": round(float(np.percentile(elevenlabs, 95)), 1),
        "target_median_us": TARGET_MEDIAN_US,
        "meets_target": dg <= TARGET_MEDIAN_US and el <= TARGET_MEDIAN_US,
    }
