"""The Pipecat side of ``python -m benchmarks pipecat``: run under Pipecat's own virtual environment, on its own.

    python benchmarks/pipecat_side.py CALL.wav SESSIONS TURNS PROFILE_JSON

Each session is a Pipecat pipeline: an input transport that plays CALL.wav (16 kHz mono) in real time in
20 ms frames -> Silero VAD (Pipecat's default) -> a segmented speech-to-text -> a language model -> a
text-to-speech -> an output transport that plays 48 kHz audio in real time. The three providers are scripted
with the same latency profile, transcript and reply as the engine's side (benchmarks/profile.py, handed over in
PROFILE_JSON), and measure what they really took.
Prints one JSON object: per-turn engine-added latency and CPU per second of audio.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import wave
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputAudioRawFrame,
    StartFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams


class Turn:
    """One session's clock: when its VAD said the user stopped, what the providers took, the first audio out."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def stopped(self, at: float) -> None:
        self.rows.append({"stopped": at})

    def mark(self, key: str, value: float) -> None:
        if self.rows and key not in self.rows[-1]:
            self.rows[-1][key] = value


async def wait_ms(ms: float) -> float:
    start = time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return (time.perf_counter() - start) * 1000


class FileInput(BaseInputTransport):
    def __init__(self, audio: bytes, params: TransportParams) -> None:
        super().__init__(params)
        self._audio = audio
        self._task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        self._task = self.create_task(self._play())

    async def _play(self) -> None:
        step = 640  # 20 ms of 16 kHz 16-bit mono
        start = time.monotonic()
        for index, offset in enumerate(range(0, len(self._audio) - step + 1, step)):
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - time.monotonic()))
            await self.push_audio_frame(InputAudioRawFrame(self._audio[offset : offset + step], 16_000, 1))
        self.done.set()


class PacedOutput(BaseOutputTransport):
    """Writes audio as a sound card would: each chunk takes its own duration."""

    def __init__(self, params: TransportParams, turn: Turn) -> None:
        super().__init__(params)
        self._turn = turn
        self._due: float | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        now = time.monotonic()
        if any(frame.audio):
            self._turn.mark("first_audio", now)
        if self._due is None or self._due < now:
            self._due = now
        self._due += len(frame.audio) / 2 / frame.sample_rate
        await asyncio.sleep(max(0.0, self._due - now))
        return True


class StopWatch(FrameProcessor):
    def __init__(self, turn: Turn) -> None:
        super().__init__()
        self._turn = turn

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._turn.stopped(time.monotonic())
        await self.push_frame(frame, direction)


class ScriptedStt(SegmentedSTTService):
    def __init__(self, profile: dict[str, Any], turn: Turn) -> None:
        super().__init__(
            sample_rate=16_000, settings=STTSettings(model=None, language=None), ttfs_p99_latency=0.3
        )
        self._profile, self._turn = profile, turn

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        self._turn.mark("stt", await wait_ms(self._profile["stt_final_ms"]))
        yield TranscriptionFrame(self._profile["transcript"], "caller", "", None)


class ScriptedLlm(FrameProcessor):
    def __init__(self, profile: dict[str, Any], turn: Turn) -> None:
        super().__init__()
        self._profile, self._turn = profile, turn

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            self.create_task(self._answer())
        else:
            await self.push_frame(frame, direction)

    async def _answer(self) -> None:
        self._turn.mark("lm", await wait_ms(self._profile["lm_first_token_ms"]))
        await self.push_frame(LLMFullResponseStartFrame())
        for index, piece in enumerate(self._profile["reply"]):
            if index:
                await asyncio.sleep(self._profile["lm_piece_ms"] / 1000)
            await self.push_frame(LLMTextFrame(piece))
        await self.push_frame(LLMFullResponseEndFrame())


class ScriptedTts(TTSService):
    def __init__(self, profile: dict[str, Any], turn: Turn) -> None:
        super().__init__(sample_rate=24_000, settings=TTSSettings(model=None, voice=None, language=None))
        self._profile, self._turn = profile, turn
        t = np.arange(2_400) / 24_000
        self._chunk = (0.2 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        profile = self._profile
        self._turn.mark("tts", await wait_ms(profile["tts_first_audio_ms"]))
        chunks = max(1, round(profile["seconds_per_clause"] * 10))
        for index in range(chunks):
            if index:
                await asyncio.sleep(0.1 / profile["tts_speed"])
            yield TTSAudioRawFrame(
                audio=self._chunk, sample_rate=24_000, num_channels=1, context_id=context_id
            )


async def session(audio: bytes, profile: dict[str, Any], turns: int) -> Turn:
    turn = Turn()
    params = TransportParams(audio_in_enabled=True, audio_in_sample_rate=16_000,
                             audio_out_enabled=True, audio_out_sample_rate=48_000)  # fmt: skip
    source = FileInput(audio, params)
    pipeline = Pipeline([
        source,
        VADProcessor(vad_analyzer=SileroVADAnalyzer()),
        StopWatch(turn),
        ScriptedStt(profile, turn),
        ScriptedLlm(profile, turn),
        ScriptedTts(profile, turn),
        PacedOutput(params, turn),
    ])  # fmt: skip
    task = PipelineTask(pipeline, params=PipelineParams(audio_in_sample_rate=16_000, audio_out_sample_rate=48_000),
                        idle_timeout_secs=None, enable_rtvi=False, enable_turn_tracking=False)  # fmt: skip
    runner = PipelineRunner(handle_sigint=False)

    async def hang_up() -> None:
        await source.done.wait()
        await task.queue_frame(EndFrame())

    await asyncio.gather(runner.run(task), hang_up())
    return turn


async def main() -> None:
    path, sessions, turns, profile_json = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    profile = json.loads(profile_json)
    with wave.open(path) as wav:
        audio = wav.readframes(wav.getnframes())
    cpu0, wall0 = time.process_time(), time.monotonic()
    clocks = await asyncio.gather(*(session(audio, profile, turns) for _ in range(sessions)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stop_s = (
        0.2  # SileroVADAnalyzer's default VADParams.stop_secs: the stop is reported this long after speech
    )
    added = []
    for clock in clocks:
        for row in clock.rows:
            if {"stt", "lm", "tts", "first_audio"} <= set(row):
                eos = row["stopped"] - stop_s
                added.append(
                    (row["first_audio"] - eos) * 1000 - stop_s * 1000 - row["stt"] - row["lm"] - row["tts"]
                )
    print(json.dumps({"added_ms": added, "cpu_s": cpu, "wall_s": wall, "audio_s": len(audio) / 32_000,
                      "sessions": sessions, "vad_stop_ms": stop_s * 1000}))  # fmt: skip


if __name__ == "__main__":
    import warnings

    from loguru import logger

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(main())
