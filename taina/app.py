"""The composition root: the one place that turns settings into adapters, and owns their whole lifetime.

    async with App.open(settings, speech=True, samples=True) as app:
        session = app.new_session(transport)       # a call
        fastapi_app = app.http()                   # the HTTP face

``open`` builds, in order: the speech models, the database and object store with the knowledge base, the
appointments system, the assistant (which language model, the prompt, the tools), the conversation journal
and the call recordings; it closes them in reverse. ``serve``, ``converse``, ``chat`` and the benchmarks go
through ``open``; ``ingest``, ``search`` and ``documents`` through ``library``, which opens only the documents.
Settings changed from the dashboard reach it through ``apply``, and everything reads ``app.settings`` when it
needs a value, never a copy taken earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from adapters import library_patches
from adapters.conversation_journal import PostgresJournal
from adapters.private import private_dir, tighten
from adapters.recordings import Recordings
from engine.ports.knowledge import Embedder
from engine.ports.records import ConversationJournal
from engine.ports.speech import SpeechToText, TextToSpeech
from engine.ports.transport import Transport
from engine.session import Session, TurnRecord
from taina.assistant import Assistant
from taina.backend import Backend
from taina.knowledge.ingest import Library
from taina.knowledge.open import KnowledgeParts
from taina.speech import Speech

if TYPE_CHECKING:
    from fastapi import FastAPI

    from taina.settings import Settings
    from taina.workers import WorkerPlace

log = structlog.get_logger("taina.app")


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class NoSpeech(RuntimeError):
    """The app was opened without speech models (speech=False) but a call asked for them."""


@dataclass
class App:
    settings: Settings
    assistant: Assistant
    backend: Backend | None = None  # documents, appointments and accounts; None for a speech-only app
    speech: Speech | None = None  # the speech models; None for text-only commands
    journal: ConversationJournal | None = None  # conversations kept in the database
    recordings: Recordings | None = None  # and their recordings in the object store

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        speech: bool = False,
        samples: bool = False,
        backend: Backend | None = None,
        embedder: Embedder | None = None,
        progress: bool | None = None,
    ) -> AsyncIterator[App]:
        """Everything checked now: a missing model, an unreachable database, store or booking system fails here,
        with its reason. ``speech`` loads the speech models; ``samples`` loads the sample centre's documents
        into an empty knowledge base; ``backend`` uses one already open (tests share one) instead of opening
        and closing one; ``embedder`` one already loaded."""
        private_dir(settings.data_dir, pass_through=True)
        tighten(settings.data_dir, skip=("models", "postgres"))  # what an older version left readable by all
        async with contextlib.AsyncExitStack() as stack:
            voices: Speech | None = None
            if speech:
                library_patches.apply(settings.webrtc.ice_addresses)
                voices = Speech(settings, progress)
                stack.callback(voices.close)
            if backend is None:
                backend = await Backend.open(settings, embedder)
                stack.push_async_callback(backend.aclose)
            if samples:
                await backend.load_samples()
            assistant = Assistant(settings, backend)
            stack.push_async_callback(assistant.aclose)
            await assistant.find_emergency_numbers()
            journal = PostgresJournal(backend.database)
            stack.push_async_callback(journal.aclose)
            recordings = (
                Recordings(
                    settings.data_dir / "recordings",
                    backend.objects,
                    backend.database,
                )
                if settings.recordings.enabled
                else None
            )
            if recordings is not None:  # recordings that could not be stored at hang-up, tried again
                retries = asyncio.create_task(recordings.run_retries(), name="recording-retries")
                stack.push_async_callback(_cancelled, retries)
            log.info("app.ready", data_dir=str(settings.data_dir), language_model=assistant.language_model)
            yield cls(settings, assistant, backend, voices, journal, recordings)

    @staticmethod
    @contextlib.asynccontextmanager
    async def library(settings: Settings) -> AsyncIterator[Library]:
        """Only the documents (database, object store, embedder), for the commands that manage them (ingest,
        search, documents): they need neither speech nor the booking system."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        parts = await KnowledgeParts.open(settings)
        try:
            yield parts.library
        finally:
            await parts.aclose()

    def speech_to_text(self) -> SpeechToText:
        return self._speech().speech_to_text()

    def text_to_speech(self) -> TextToSpeech:
        return self._speech().text_to_speech()

    def new_session(
        self,
        transport: Transport,
        on_turn: Callable[[TurnRecord], None] | None = None,
        session_id: str | None = None,
        transfers: Callable[[], bool] = lambda: False,
    ) -> Session:
        """A call on ``transport``; ``transfers`` answers whether its transport can put the caller through to
        the staff (a LiveKit SIP call with a staff number): the hand-off reply then says so."""
        sid = session_id or new_session_id()
        return Session(
            sid,
            transport,
            self.speech_to_text(),
            self.assistant.dialogue(sid, transfers),
            self.text_to_speech(),
            self.settings.session(),
            on_turn,
            self.journal,
            self.recordings,
            self.speech.turn_model if self.speech is not None else None,
        )

    def apply(self, settings: Settings) -> None:
        """Settings changed from the dashboard: new calls use them (the providers in use stay until restart).
        Raises, changing nothing, if they cannot be used (an unknown voice, a model without its key)."""
        commit_speech = self.speech.prepare(settings) if self.speech is not None else None
        self.assistant.configure(settings)  # raises before changing anything if the model cannot be used
        if commit_speech is not None:
            commit_speech()
        self.settings = settings
        log.info("app.settings_applied")

    def http(self, place: WorkerPlace | None = None) -> FastAPI:
        """The HTTP face: the voice page, signalling, the dashboard and the REST API (``place``: in one of
        `taina serve`'s worker processes)."""
        from taina.server import create_app

        return create_app(self, place)

    def _speech(self) -> Speech:
        if self.speech is None:
            raise NoSpeech("this app was opened without speech (App.open(..., speech=True))")
        return self.speech
