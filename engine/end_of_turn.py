"""One call's use of the end-of-turn model: it keeps the end of the utterance in progress, asks the model when
the caller pauses, and gives the verdict to the endpointer.

The model runs off the event loop (its adapter's worker thread); the listen path only starts the call and goes
on. A verdict that comes after speech resumed, or after the turn ended, is dropped. When the model is missing,
busy or fails, the endpointer hears "no verdict" and the word rules decide; a failure is logged with its
traceback the first time for the process, then counted.
"""

from __future__ import annotations

import asyncio
import collections
import time

import numpy as np
import structlog

from engine.audio import AudioFrame
from engine.endpointing import (
    EndOfTurnSettings,
    Endpointer,
    EndpointEvent,
    SpeechPaused,
    SpeechResumed,
    UtteranceStarted,
)
from engine.ports.turn_model import TurnModel, TurnModelBusy

log = structlog.get_logger("taina.end_of_turn")
_failures: dict[str, int] = {}  # failed calls per model, for the process (the first one is logged in full)


class TurnJudge:
    def __init__(
        self, model: TurnModel | None, settings: EndOfTurnSettings, endpointer: Endpointer, frame_ms: int
    ) -> None:
        self._model = model if settings.enabled else None
        self._threshold = settings.threshold
        self._endpointer = endpointer
        size = int(model.window_s * 1000) // frame_ms + 1 if model is not None else 1
        self._frames: collections.deque[AudioFrame] = collections.deque(maxlen=size)
        self._call: asyncio.Task[None] | None = None
        self.verdicts: list[tuple[float, float]] = []  # (probability, seconds the call took), this call's

    def heard(self, frame: AudioFrame, event: EndpointEvent | None) -> None:
        """Every frame the endpointer took, with the event it made of it."""
        if self._model is None:
            return
        if isinstance(event, UtteranceStarted):
            self._drop()
            self._frames.clear()
            self._frames.extend(event.preroll)
            return
        if not self._endpointer.in_utterance:  # ended, discarded, or not started
            self._drop()
            self._frames.clear()
            return
        self._frames.append(frame)
        if isinstance(event, SpeechPaused):
            self._drop()
            self._endpointer.judging()
            samples = np.concatenate([f.samples for f in self._frames])
            self._call = asyncio.get_running_loop().create_task(self._judge(self._model, samples))
        elif isinstance(event, SpeechResumed):
            self._drop()

    def close(self) -> None:
        self._drop()
        self._frames.clear()

    def _drop(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None

    async def _judge(self, model: TurnModel, samples: np.ndarray) -> None:
        verdict: bool | None = None
        started = time.perf_counter()
        try:
            probability = await model.complete(samples)
        except TurnModelBusy:
            log.info("end_of_turn.busy", model=model.name)
        except Exception:
            count = _failures[model.name] = _failures.get(model.name, 0) + 1
            if count == 1:
                log.error("end_of_turn.failed", model=model.name, fallback="word rules", exc_info=True)
            else:
                log.warning("end_of_turn.failed_again", model=model.name, failures=count)
        else:
            took = time.perf_counter() - started
            verdict = probability >= self._threshold
            self.verdicts.append((probability, took))
            log.debug("end_of_turn.verdict", probability=round(probability, 3), ms=round(took * 1000, 1))
        if asyncio.current_task() is self._call:
            self._call = None
            self._endpointer.judged(verdict)
