"""Offline text-to-speech: libespeak-ng (bundled by espeakng-loader) through ctypes.

libespeak-ng keeps global state, so the process loads it once and every call runs on one worker thread;
each EspeakEngine applies its own voice settings before it speaks.
"""

from __future__ import annotations

import asyncio
import ctypes
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np

from engine.audio import AudioChunk
from engine.options import Section, knob


class EspeakSettings(Section):
    prefix: ClassVar[str] = "TAINA_ESPEAK"
    voice: str = knob("es-419", "espeak-ng voice (es-419 is Latin American Spanish).")
    rate: int = knob(165, "Speaking rate in words per minute (80-450).", ge=80, le=450)
    pitch: int = knob(50, "Voice pitch, 0-99.", ge=0, le=99)


_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    pass


class _Library:
    """The process's one libespeak-ng, used only from its own worker thread."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed ({rate})")
        self.sample_rate = int(rate)
        self._lib = lib
        self._pieces: list[np.ndarray] = []
        # Keep a reference: a ctypes callback must outlive every call into the library.
        self._callback = _SYNTH_CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: EspeakSettings | None = None

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count > 0:
            self._pieces.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0: go on synthesizing

    def synthesize(self, text: str, voice: EspeakSettings) -> np.ndarray:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.voice.encode()) != 0:
                raise EspeakError(f"espeak-ng has no voice named {voice.voice!r}")
            self._lib.espeak_SetParameter(_PARAM_RATE, voice.rate, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, voice.pitch, 0)
            self._voice = voice
        self._pieces = []
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise EspeakError(f"espeak_Synth failed ({status})")
        self._lib.espeak_Synchronize()
        pieces, self._pieces = self._pieces, []
        return np.concatenate(pieces).astype(np.int16) if pieces else np.zeros(0, np.int16)


_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
_library: _Library | None = None


def _run(text: str, voice: EspeakSettings) -> np.ndarray:
    global _library
    if _library is None:
        _library = _Library()
    return _library.synthesize(text, voice)


class EspeakEngine:
    """espeak-ng with one voice's settings; any number may exist, all served by the one library thread."""

    def __init__(self, settings: EspeakSettings) -> None:
        self._settings = settings
        # Fail at start-up, not on the first reply, if the voice does not exist.
        self.sample_rate = 0
        self.synthesize_now("")

    def synthesize_now(self, text: str) -> np.ndarray:
        """Blocking synthesis, for scripts and tests; the event loop uses ``synthesize``."""
        samples = _executor.submit(_run, text, self._settings).result()
        assert _library is not None
        self.sample_rate = _library.sample_rate
        return samples

    async def synthesize(self, text: str) -> np.ndarray:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor, _run, text, self._settings)


class EspeakTextToSpeech:
    name = "espeak-ng"

    def __init__(self, engine: EspeakEngine) -> None:
        self._engine = engine

    def start(self) -> None:
        """Nothing to connect."""

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        samples = await self._engine.synthesize(text)
        if len(samples):
            yield AudioChunk(samples, self._engine.sample_rate)

    async def aclose(self) -> None:
        """Shared by every call."""
