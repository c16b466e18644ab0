"""The labelled end-of-turn set (made by benchmarks/endofturn_set.py): Spanish caller sentences by three voices,
with the word boundaries inside each sentence. A whole sentence is a finished turn; a sentence cut at one of
its word boundaries is not."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np

from engine.audio import Pcm

FOLDER = Path(__file__).parent / "data" / "endofturn"
RATE = 16_000


@dataclass(frozen=True)
class Clip:
    name: str
    voice: str  # "espeak" (flat, robotic) or a Kokoro voice (natural intonation)
    text: str
    pcm: Pcm  # 16 kHz mono, speech from the first sample to the last
    cuts: tuple[int, ...]  # samples at which a word ends inside the sentence
    heard: tuple[str, ...]  # what Whisper heard up to each cut

    def before(self, cut: int) -> Pcm:
        return self.pcm[:cut]


def read_opus(path: Path) -> Pcm:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pieces = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(pieces).astype(np.int16)


@cache
def clips() -> tuple[Clip, ...]:
    with (FOLDER / "clips.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return tuple(
        Clip(
            row["clip"],
            row["voice"],
            row["text"],
            read_opus(FOLDER / f"{row['clip']}.ogg"),
            tuple(int(c) for c in row["cuts"].split()),
            tuple(h.strip() for h in row["heard_before_cut"].split("|")) if row["cuts"] else (),
        )
        for row in rows
    )


def clip(name: str) -> Clip:
    return next(c for c in clips() if c.name == name)
