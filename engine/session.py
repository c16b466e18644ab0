"""One conversation, end to end, as two asyncio tasks over the ports.

listen:  transport.inbound -> InputConditioner (16 kHz mono frames) -> Endpointer -> SpeechToTextStream
respond: finished utterance -> transcript -> Dialogue (retrieval, model, tools) -> SentenceChunker -> speakable -> TextToSpeech
         -> OutputConditioner -> transport.play (paced)

The listen task never waits on the reply: it keeps draining the transport (an undrained WebRTC track grows
without bound). A failure in either task ends this session, with the error logged and shown to the user;
it never reaches other sessions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from engine.audio import AudioFrame, Pcm
from engine.chunking import SentenceChunker
from engine.dialogue import Dialogue
from engine.endpointing import (
    Endpointer,
    SpeechPaused,
    SpeechResumed,
    UtteranceDiscarded,
    UtteranceEnded,
    UtteranceStarted,
)
from engine.ports import SpeechToText, SpeechToTextStream, TextToSpeech, Transport
from engine.resample import InputConditioner, OutputConditioner
from engine.settings import PROCESSING_RATE, Settings
from engine.spoken import speakable
from engine.tools import Action
from engine.turns import TurnState, TurnTaker
from engine.waterfall import Waterfall


@dataclass(frozen=True)
class TurnRecord:
    turn_id: int
    transcript: str
    reply: str
    timings_ms: dict[str, float]
    actions: tuple[Action, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Utterance:
    stream: SpeechToTextStream
    ended: UtteranceEnded


class Session:
    def __init__(
        self,
        session_id: str,
        transport: Transport,
        stt: SpeechToText,
        dialogue: Dialogue,
        tts: TextToSpeech,
        settings: Settings,
        on_turn: Callable[[TurnRecord], None] | None = None,
    ) -> None:
        self.id = session_id
        self.transport = transport
        self.stt, self.dialogue, self.tts = stt, dialogue, tts
        self.turns = TurnTaker(self._state_changed)
        self.records: list[TurnRecord] = []
        self.error: BaseException | None = None
        self._settings = settings
        self._on_turn = on_turn
        frame_ms = settings.audio.frame_ms
        self._conditioner = InputConditioner(PROCESSING_RATE, frame_ms)
        self._endpointer = Endpointer(settings.vad, settings.endpoint, PROCESSING_RATE, frame_ms)
        self._stream: SpeechToTextStream | None = None
        self._utterances: asyncio.Queue[_Utterance] = asyncio.Queue()
        self._log = structlog.get_logger("taina.session")

    async def run(self) -> None:
        """Serve the conversation until the user hangs up or a media task fails. Does not raise on failure."""
        structlog.contextvars.bind_contextvars(session_id=self.id)
        self._log.info("session.started", stt=self.stt.name, lm=self.dialogue.lm.name, tts=self.tts.name)
        self.stt.start()  # cloud providers connect now, ahead of the first turn
        self.tts.start()
        try:
            async with asyncio.TaskGroup() as group:
                listening = group.create_task(self._listen(), name=f"listen-{self.id}")
                responding = group.create_task(self._respond(), name=f"respond-{self.id}")
                await listening
                responding.cancel()
        except* Exception as failure:
            self.error = failure.exceptions[0]
            self._log.error("session.failed", exc_info=self.error)
            self.transport.send_event(
                {"type": "error", "message": "La conversación se interrumpió por un error."}
            )
        finally:
            if self._stream is not None:
                stream, self._stream = self._stream, None
                try:
                    await stream.aclose()
                except Exception:
                    self._log.warning("stt.close_failed", exc_info=True)
            for provider in (self.stt, self.tts):
                try:
                    await provider.aclose()
                except Exception:
                    self._log.warning("provider.close_failed", provider=provider.name, exc_info=True)
            await self.transport.close()
            self._log.info("session.ended", turns=len(self.records), failed=self.error is not None)

    # -- listen -------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        async for raw in self.transport.inbound():
            for frame in self._conditioner.push(raw):
                await self.hear(frame)

    async def hear(self, frame: AudioFrame) -> None:
        """One 16 kHz mono frame of the user's audio (the hot path)."""
        if not self.turns.hears_user:
            return
        event = self._endpointer.push(frame)
        stream = self._stream
        if event is None:
            if stream is not None:
                await stream.send(frame)
        elif isinstance(event, UtteranceStarted):
            self._stream = stream = self.stt.open(on_interim=self._interim)
            for earlier in event.preroll:
                await stream.send(earlier)
            self.turns.to(TurnState.USER_SPEAKING)
        elif stream is None:
            raise RuntimeError(f"{type(event).__name__} outside an utterance")
        elif isinstance(event, SpeechPaused):
            await stream.send(frame)
            stream.speech_paused()
        elif isinstance(event, SpeechResumed):
            await stream.send(frame)
            stream.speech_resumed()
        elif isinstance(event, UtteranceEnded):
            self._stream = None
            self.turns.to(TurnState.THINKING)
            self._utterances.put_nowait(_Utterance(stream, event))
        elif isinstance(event, UtteranceDiscarded):
            self._stream = None
            await stream.aclose()
            self.turns.to(TurnState.LISTENING)

    # -- respond ------------------------------------------------------------------------------------------

    async def _respond(self) -> None:
        while True:
            utterance = await self._utterances.get()
            await self._take_turn(utterance)

    async def _take_turn(self, utterance: _Utterance) -> None:
        turn_id = self.turns.turn_id
        waterfall = Waterfall(utterance.ended.end_of_speech)
        waterfall.mark("end_of_speech", utterance.ended.detected_at)
        transcript = (await utterance.stream.finish()).text.strip()
        waterfall.mark("transcript")
        if not transcript:
            self._log.info("turn.no_speech", turn=turn_id)
            self.turns.to(TurnState.LISTENING)
            return
        self.transport.send_event({"type": "transcript", "role": "user", "text": transcript, "turn": turn_id})
        reply = await self._speak_reply(turn_id, transcript, waterfall)
        outcome = self.dialogue.last
        record = TurnRecord(
            turn_id,
            transcript,
            reply,
            waterfall.as_ms(),
            tuple(outcome.actions) if outcome else (),
            outcome.sources if outcome else (),
        )
        self.records.append(record)
        self._log.info(
            "turn.completed", turn=turn_id, transcript=transcript, reply=reply, timings_ms=record.timings_ms
        )
        if self._on_turn is not None:
            self._on_turn(record)

    async def _speak_reply(self, turn_id: int, transcript: str, waterfall: Waterfall) -> str:
        chunker = SentenceChunker()
        output = OutputConditioner(self.transport.output_rate, self._settings.audio.frame_ms)
        parts: list[str] = []

        def first_frame_out(at: float) -> None:
            waterfall.mark("first_audio", at)
            if self.turns.state is TurnState.THINKING:
                self.turns.to(TurnState.ASSISTANT_SPEAKING)

        async def say(sentence: str) -> None:
            waterfall.mark("first_clause")
            self.transport.send_event(
                {"type": "transcript", "role": "assistant", "text": sentence, "turn": turn_id}
            )
            async for chunk in self.tts.synthesize(speakable(sentence)):
                waterfall.mark("tts_first_audio")
                for samples in output.push(chunk.samples, chunk.sample_rate):
                    await play(samples)

        first_queued = False

        async def play(samples: Pcm) -> None:
            nonlocal first_queued
            on_sent = None if first_queued else first_frame_out
            first_queued = True
            await self.transport.play(AudioFrame(samples, output.rate), on_sent)

        async for piece in self.dialogue.reply(transcript):
            waterfall.mark("first_token")
            parts.append(piece)
            for sentence in chunker.push(piece):
                await say(sentence)
        waterfall.mark("reply_text")
        rest = chunker.flush()
        if rest:
            await say(rest)
        for samples in output.flush():
            await play(samples)
        await self.transport.drained()
        self.turns.to(TurnState.LISTENING)
        return "".join(parts).strip()

    def _interim(self, text: str) -> None:
        self.transport.send_event(
            {"type": "transcript", "role": "user", "text": text, "interim": True, "turn": self.turns.turn_id}
        )

    def _state_changed(self, old: TurnState, new: TurnState) -> None:
        if new is TurnState.LISTENING:
            self._endpointer.reset()
        self.transport.send_event({"type": "state", "state": new.value, "turn": self.turns.turn_id})
        self._log.debug("turn.state", old=old.value, new=new.value)
