"""The Pipecat side of ``python -m benchmarks pipecat``: run under Pipecat's own virtual environment, on its own.

    python benchmarks/pipecat_side.py CALL.wav TURNS VAD PROFILE_JSON

Each session is a Pipecat pipeline: an input transport that plays CALL.wav (16 kHz mono) in real time in
20 ms frames, after its own lead of silence (the engine side's stagger, handed over in PROFILE_JSON's "leads":
one per session) -> a VAD (VAD: "silero", Pipecat's default, or "webrtcvad", the engine's, wrapped in
Pipecat's VADAnalyzer interface) -> a segmented speech-to-text -> a language model -> a text-to-speech -> an
output transport that plays 48 kHz audio in real time. The three providers are scripted with the same latency
profile, transcript and reply pieces as the engine's side (benchmarks/profile.py, handed over in PROFILE_JSON).
Every pipeline (and its VAD model) is built before the clock starts: loading is not timed.
Prints one JSON object: per-turn engine-added latency (less the profile's nominal provider times) and CPU per
second of audio played.
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
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams
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


class WebrtcVadAnalyzer(VADAnalyzer):
    """webrtcvad (mode 2, as the engine's default TAINA_VAD_AGGRESSIVENESS) behind Pipecat's VAD interface: a
    20 ms frame is speech (confidence 1) or not (0); Pipecat's start and stop timing stay its own."""

    def __init__(self, *, params: VADParams | None = None) -> None:
        import webrtcvad

        super().__init__(params=params)
        self._vad = webrtcvad.Vad(2)

    def num_frames_required(self) -> int:
        return int(self.sample_rate * 0.02)

    def voice_confidence(self, buffer: bytes) -> float:
        return 1.0 if self._vad.is_speech(buffer, self.sample_rate) else 0.0


def vad_analyzer(kind: str) -> VADAnalyzer:
    if kind == "silero":
        return SileroVADAnalyzer()  # loads its ONNX model here, before the clock starts
    if kind == "webrtcvad":
        return WebrtcVadAnalyzer()
    raise SystemExit(f"pipecat_side: unknown VAD {kind!r} (silero or webrtcvad)")


class Session:
    """One call's pipeline, built (VAD model loaded) before the clock starts."""

    def __init__(self, audio: bytes, profile: dict[str, Any], vad: str) -> None:
        self.turn = Turn()
        params = TransportParams(audio_in_enabled=True, audio_in_sample_rate=16_000,
                                 audio_out_enabled=True, audio_out_sample_rate=48_000)  # fmt: skip
        self.source = FileInput(audio, params)
        analyzer = vad_analyzer(vad)
        analyzer.set_sample_rate(16_000)
        analyzer.voice_confidence(bytes(2 * analyzer.num_frames_required()))  # first inference: warm-up
        pipeline = Pipeline([
            self.source,
            VADProcessor(vad_analyzer=analyzer),
            StopWatch(self.turn),
            ScriptedStt(profile, self.turn),
            ScriptedLlm(profile, self.turn),
            ScriptedTts(profile, self.turn),
            PacedOutput(params, self.turn),
        ])  # fmt: skip
        self.task = PipelineTask(pipeline, params=PipelineParams(audio_in_sample_rate=16_000,
                                 audio_out_sample_rate=48_000), idle_timeout_secs=None, enable_rtvi=False,
                                 enable_turn_tracking=False)  # fmt: skip
        self.runner = PipelineRunner(handle_sigint=False)

    async def run(self) -> Turn:
        async def hang_up() -> None:
            await self.source.done.wait()
            await self.task.queue_frame(EndFrame())

        await asyncio.gather(self.runner.run(self.task), hang_up())
        return self.turn


async def main() -> None:
    path, turns, vad, profile_json = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    profile = json.loads(profile_json)
    with wave.open(path) as wav:
        call = wav.readframes(wav.getnframes())
    audios = [bytes(2 * int(lead * 16_000)) + call for lead in profile["leads"]]
    sessions = [Session(audio, profile, vad) for audio in audios]
    cpu0, wall0 = time.process_time(), time.monotonic()
    clocks = await asyncio.gather(*(s.run() for s in sessions))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stop_s = VADParams().stop_secs  # Pipecat's default: the stop is reported this long after speech
    nominal_ms = profile["stt_final_ms"] + profile["lm_first_token_ms"] + profile["tts_first_audio_ms"]
    added = []
    for clock in clocks:
        for row in clock.rows:
            if {"stt", "lm", "tts", "first_audio"} <= set(row):
                added.append((row["first_audio"] - row["stopped"]) * 1000 - nominal_ms)
    audio_s = sum(len(audio) / 32_000 for audio in audios)
    print(json.dumps({"added_ms": added, "cpu_s": cpu, "wall_s": wall, "audio_s": audio_s,
                      "sessions": len(sessions), "turns_expected": len(sessions) * turns,
                      "vad": vad, "vad_stop_ms": stop_s * 1000}))  # fmt: skip


if __name__ == "__main__":
    import warnings

    from loguru import logger

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(main())
