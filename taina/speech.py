"""The speech models of the whole process (loaded once, shared by every call), and each call's providers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from adapters.deepgram_stt import DeepgramSpeechToText
from adapters.elevenlabs_tts import ElevenLabsTextToSpeech
from adapters.espeak_tts import EspeakEngine, EspeakTextToSpeech
from adapters.smart_turn import SmartTurnError, SmartTurnModel, model_path
from adapters.whisper_model import ModelError, bundled_model_dir
from adapters.whisper_stt import WhisperRecognizer, WhisperSpeechToText
from engine.failover import FailoverSpeechToText, FailoverTextToSpeech
from engine.ports.speech import SpeechToText, TextToSpeech

if TYPE_CHECKING:
    from taina.settings import Settings

log = structlog.get_logger("taina.speech")


class Speech:
    """Whisper, espeak-ng and the smart-turn end-of-turn model, loaded once; Deepgram and ElevenLabs in front
    of them when their keys are set."""

    def __init__(self, settings: Settings, progress: bool | None = None) -> None:
        self.settings = settings
        model_dir = (
            bundled_model_dir(settings.data_dir / "models", progress)
            if not settings.whisper.model_dir
            else _user_model_dir(settings.whisper.model_dir)
        )
        self._recognizer = WhisperRecognizer(model_dir, settings.whisper)
        self._recognizer.warm_up()
        self._whisper = WhisperSpeechToText(self._recognizer)
        self._espeak = EspeakTextToSpeech(EspeakEngine(settings.espeak))
        self.turn_model = _turn_model(settings)
        deepgram, elevenlabs = settings.deepgram, settings.elevenlabs
        log.info(
            "speech.ready",
            speech_to_text=f"deepgram {deepgram.model} ({deepgram.url}), fallback whisper"
            if deepgram.api_key
            else f"whisper ({model_dir})",
            text_to_speech=f"elevenlabs {elevenlabs.model} ({elevenlabs.url}), fallback espeak-ng"
            if elevenlabs.api_key
            else f"espeak-ng ({settings.espeak.voice})",
            end_of_turn=self.turn_model.name if self.turn_model is not None else "word rules",
        )

    def speech_to_text(self) -> SpeechToText:
        """One call's speech-to-text: Deepgram (Whisper behind it) when DEEPGRAM_API_KEY is set, else Whisper."""
        if self.settings.deepgram.api_key:
            return FailoverSpeechToText(DeepgramSpeechToText(self.settings.deepgram), self._whisper)
        return self._whisper

    def text_to_speech(self) -> TextToSpeech:
        """One call's text-to-speech: ElevenLabs (espeak-ng behind it) when ELEVENLABS_API_KEY is set."""
        if self.settings.elevenlabs.api_key:
            return FailoverTextToSpeech(ElevenLabsTextToSpeech(self.settings.elevenlabs), self._espeak)
        return self._espeak

    def prepare(self, settings: Settings) -> Callable[[], None]:
        """Check ``settings`` (a changed voice is loaded now: an unknown one raises, changing nothing) and return
        what makes new calls use them."""
        espeak = self._espeak
        if settings.espeak != self.settings.espeak:
            espeak = EspeakTextToSpeech(EspeakEngine(settings.espeak))

        def commit() -> None:
            self._espeak, self.settings = espeak, settings

        return commit

    def close(self) -> None:
        self._recognizer.close()
        if self.turn_model is not None:
            self.turn_model.close()


def _turn_model(settings: Settings) -> SmartTurnModel | None:
    """The end-of-turn model, or None (turned off, or missing: the word rules end turns, as logged here)."""
    if not settings.end_of_turn.enabled:
        return None
    try:
        path = model_path(settings.smart_turn)
    except SmartTurnError as missing:
        if settings.smart_turn.model_path:
            raise  # the operator's own file: a wrong path stops start-up
        log.warning("speech.no_end_of_turn_model", reason=str(missing), fallback="word rules")
        return None
    model = SmartTurnModel(path, settings.smart_turn)
    model.warm_up()
    return model


def _user_model_dir(path: str) -> Path:
    folder = Path(path).expanduser()
    if not (folder / "model.bin").is_file():
        raise ModelError(f"TAINA_WHISPER_MODEL_DIR={path}: no model.bin in that folder")
    return folder
