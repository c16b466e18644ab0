"""End of speech to Deepgram transcript when Deepgram finalizes by itself first, as the real service usually does.

Against the fake Deepgram in its ``finalizes_first`` mode (its own endpointing, 300 ms, finalizes the utterance;
a Finalize with nothing buffered goes unanswered): 0.6 s of speech then the 440 ms of silence the engine's
endpointer waits for, paced in real time, then ``finish()``. A turn that waits for a Finalize answer instead
runs into ``finalize_timeout_s`` (1.5 s) and falls back to Whisper (counted as ``fallbacks``; Whisper's own
time is not included).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from adapters.deepgram_stt import DeepgramSpeechToText
from engine.audio import AudioFrame
from engine.ports.speech import ProviderError
from taina.settings import Settings
from tests.support.fake_deepgram import KEY, FakeDeepgram

FRAME = 320


async def _turns(runs: int) -> tuple[list[float], int]:
    fake = await FakeDeepgram(
        transcripts=["¿Cuánto cuesta la consulta?"] * runs, finalizes_first=True
    ).start()
    env = {"DEEPGRAM_API_KEY": KEY, "DEEPGRAM_URL": fake.url, "TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S": "1.5"}
    stt = DeepgramSpeechToText(Settings.from_env(env).deepgram)
    stt.start()
    rng = np.random.default_rng(1)
    speech = rng.normal(0, 3000, 30 * FRAME).astype(np.int16)
    silence = np.zeros(FRAME, dtype=np.int16)
    latencies, fallbacks = [], 0
    for _ in range(runs):
        stream = stt.open()
        start = time.monotonic()
        for i in range(30):
            await stream.send(AudioFrame(speech[i * FRAME : (i + 1) * FRAME], 16_000))
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
        ended = time.monotonic()
        for i in range(22):  # 440 ms
            await stream.send(AudioFrame(silence, 16_000))
            await asyncio.sleep(max(0.0, ended + (i + 1) * 0.02 - time.monotonic()))
        try:
            await stream.finish()
        except ProviderError:
            fallbacks += 1
        latencies.append((time.monotonic() - ended) * 1000)
        await asyncio.sleep(0.1)
    await stt.aclose()
    await fake.stop()
    return latencies, fallbacks


def run(runs: int | None) -> dict[str, Any]:
    latencies, fallbacks = asyncio.run(_turns(runs or 10))
    return {
        "turns": len(latencies),
        "end_of_speech_to_transcript_median_ms": round(float(np.median(latencies)), 1),
        "end_of_speech_to_transcript_max_ms": round(float(np.max(latencies)), 1),
        "fallbacks_to_whisper": fallbacks,
    }
