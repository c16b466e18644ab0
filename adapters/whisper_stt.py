"""Offline speech-to-text: Whisper through faster-whisper / CTranslate2, on a worker thread.

Two things keep it fast enough for a conversation on two cores:
- The encoder runs on a window sized to the utterance (rounded up to a second) instead of Whisper's fixed
  30 s: a 3 s question encodes in about a tenth of the time, with the same transcript.
- Recognition starts when the speaker pauses (SpeechPaused), while the endpointer is still waiting to be sure
  the turn is over; if speech resumes the speculative result is thrown away. The speculative transcript is
  passed on as the interim one, so the endpointer can end a complete question sooner.
"""

from __future__ import annotations

import asyncio
import math
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np
import structlog

from engine.audio import PROCESSING_RATE, AudioFrame, Pcm
from engine.options import Section, knob
from engine.ports.speech import Transcript


class WhisperSettings(Section):
    prefix: ClassVar[str] = "TAINA_WHISPER"
    model_dir: str = knob(
        "",
        "Folder of a CTranslate2 Whisper model to use instead of the bundled Whisper base "
        "(its files are trusted as they are).",
    )
    language: str = knob("es", "Language spoken to the assistant (ISO 639-1).")
    beam_size: int = knob(1, "Beam width of the Whisper decoder (1 is greedy and fastest).", ge=1, le=10)
    cpu_threads: int = knob(2, "CPU threads Whisper may use.", ge=1, le=64)
    no_speech_threshold: float = knob(
        0.6, "Utterances Whisper rates as no speech above this probability are dropped.", gt=0, le=1
    )


_WINDOW_STEP = 100  # mel frames (1 s) by which the encoder window grows
_MAX_WINDOW = 3000  # Whisper's full 30 s window
# Silence added after the audio: with less than about a second of it in the window, greedy decoding
# sometimes finds no end of text and repeats the sentence (seen through Opus at 0.5 s).
_TAIL_SILENCE_S = 1.0
_MAX_TOKENS = 220
_TOKENS_PER_SECOND = 12  # well above any speaker; caps the damage if decoding does loop
_MAX_COMPRESSION = 2.4  # Whisper's own test for repetitive output
_REPETITION_PENALTY = 1.1  # discourages the decoder's loops; on espeak speech through Opus it ended them

log = structlog.get_logger("taina.whisper")


class WhisperRecognizer:
    """One loaded model shared by every session; calls run one at a time on its own thread."""

    def __init__(self, model_dir: Path, settings: WhisperSettings) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._settings = settings
        self._model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=settings.cpu_threads
        )
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language=settings.language,
        )
        self._prompt = [self._tokenizer.sot, self._tokenizer.language, self._tokenizer.transcribe,
                        self._tokenizer.no_timestamps]  # fmt: skip
        self._suppress = get_suppressed_tokens(self._tokenizer, (-1,))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")

    def warm_up(self) -> None:
        """The first CTranslate2 call allocates its buffers; do it before the first caller waits on it."""
        silence = np.zeros(PROCESSING_RATE, dtype=np.float32)
        self._decode(self._model.feature_extractor(silence), 1.0, full_window=False)

    async def recognize(self, samples: Pcm) -> Transcript:
        audio = samples.astype(np.float32) / 32768.0
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._recognize, audio)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _recognize(self, audio: np.ndarray) -> Transcript:
        if len(audio) > (_MAX_WINDOW / 100 - _TAIL_SILENCE_S) * PROCESSING_RATE:
            return self._recognize_long(audio)
        seconds = len(audio) / PROCESSING_RATE
        padded = np.concatenate([audio, np.zeros(int(_TAIL_SILENCE_S * PROCESSING_RATE), np.float32)])
        features = self._model.feature_extractor(padded)
        text, no_speech_prob, avg_logprob = self._decode(features, seconds, full_window=False)
        if text and _compression_ratio(text) > _MAX_COMPRESSION:
            log.info("whisper.repetitive", text=text[:200])
            text, no_speech_prob, avg_logprob = self._decode(features, seconds, full_window=True)
        if no_speech_prob > self._settings.no_speech_threshold and avg_logprob < -1.0:
            log.info("whisper.no_speech", text=text, no_speech_prob=round(no_speech_prob, 2))
            return Transcript("", self._settings.language)
        return Transcript(text, self._settings.language, confidence=math.exp(avg_logprob))

    def _decode(self, features: np.ndarray, seconds: float, full_window: bool) -> tuple[str, float, float]:
        import ctranslate2

        frames = features.shape[-1]
        window = (
            _MAX_WINDOW if full_window else min(_MAX_WINDOW, math.ceil(frames / _WINDOW_STEP) * _WINDOW_STEP)
        )
        batch = np.zeros((1, features.shape[0], window), dtype=np.float32)
        batch[0, :, : min(frames, window)] = features[:, :window]
        if window > frames:
            # Pad with what silence looks like to the model, not with zeros of the normalized log-mel.
            batch[0, :, frames:] = features[:, -1:]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=False)
        result = self._model.model.generate(
            encoded,
            [self._prompt],
            beam_size=self._settings.beam_size,
            max_length=min(_MAX_TOKENS, int(seconds * _TOKENS_PER_SECOND) + 24),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            repetition_penalty=_REPETITION_PENALTY,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = collapse_repeats(self._tokenizer.decode(tokens).strip())
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        return text, float(result.no_speech_prob), float(avg_logprob)

    def _recognize_long(self, audio: np.ndarray) -> Transcript:
        segments, _ = self._model.transcribe(
            audio,
            language=self._settings.language,
            beam_size=self._settings.beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            no_speech_threshold=self._settings.no_speech_threshold,
        )
        return Transcript(" ".join(s.text.strip() for s in segments).strip(), self._settings.language)


def collapse_repeats(text: str) -> str:
    """A decoder loop's output, once: repeated sentences and runs of one repeated word are kept a single time."""
    parts = re.split(r"(?<=[.!?])\s+", text)
    key = [p.strip(" .!?¿¡").lower() for p in parts]
    kept = [p for i, p in enumerate(parts) if i == 0 or key[i] != key[i - 1]]
    return re.sub(r"\b(\w+)(?:[\s,]+\1\b){2,}", r"\1", " ".join(kept), flags=re.IGNORECASE)


def _compression_ratio(text: str) -> float:
    encoded = text.encode("utf-8")
    return len(encoded) / len(zlib.compress(encoded))


class WhisperStream:
    """One utterance: buffers its audio, recognizes speculatively on a pause, and for good at the end."""

    def __init__(
        self, recognizer: WhisperRecognizer, on_interim: Callable[[str], None] | None = None
    ) -> None:
        self._recognizer = recognizer
        self._on_interim = on_interim
        self._chunks: list[Pcm] = []
        self._speculation: asyncio.Future[Transcript] | None = None

    async def send(self, frame: AudioFrame) -> None:
        self._chunks.append(frame.samples)

    def speech_paused(self) -> None:
        self._drop_speculation()
        self._speculation = asyncio.ensure_future(self._recognizer.recognize(self._audio()))
        if self._on_interim is not None:
            self._speculation.add_done_callback(self._speculated)

    def _speculated(self, speculation: asyncio.Future[Transcript]) -> None:
        """The speculative transcript is the interim one (the endpointer adapts its silence to it)."""
        if (
            speculation is self._speculation
            and not speculation.cancelled()
            and speculation.exception() is None
        ):
            text = speculation.result().text
            if text and self._on_interim is not None:
                self._on_interim(text)

    def speech_resumed(self) -> None:
        self._drop_speculation()

    async def finish(self) -> Transcript:
        # Audio sent after the pause is silence (or the pause would have been resumed), so a speculation
        # started on the pause covers the whole utterance.
        if self._speculation is not None:
            return await self._speculation
        return await self._recognizer.recognize(self._audio())

    async def aclose(self) -> None:
        self._drop_speculation()
        self._chunks.clear()

    def _audio(self) -> Pcm:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.cancel()
            self._speculation = None


class WhisperSpeechToText:
    name = "whisper"

    def __init__(self, recognizer: WhisperRecognizer) -> None:
        self.recognizer = recognizer

    def start(self) -> None:
        """Nothing to connect: the model is loaded once for the process."""

    def open(self, on_interim: Callable[[str], None] | None = None) -> WhisperStream:
        return WhisperStream(self.recognizer, on_interim)  # interim = the speculation at a pause

    async def aclose(self) -> None:
        """Shared by every call; closed with the runtime."""
