"""The smart-turn v3.2 end-of-turn model (Daily's, BSD-2-Clause) through onnxruntime, on one worker thread.

The model is a Whisper-tiny encoder with a classifier: it hears the last 8 s of an utterance (features:
adapters/smart_turn_features.py) and gives the probability that the speaker has finished. It is trained on
23 languages, Spanish among them, and reads the voice (intonation, a held last syllable), not the words.

The ONNX file ships inside the `pipecat-ai` wheel on PyPI. `python -m adapters.smart_turn` (run by
`make install` and the container build) downloads that one wheel with pip into a cache, takes the one file out
and checks its sha256; Pipecat itself is not installed. Every load checks the sha256 again.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np

from adapters.smart_turn_features import WINDOW_S, features_of
from adapters.whisper_model import ModelError
from engine.audio import Pcm
from engine.options import Section, knob
from engine.ports.turn_model import TurnModelBusy

PIPECAT_VERSION = "1.14.0"
WHEEL_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
MODEL_NAME = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
# Where the install step puts the model: beside the installed packages (the venv), so a venv copied into an
# image carries it, whatever TAINA_DATA_DIR is.
DEFAULT_PATH = Path(sys.prefix) / "share" / "taina" / "models" / MODEL_NAME


class SmartTurnSettings(Section):
    prefix: ClassVar[str] = "TAINA_SMART_TURN"
    model_path: str = knob(
        "",
        "ONNX file of a smart-turn v3 model to use instead of the bundled smart-turn v3.2 (trusted as it is); "
        "empty: the one `make install` took from the pipecat-ai wheel.",
    )
    threads: int = knob(1, "CPU threads one model call may use.", ge=1, le=16)
    max_waiting: int = knob(
        4,
        "Calls that may wait for the model at once (every call of the process shares it); past that a pause "
        "is judged by the word rules alone.",
        ge=1,
        le=256,
    )


class SmartTurnError(ModelError):
    """The model file is missing, is not the one expected, or does not load."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def install(target: Path = DEFAULT_PATH, cache: Path | None = None) -> Path:
    """Take the model out of the pinned pipecat-ai wheel (downloaded by pip, no dependencies, nothing
    installed) into ``target``, checked by sha256. Nothing is done if ``target`` is already the right file."""
    if target.is_file() and sha256_of(target) == MODEL_SHA256:
        return target
    cache = cache or Path(tempfile.gettempdir()) / "taina-wheels"
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / f"pipecat_ai-{PIPECAT_VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--dest", str(cache), f"pipecat-ai=={PIPECAT_VERSION}"],
            check=True,
        )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(WHEEL_MEMBER) as src, partial.open("wb") as out:
        while block := src.read(1 << 20):
            out.write(block)
    actual = sha256_of(partial)
    if actual != MODEL_SHA256:
        partial.unlink()
        raise SmartTurnError(f"{WHEEL_MEMBER} in {wheel} has sha256 {actual}, expected {MODEL_SHA256}")
    partial.replace(target)  # atomic: a crash leaves no half-written model
    return target


def model_path(settings: SmartTurnSettings) -> Path:
    """The model to load: the user's file as it is, or the bundled one, checked by sha256."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
        if not path.is_file():
            raise SmartTurnError(f"TAINA_SMART_TURN_MODEL_PATH={settings.model_path}: no such file")
        return path
    if not DEFAULT_PATH.is_file():
        raise SmartTurnError(
            f"{DEFAULT_PATH} is missing: run `make install` (or `python -m adapters.smart_turn`)"
        )
    actual = sha256_of(DEFAULT_PATH)
    if actual != MODEL_SHA256:
        raise SmartTurnError(
            f"{DEFAULT_PATH} has sha256 {actual}, expected {MODEL_SHA256}: run `python -m adapters.smart_turn` "
            "after deleting it"
        )
    return DEFAULT_PATH


class SmartTurnModel:
    """One onnxruntime session for the process; calls run one at a time on its own thread, at most
    ``max_waiting`` of them queued."""

    name = "smart-turn-v3.2"
    window_s = float(WINDOW_S)

    def __init__(self, path: Path, settings: SmartTurnSettings) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = settings.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as failure:  # onnxruntime raises types of its own for a file it cannot read
            raise SmartTurnError(f"{path}: not a model onnxruntime can load ({failure})") from failure
        self._input = self._session.get_inputs()[0].name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smart-turn")
        self._max_waiting = settings.max_waiting
        self._waiting = 0
        self._lock = threading.Lock()
        self.seconds: collections.deque[float] = collections.deque(maxlen=10_000)  # per call, inference only

    def warm_up(self) -> None:
        """The first run allocates onnxruntime's buffers: do it before a caller waits on it."""
        self.probability(np.zeros(16_000, np.int16))

    def probability(self, samples: Pcm) -> float:
        """Blocking: the probability that ``samples`` (16 kHz, int16) end a finished turn."""
        features = features_of(samples)
        started = time.perf_counter()
        (logits,) = self._session.run(None, {self._input: features})
        self.seconds.append(time.perf_counter() - started)
        value = float(np.asarray(logits).reshape(-1)[0])  # the exported model ends with its sigmoid
        if not 0.0 <= value <= 1.0:
            raise SmartTurnError(f"the model gave {value}, not a probability")
        return value

    async def complete(self, samples: Pcm) -> float:
        with self._lock:
            if self._waiting >= self._max_waiting:
                raise TurnModelBusy(f"{self._waiting} calls already wait for {self.name}")
            self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self.probability, samples)
        finally:
            with self._lock:
                self._waiting -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def main() -> int:
    """`python -m adapters.smart_turn [TARGET]`: the install step."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    try:
        print(install(target))
    except (SmartTurnError, subprocess.CalledProcessError, OSError, KeyError, zipfile.BadZipFile) as failure:
        print(f"smart-turn: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
