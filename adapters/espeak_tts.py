"""Offline text-to-speech: libespeak-ng (bundled by espeakng-loader) through ctypes.

libespeak-ng keeps global state, so one process-wide engine owns it and every call runs on its single
worker thread.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.audio import AudioChunk
from engine.settings import EspeakSettings

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    pass


class EspeakEngine:
    _instance_lock = threading.Lock()
    _initialized = False

    def __init__(self, settings: EspeakSettings) -> None:
        self._settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._pieces: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks must outlive every call into the library.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self.sample_rate = self._executor.submit(self._initialize).result()

    def _initialize(self) -> int:
        import espeakng_loader

        with EspeakEngine._instance_lock:
            if EspeakEngine._initialized:
                raise EspeakError("libespeak-ng is already in use by another engine in this process")
            EspeakEngine._initialized = True
        lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed ({rate})")
        lib.espeak_SetSynthCallback(self._callback)
        if lib.espeak_SetVoiceByName(self._settings.voice.encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice named {self._settings.voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, self._settings.rate, 0)
        lib.espeak_SetParameter(_PARAM_PITCH, self._settings.pitch, 0)
        self._lib = lib
        return int(rate)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count > 0:
            self._pieces.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0: go on synthesizing

    def _synthesize(self, text: str) -> np.ndarray:
        self._pieces = []
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise EspeakError(f"espeak_Synth failed ({status})")
        self._lib.espeak_Synchronize()
        pieces, self._pieces = self._pieces, []
        return np.concatenate(pieces).astype(np.int16) if pieces else np.zeros(0, np.int16)

    async def synthesize(self, text: str) -> np.ndarray:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._synthesize, text)


class EspeakTextToSpeech:
    name = "espeak-ng"

    def __init__(self, engine: EspeakEngine) -> None:
        self._engine = engine

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        samples = await self._engine.synthesize(text)
        if len(samples):
            yield AudioChunk(samples, self._engine.sample_rate)
