"""End of turn on labelled Spanish audio: the smart-turn model's accuracy, how often a turn is cut off early
(with the model, with the word rules alone, with a fixed silence: the same audio), and how long after the end of
a finished sentence the turn ends.

The set (tests/support/turn_audio.py): sentences by espeak-ng and two Kokoro voices; a whole sentence is a
finished turn, a sentence cut at a word boundary inside it is not. For the cut-offs, a cut sentence is played
with a pause of PAUSES_S at the cut and then its rest: a turn that ends in the pause is cut off early; a whole
sentence that ends anywhere before its last word is cut off too.

The endpointer runs frame by frame over the audio; at each pause the real model and the real Whisper
(speculative transcript) are run on the audio so far, and their verdicts reach the endpointer as late as they
took to compute (measured here, on this machine, as in a call).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapters.smart_turn import SmartTurnModel, SmartTurnSettings, model_path
from adapters.whisper_model import bundled_model_dir
from adapters.whisper_stt import WhisperRecognizer, WhisperSettings
from engine.audio import AudioFrame, Pcm
from engine.endpointing import (
    EndOfTurnSettings,
    Endpointer,
    EndpointSettings,
    SpeechPaused,
    SpeechResumed,
    UtteranceEnded,
    UtteranceStarted,
)
from engine.vad import VadSettings
from taina.settings import Settings
from tests.support.turn_audio import RATE, Clip, clips

PAUSES_S = (0.6, 0.9)
LEAD_S, TAIL_S, FRAME_MS = 0.3, 3.0, 20
MODES = ("model", "words", "silence")  # model + word rules (the default), word rules alone, fixed silence


def _silence(seconds: float) -> Pcm:
    return np.zeros(int(seconds * RATE), np.int16)


@dataclass
class Oracle:
    """The model's and Whisper's answers at a pause, computed once and shared by every mode."""

    model: SmartTurnModel
    whisper: WhisperRecognizer
    answers: dict[tuple[str, int], tuple[float, float, str, float]] = field(default_factory=dict)

    async def at(self, key: str, audio: Pcm) -> tuple[float, float, str, float]:
        """(probability, model seconds, transcript, Whisper seconds) for the audio so far."""
        found = self.answers.get((key, len(audio)))
        if found is None:
            started = time.perf_counter()
            probability = await self.model.complete(audio)
            model_s = time.perf_counter() - started
            started = time.perf_counter()
            text = (await self.whisper.recognize(audio)).text
            found = (probability, model_s, text, time.perf_counter() - started)
            self.answers[(key, len(audio))] = found
        return found


async def _endpoint(audio: Pcm, key: str, mode: str, oracle: Oracle) -> list[UtteranceEnded]:
    """The turns the endpointer ends in ``audio`` with verdicts delivered as late as they took."""
    endpoint = EndpointSettings()
    eot = EndOfTurnSettings()
    endpointer = Endpointer(VadSettings(), endpoint, RATE, FRAME_MS, eot)
    step = RATE * FRAME_MS // 1000
    heard: list[Pcm] = []
    due: list[tuple[float, str, Any]] = []
    ended = []
    for i in range(len(audio) // step):
        samples = audio[i * step : (i + 1) * step]
        now = (i + 1) * FRAME_MS / 1000
        for at, kind, value in [d for d in due if d[0] <= now]:
            due.remove((at, kind, value))
            if kind == "model":
                endpointer.judged(value)
            else:
                endpointer.hint(value)
        event = endpointer.push(AudioFrame(samples, RATE, now))
        if isinstance(event, UtteranceStarted):
            heard = [f.samples for f in event.preroll]
            continue
        if endpointer.in_utterance:
            heard.append(samples)
        if isinstance(event, SpeechPaused) and mode != "silence":
            probability, model_s, text, whisper_s = await oracle.at(key, np.concatenate(heard))
            if mode == "model":
                endpointer.judging()
                due.append((now + model_s, "model", probability >= eot.threshold))
            due.append((now + whisper_s, "words", text))
        elif isinstance(event, SpeechResumed):
            due.clear()
        elif isinstance(event, UtteranceEnded):
            ended.append(event)
            due.clear()
    return ended


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


async def _measure(runs: int) -> dict[str, Any]:
    settings = Settings.from_env({})
    model = SmartTurnModel(model_path(SmartTurnSettings()), SmartTurnSettings(max_waiting=1))
    model.warm_up()
    whisper = WhisperRecognizer(bundled_model_dir(settings.data_dir / "models", False), WhisperSettings())
    whisper.warm_up()
    oracle = Oracle(model, whisper)
    threshold = EndOfTurnSettings().threshold
    lead = _silence(LEAD_S)
    judged: list[tuple[Clip, bool, float]] = []  # (clip, finished, probability)
    for clip in clips():
        for cut, finished in [*((c, False) for c in clip.cuts), (len(clip.pcm), True)]:
            audio = np.concatenate([lead, clip.before(cut), _silence(0.2)])
            judged.append((clip, finished, await model.complete(audio)))
    model.seconds.clear()  # inference times below: during the cut-off runs, Whisper alongside, as in a call

    cut_offs = {mode: 0 for mode in MODES}
    tried = 0
    delays: dict[str, list[float]] = {mode: [] for mode in MODES}
    missed_whole = {mode: 0 for mode in MODES}
    for clip in clips():
        spread = clip.cuts[:: max(1, len(clip.cuts) // runs)][:runs] if clip.cuts else ()
        for cut in spread:
            for pause in PAUSES_S:
                audio = np.concatenate(
                    [lead, clip.before(cut), _silence(pause), clip.pcm[cut:], _silence(TAIL_S)]
                )
                resumes = LEAD_S + cut / RATE + pause
                tried += 1
                for mode in MODES:
                    ended = await _endpoint(audio, f"{clip.name}:{cut}:{pause}", mode, oracle)
                    cut_offs[mode] += any(e.end_of_speech < resumes - 0.05 for e in ended)
        whole = np.concatenate([lead, clip.pcm, _silence(TAIL_S)])
        last = LEAD_S + len(clip.pcm) / RATE
        for mode in MODES:
            ended = await _endpoint(whole, f"{clip.name}:whole", mode, oracle)
            if any(e.end_of_speech < last - 0.1 for e in ended):
                missed_whole[mode] += 1
            if ended:
                delays[mode].append((ended[-1].detected_at - ended[-1].end_of_speech) * 1000)
    whisper.close()

    def accuracy(rows: list[tuple[Clip, bool, float]]) -> dict[str, Any]:
        right = [(p >= threshold) == finished for _, finished, p in rows]
        complete = [(p >= threshold) for _, finished, p in rows if finished]
        incomplete = [(p < threshold) for _, finished, p in rows if not finished]
        return {
            "samples": len(rows),
            "accuracy": round(sum(right) / len(right), 3),
            "complete_recall": round(sum(complete) / max(1, len(complete)), 3),
            "incomplete_recall": round(sum(incomplete) / max(1, len(incomplete)), 3),
        }

    natural = [r for r in judged if r[0].voice != "espeak"]
    robotic = [r for r in judged if r[0].voice == "espeak"]
    seconds = [s * 1000 for s in model.seconds]
    model.close()
    return {
        "benchmark": "endofturn",
        "model": model.name,
        "threshold": threshold,
        "model_accuracy": {
            "natural_voices": accuracy(natural),
            "espeak": accuracy(robotic),
            "all": accuracy(judged),
        },
        "cut_off_early": {
            "pauses_tried": tried,
            "pause_lengths_s": list(PAUSES_S),
            **{mode: cut_offs[mode] for mode in MODES},
        },
        "whole_sentences_cut": {"sentences": len(clips()), **missed_whole},
        "end_of_speech_to_end_of_turn_ms": {
            mode: {"median": round(statistics.median(v), 1), "p95": _percentile(v, 95)}
            for mode, v in delays.items()
            if v
        },
        "model_inference_ms": {
            "calls": len(seconds),
            "median": _percentile(seconds, 50),
            "p95": _percentile(seconds, 95),
        },
        "note": "end_of_turn is the endpointer's decision; with the model it also waits for the pause's "
        "transcript, which the reply waits for anyway. Inference times: the model's own, features apart, "
        "with Whisper running beside it as in a call.",
    }


def run(runs: int | None) -> dict[str, Any]:
    return asyncio.run(_measure(max(1, runs or 2)))
