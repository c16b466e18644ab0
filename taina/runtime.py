"""The composition root: the one place that turns settings into adapters and sessions."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from adapters.conversation_journal import PostgresJournal
from adapters.deepgram_stt import DeepgramSpeechToText
from adapters.elevenlabs_tts import ElevenLabsTextToSpeech
from adapters.espeak_tts import EspeakEngine, EspeakTextToSpeech
from adapters.recordings import Recordings
from adapters.webrtc import offer_ice_addresses
from adapters.whisper_model import ModelError, bundled_model_dir
from adapters.whisper_stt import WhisperRecognizer, WhisperSpeechToText
from engine.failover import FailoverSpeechToText, FailoverTextToSpeech
from engine.ports.records import ConversationJournal
from engine.ports.speech import SpeechToText, TextToSpeech
from engine.ports.transport import Transport
from engine.session import Session, TurnRecord
from taina.assistant import Assistant
from taina.backend import Backend

if TYPE_CHECKING:
    from taina.settings import Settings

log = structlog.get_logger("taina.runtime")


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Runtime:
    settings: Settings
    stt: SpeechToText
    assistant: Assistant
    tts: TextToSpeech
    _recognizer: WhisperRecognizer
    journal: ConversationJournal | None = None  # conversations kept in the database, once there is a backend
    recordings: Recordings | None = None  # and their recordings in the object store

    @classmethod
    def build(cls, settings: Settings, progress: bool | None = None) -> Runtime:
        """Load every provider once for the whole process (models are shared by all sessions)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        model_dir = (
            bundled_model_dir(settings.data_dir / "models", progress)
            if not settings.whisper.model_dir
            else _user_model_dir(settings.whisper.model_dir)
        )
        recognizer = WhisperRecognizer(model_dir, settings.whisper)
        recognizer.warm_up()
        tts = EspeakTextToSpeech(EspeakEngine(settings.espeak))
        offer_ice_addresses(settings.webrtc.ice_addresses)
        runtime = cls(settings, WhisperSpeechToText(recognizer), Assistant(settings), tts, recognizer)
        deepgram, elevenlabs = settings.deepgram, settings.elevenlabs
        log.info(
            "runtime.ready",
            data_dir=str(settings.data_dir),
            speech_to_text=f"deepgram {deepgram.model} ({deepgram.url}), fallback whisper"
            if deepgram.api_key
            else f"whisper ({model_dir})",
            language_model=runtime.assistant.language_model,
            text_to_speech=f"elevenlabs {elevenlabs.model} ({elevenlabs.url}), fallback espeak-ng"
            if elevenlabs.api_key
            else f"espeak-ng ({settings.espeak.voice})",
        )
        return runtime

    def speech_to_text(self) -> SpeechToText:
        """One call's speech-to-text: Deepgram (Whisper behind it) when DEEPGRAM_API_KEY is set, else Whisper."""
        if self.settings.deepgram.api_key:
            return FailoverSpeechToText(DeepgramSpeechToText(self.settings.deepgram), self.stt)
        return self.stt

    def text_to_speech(self) -> TextToSpeech:
        """One call's text-to-speech: ElevenLabs (espeak-ng behind it) when ELEVENLABS_API_KEY is set."""
        if self.settings.elevenlabs.api_key:
            return FailoverTextToSpeech(ElevenLabsTextToSpeech(self.settings.elevenlabs), self.tts)
        return self.tts

    def new_session(
        self,
        transport: Transport,
        on_turn: Callable[[TurnRecord], None] | None = None,
        session_id: str | None = None,
    ) -> Session:
        sid = session_id or new_session_id()
        return Session(
            sid,
            transport,
            self.speech_to_text(),
            self.assistant.dialogue(sid),
            self.text_to_speech(),
            self.settings.session(),
            on_turn,
            self.journal,
            self.recordings,
        )

    def apply(self, settings: Settings) -> None:
        """Settings changed from the dashboard: new calls use them (the providers in use stay until restart)."""
        if settings.espeak != self.settings.espeak:
            self.tts = EspeakTextToSpeech(EspeakEngine(settings.espeak))
        self.settings = settings
        self.assistant.configure(settings)
        log.info("runtime.settings_applied")

    def with_backend(self, backend: Backend) -> Runtime:
        """This runtime answering from ``backend``'s documents and booking in its appointments system."""
        runtime = dataclasses.replace(
            self,
            assistant=Assistant(self.settings, backend),
            journal=PostgresJournal(backend.knowledge_parts.database),
            recordings=Recordings(
                self.settings.data_dir / "recordings",
                backend.knowledge_parts.objects,
                backend.knowledge_parts.database,
            )
            if self.settings.recordings.enabled
            else None,
        )
        log.info("runtime.language_model", language_model=runtime.assistant.language_model)
        return runtime

    def close(self) -> None:
        self._recognizer.close()

    async def aclose(self) -> None:
        if isinstance(self.journal, PostgresJournal):
            await self.journal.aclose()
        await self.assistant.aclose()


def _user_model_dir(path: str) -> Path:
    folder = Path(path).expanduser()
    if not (folder / "model.bin").is_file():
        raise ModelError(f"TAINA_WHISPER_MODEL_DIR={path}: no model.bin in that folder")
    return folder
