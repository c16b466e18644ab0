"""One conversation, end to end, as asyncio tasks over the ports.

listen:  transport.inbound -> InputConditioner (16 kHz mono frames) -> Endpointer -> SpeechToTextStream
respond: finished utterance -> transcript -> a reply task:
         Dialogue (retrieval, model, tools) -> ClauseChunker -> queue -> Speaker (TextToSpeech -> paced frames)

The listen task never waits on the reply: it keeps draining the transport (an undrained WebRTC track grows
without bound) and keeps listening while the assistant talks. Speech past the minimum interruption while the
assistant has the floor pauses the reply's audio at the next frame (barge-in). When the interruption's
transcript comes: words cut the reply (model and text-to-speech cancelled, queued audio dropped, the turn
recorded with what was actually heard) and start the next turn; nothing or only "ajá" resumes the reply
where it paused. A booking write in flight is finished before the reply is cut.

A failure in any task ends this session, with the error logged and shown to the user; it never reaches other
sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace

from engine.audio import PROCESSING_RATE, AudioFrame, AudioSettings
from engine.chunking import ClauseChunker
from engine.dialogue import Dialogue, Preview
from engine.end_of_turn import TurnJudge
from engine.endpointing import (
    EndOfTurnSettings,
    Endpointer,
    EndpointSettings,
    SpeechPaused,
    SpeechResumed,
    UtteranceDiscarded,
    UtteranceEnded,
    UtteranceStarted,
    sounds_finished,
)
from engine.metrics import RECORDINGS_FAILED, observe_turn, observe_turn_failed
from engine.ports.records import CallRecordings, ConversationJournal, TurnEntry
from engine.ports.speech import SpeechToText, SpeechToTextStream, TextToSpeech
from engine.ports.transport import Transport
from engine.ports.turn_model import TurnModel
from engine.recording import CallRecorder
from engine.reply import Reply
from engine.resample import InputConditioner
from engine.speaker import Speaker
from engine.tools import Action
from engine.tracing import epoch_ns, ids, stage, tracer
from engine.turns import Interruption, TurnSettings, TurnState, TurnTaker, is_backchannel
from engine.usage import turn_usage
from engine.vad import VadSettings
from engine.waterfall import Waterfall


@dataclass(frozen=True)
class SessionSettings:
    """What one conversation needs to know: its audio format, how it hears speech and takes turns, and
    what it says first."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    turn: TurnSettings = field(default_factory=TurnSettings)
    end_of_turn: EndOfTurnSettings = field(default_factory=EndOfTurnSettings)
    greeting: str = ""  # said when the call starts, before the caller speaks; empty: wait for them
    max_call_s: float = 0.0  # the assistant hangs up after this long; 0: no limit


@dataclass(frozen=True)
class TurnRecord:
    turn_id: int
    transcript: str
    reply: str  # what the caller heard: the whole reply, or up to where it was interrupted
    timings_ms: dict[str, float]
    actions: tuple[Action, ...] = ()
    sources: tuple[str, ...] = ()
    interrupted: bool = False
    usage: dict[str, Any] = field(default_factory=dict)  # engine/usage.py's per-provider counts
    trace_id: str = ""  # the call's trace (OpenTelemetry), hex; "" when tracing is off


@dataclass(frozen=True)
class _Utterance:
    stream: SpeechToTextStream
    ended: UtteranceEnded
    interruption: bool  # it paused the reply in flight
    turn: int | None  # the turn it opened (None: more speech while an interruption is transcribed)


@dataclass
class _Turn:
    """A reply being said: its handle, timings, voice and task."""

    turn_id: int
    reply: Reply
    waterfall: Waterfall
    speaker: Speaker
    task: asyncio.Task[None] | None = None
    stt_seconds: float = 0.0  # the caller's audio sent to speech-to-text for this turn
    span: trace.Span = trace.INVALID_SPAN  # the turn's span, ended when the turn is recorded


class Session:
    def __init__(
        self,
        session_id: str,
        transport: Transport,
        stt: SpeechToText,
        dialogue: Dialogue,
        tts: TextToSpeech,
        settings: SessionSettings,
        on_turn: Callable[[TurnRecord], None] | None = None,
        journal: ConversationJournal | None = None,
        recordings: CallRecordings | None = None,
        turn_model: TurnModel | None = None,
    ) -> None:
        self.id = session_id
        self.transport = transport
        self.stt, self.dialogue, self.tts = stt, dialogue, tts
        self.turns = TurnTaker(self._state_changed)
        self.records: list[TurnRecord] = []
        self.error: BaseException | None = None
        self._settings = settings
        self._on_turn = on_turn
        self._journal = journal
        self._recordings = recordings
        self._recorder: CallRecorder | None = None
        frame_ms = settings.audio.frame_ms
        self._conditioner = InputConditioner(PROCESSING_RATE, frame_ms)
        self._endpointer = Endpointer(
            settings.vad, settings.endpoint, PROCESSING_RATE, frame_ms, settings.end_of_turn
        )
        self.judge = TurnJudge(turn_model, settings.end_of_turn, self._endpointer, frame_ms)
        self._min_interruption = settings.turn.min_interruption_ms / 1000
        self._interruptible = settings.turn.interruptible
        self._preemptive = settings.turn.preemptive_generation
        self._preview: Preview | None = None  # the reply started on an interim transcript
        self._last_interim = ""
        self._stream: SpeechToTextStream | None = None
        self._overheard_at = 0.0  # the first voiced frame of the speech over the assistant
        self._transcribing: int | None = None  # the turn whose transcript the reply waits for
        self._reply: _Turn | None = None  # the reply being said; None once it is cut
        self._utterances: asyncio.Queue[_Utterance] = asyncio.Queue()
        self._group: asyncio.TaskGroup | None = None
        self.media_flowed = False  # the first inbound frame arrived: the conversation is journalled from then
        self.reached_max_length = False
        self.trace_id = ""  # the call's trace, hex, once it runs with tracing on
        self._log = structlog.get_logger("taina.session")

    async def run(self) -> None:
        """Serve the conversation until the user hangs up or a media task fails. Does not raise on failure."""
        structlog.contextvars.bind_contextvars(session_id=self.id, conversation_id=self.id)
        # The call's trace: every span of the call (turns, their stages, HTTP and database calls) is under it.
        call_span = tracer.start_span("call", attributes={"taina.conversation_id": self.id, "taina.stt": self.stt.name,
                                                          "taina.lm": self.dialogue.lm.name, "taina.tts": self.tts.name})  # fmt: skip
        traced = otel_context.attach(trace.set_span_in_context(call_span))
        self.trace_id = ids(call_span)[0]
        self._log.info("session.started", stt=self.stt.name, lm=self.dialogue.lm.name, tts=self.tts.name)
        self._start_recording()
        self.stt.start()  # cloud providers connect now, ahead of the first turn
        self.tts.start()
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                listening = group.create_task(self._listen(), name=f"listen-{self.id}")
                responding = group.create_task(self._respond(), name=f"respond-{self.id}")
                greeting = self._settings.greeting.strip()
                if greeting:
                    self._greet(greeting)
                limit = self._settings.max_call_s
                done, _ = await asyncio.wait([listening], timeout=limit if limit > 0 else None)
                if not done:  # the longest call allowed: the assistant hangs up, as the caller would
                    self.reached_max_length = True
                    self._log.info("session.max_length", seconds=limit)
                    self.transport.send_event({"type": "ended", "reason": "max_length"})
                    listening.cancel()
                    await asyncio.wait([listening])
                responding.cancel()
                await self._cut_reply(hung_up=True)  # a reply cut by the hang-up is a turn too
        except* Exception as failure:
            self.error = failure.exceptions[0]
            self._log.error("session.failed", exc_info=self.error)
            observe_turn_failed()
            self.transport.send_event(
                {"type": "error", "message": "La conversación se interrumpió por un error."}
            )
        finally:
            self.judge.close()
            if self._preview is not None:
                self._preview.cancel()
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
            await self.transport.aclose()
            if self._journal is not None and self.media_flowed:
                self._journal.ended(self.id, len(self.records), self.error is not None)
            await self._finish_recording()
            self._log.info("session.ended", turns=len(self.records), failed=self.error is not None)
            call_span.set_attributes(
                {"taina.turns": len(self.records), "taina.failed": self.error is not None}
            )
            call_span.end()
            otel_context.detach(traced)

    def _start_recording(self) -> None:
        if self._recordings is None:
            return
        try:
            spool = self._recordings.open(self.id)
        except Exception:
            self._log.error("recording.open_failed", exc_info=True)  # the call goes on, unrecorded
            return
        recorder = self._recorder = CallRecorder(spool, time.monotonic())
        self.transport.tap_output(recorder.assistant)

    async def _finish_recording(self) -> None:
        recorder = self._recorder
        if recorder is None or self._recordings is None:
            return
        try:
            recorder.close()
            if not self.media_flowed:  # no caller ever spoke: nothing to keep, no conversation row
                self._recordings.discard(self.id)
                return
            if recorder.failed is not None:  # a recording cut short is not kept: no broken one in the list
                RECORDINGS_FAILED.labels("spool").inc()
                self._log.error("recording.failed", reason=str(recorder.failed))
                self._recordings.discard(self.id)
                return
            await self._recordings.finish(self.id)
        except Exception:  # the spool stays on disk; the next start finishes it
            self._log.error("recording.finish_failed", exc_info=True)

    # -- listen -------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        async for raw in self.transport.inbound():
            if not self.media_flowed:
                self._media_started()
            for frame in self._conditioner.push(raw):
                await self.hear(frame)

    def _media_started(self) -> None:
        """The caller's first audio: only now is there a conversation to keep (an offer that never sends
        media leaves no row behind)."""
        self.media_flowed = True
        if self._journal is not None:
            self._journal.started(self.id, self.stt.name, self.dialogue.lm.name, self.tts.name)

    async def hear(self, frame: AudioFrame) -> None:
        """One 16 kHz mono frame of the user's audio (the hot path)."""
        if self._recorder is not None:
            self._recorder.caller(frame.samples, frame.timestamp)
        event = self._endpointer.push(frame)
        self.judge.heard(frame, event)  # at a pause, the end-of-turn model starts listening
        stream = self._stream
        if event is None:
            if stream is not None:
                await stream.send(frame)
                if (
                    self.turns.interruption is Interruption.PENDING
                    and self._endpointer.voiced_for >= self._min_interruption
                ):
                    self._barge_in(self._overheard_at)
        elif isinstance(event, UtteranceStarted):
            await self._utterance_started(event)
        elif stream is None:
            if self.turns.interruption is not Interruption.IGNORED:
                raise RuntimeError(f"{type(event).__name__} outside an utterance")
            if isinstance(event, (UtteranceEnded, UtteranceDiscarded)):
                self.turns.overheard_ended()
        elif isinstance(event, SpeechPaused):
            await stream.send(frame)
            stream.speech_paused()
        elif isinstance(event, SpeechResumed):
            await stream.send(frame)
            stream.speech_resumed()
        elif isinstance(event, UtteranceEnded):
            await self._utterance_ended(stream, event)
        elif isinstance(event, UtteranceDiscarded):
            self._stream = None
            await stream.aclose()
            interruption = self.turns.interruption
            if interruption is Interruption.PENDING:
                self.turns.overheard_ended()
            elif interruption is not Interruption.PAUSED:
                self.turns.to(TurnState.LISTENING)
            elif self.turns.state is TurnState.USER_SPEAKING:  # the interruption itself
                self._resume()
            # else: a sound while the interruption is transcribed

    async def _utterance_started(self, event: UtteranceStarted) -> None:
        self._last_interim = ""
        if self.turns.assistant_has_floor:
            self.turns.overheard(self._interruptible)
            if not self._interruptible:
                return
            self._overheard_at = event.started_at
        elif self.turns.state is TurnState.LISTENING:
            self.turns.to(TurnState.USER_SPEAKING)
        structlog.contextvars.bind_contextvars(turn=self.turns.turn_id)
        self._stream = stream = self.stt.open(on_interim=self._interim)
        for earlier in event.preroll:
            await stream.send(earlier)

    async def _utterance_ended(self, stream: SpeechToTextStream, event: UtteranceEnded) -> None:
        self._stream = None
        if self.turns.interruption is Interruption.PENDING:
            # Too short to interrupt (a cough, "ajá") and the reply never stopped.
            self.turns.overheard_ended()
            await stream.aclose()
            return
        interruption = self.turns.interruption is Interruption.PAUSED
        if interruption and self.turns.state is not TurnState.USER_SPEAKING:
            interruption = False  # more speech while the interruption is transcribed
        turn = None
        if self.turns.state is TurnState.USER_SPEAKING:
            self.turns.to(TurnState.THINKING)
            turn = self.turns.turn_id
        self._utterances.put_nowait(_Utterance(stream, event, interruption, turn))

    def _barge_in(self, started_at: float) -> None:
        """The caller has spoken over the assistant for the minimum interruption (from ``started_at``, the
        first voiced frame): pause the reply's audio."""
        self.transport.pause_output()
        assert self.turns.interrupted is not None
        floor, turn_id = self.turns.interrupted
        self._log.info("turn.barge_in", turn=turn_id, floor=floor.value)
        self.transport.send_event({"type": "interrupted", "turn": turn_id})
        self.turns.barge_in()

    def _resume(self) -> None:
        """A false interruption: the reply goes on where it paused."""
        assert self.turns.interrupted is not None
        turn_id = self.turns.interrupted[1]
        self._log.info("turn.resumed", turn=turn_id)
        self.turns.give_back()
        self.transport.resume_output()
        if turn_id == self._transcribing:
            return  # the assistant was only thinking: its transcript is still to come
        reply = self._reply
        if reply is None or reply.task is None or reply.task.done():
            self.turns.to(TurnState.LISTENING)

    # -- respond ------------------------------------------------------------------------------------------

    async def _respond(self) -> None:
        while True:
            utterance = await self._utterances.get()
            await self._take_turn(utterance)

    async def _take_turn(self, utterance: _Utterance) -> None:
        turn_id = self.turns.turn_id
        structlog.contextvars.bind_contextvars(turn=turn_id)
        ended = utterance.ended
        waterfall = Waterfall(ended.end_of_speech)
        waterfall.mark("end_of_speech", ended.detected_at)
        self._transcribing = utterance.turn
        transcript = (await utterance.stream.finish()).text.strip()
        self._transcribing = None
        waterfall.mark("transcript")
        # The turn's span starts at the end of speech; its first stages are over already, and recorded so.
        span = tracer.start_span(
            "turn", start_time=epoch_ns(ended.end_of_speech), attributes={"taina.turn": turn_id}
        )
        with trace.use_span(span):
            stage("end_of_speech", ended.end_of_speech, ended.detected_at, {"taina.forced": ended.forced})
            stage("speech_to_text", ended.detected_at, waterfall.marks["transcript"],
                  {"taina.stt": self.stt.name, "taina.words": len(transcript.split())})  # fmt: skip
        preview, self._preview = self._preview, None
        if preview is not None and (utterance.interruption or not transcript):
            preview.cancel()
            preview = None
        if utterance.interruption:
            if is_backchannel(transcript):
                assert self.turns.interrupted is not None
                self._log.info(
                    "turn.false_interruption", turn=self.turns.interrupted[1], transcript=transcript
                )
                self._resume()
                span.end()
                return
            await self._cut_reply()
            self.turns.cut()
        elif not transcript:
            self._log.info("turn.no_speech", turn=turn_id)
            # Its own turn ends; speech the caller started meanwhile, over the assistant still thinking about
            # it, becomes their turn (a paused one is settled by its own transcript).
            if utterance.turn == self.turns.turn_id and self.turns.assistant_has_floor:
                self.turns.let_go()
            span.end()
            return
        previous = self._reply
        if previous is not None and previous.task is not None and not previous.task.done():
            await asyncio.wait([previous.task])  # it is playing its last frames
        self.transport.send_event({"type": "transcript", "role": "user", "text": transcript, "turn": turn_id})
        with trace.use_span(span):  # the reply's task runs under the turn's span
            self._start_reply(
                self.dialogue.reply(transcript, preview), turn_id, waterfall, f"reply-{self.id}-{turn_id}"
            )
        if self._reply is not None:
            self._reply.span = span
            self._reply.stt_seconds = max(0.0, ended.detected_at - ended.started_at)

    def _greet(self, greeting: str) -> None:
        """The assistant opens the call (the caller can talk over it, as over any reply)."""
        self.turns.to(TurnState.THINKING)
        reply = self.dialogue.opened_with(greeting)
        span = tracer.start_span(
            "turn", attributes={"taina.turn": self.turns.turn_id, "taina.greeting": True}
        )
        with trace.use_span(span):
            self._start_reply(reply, self.turns.turn_id, Waterfall(time.monotonic()), f"greeting-{self.id}")
        assert self._reply is not None
        self._reply.span = span

    def _start_reply(self, reply: Reply, turn_id: int, waterfall: Waterfall, name: str) -> None:
        structlog.contextvars.bind_contextvars(turn=turn_id)
        turn = self._reply = _Turn(turn_id, reply, waterfall, self._speaker(turn_id, waterfall))
        assert self._group is not None
        turn.task = self._group.create_task(self._run_reply(turn), name=name)

    def _speaker(self, turn_id: int, waterfall: Waterfall) -> Speaker:
        def first_frame_out(at: float) -> None:
            waterfall.mark("first_audio", at)
            if self.turns.state is TurnState.THINKING and self.turns.turn_id == turn_id:
                self.turns.to(TurnState.ASSISTANT_SPEAKING)

        def live() -> bool:
            reply = self._reply
            return reply is not None and reply.turn_id == turn_id

        return Speaker(
            self.tts, self.transport, self._settings.audio.frame_ms, waterfall, first_frame_out, live
        )

    async def _run_reply(self, turn: _Turn) -> None:
        """The reply's text through the clause chunker into a queue, and from it into speech, side by side."""
        clauses: asyncio.Queue[str | None] = asyncio.Queue()
        waterfall = turn.waterfall

        async def write() -> None:
            chunker = ClauseChunker()
            async with contextlib.aclosing(turn.reply) as pieces:
                async for piece in pieces:
                    waterfall.mark("first_token")
                    for clause in chunker.push(piece):
                        waterfall.mark("first_clause")
                        clauses.put_nowait(clause)
            waterfall.mark("reply_text")
            rest = chunker.flush()
            if rest:
                waterfall.mark("first_clause")
                clauses.put_nowait(rest)
            clauses.put_nowait(None)

        async def speak() -> None:
            while (clause := await clauses.get()) is not None:
                self.transport.send_event(
                    {"type": "transcript", "role": "assistant", "text": clause, "turn": turn.turn_id}
                )
                await turn.speaker.say(clause)
            await turn.speaker.finish()

        async with asyncio.TaskGroup() as group:
            group.create_task(write())
            group.create_task(speak())
        self._record(turn)
        self._reply_finished(turn)

    def _reply_finished(self, reply: _Turn) -> None:
        if self.turns.turn_id != reply.turn_id or not self.turns.assistant_has_floor:
            return  # the caller has the floor already
        self.turns.let_go()  # the caller started talking near the end of the reply: now it is a turn

    async def _cut_reply(self, hung_up: bool = False) -> None:
        """Stop the reply in flight for good: model and text-to-speech cancelled, its queued audio dropped."""
        turn = self._reply
        if turn is None or turn.task is None or turn.task.done():
            self.transport.clear_output()
            self.transport.resume_output()
            return
        # A booking write finishes first (its audio stays paused); after a hang-up, not for long.
        try:
            async with asyncio.timeout(5 if hung_up else None):
                await self.dialogue.interruptible()
        except TimeoutError:
            self._log.warning("turn.write_outlived_hang_up", turn=turn.turn_id)
        self._reply = None  # no more of its audio goes out
        turn.task.cancel()
        await asyncio.wait([turn.task])
        dropped = self.transport.clear_output()
        self.transport.resume_output()
        heard = turn.speaker.heard(turn.speaker.frames_queued - dropped)
        turn.reply.cut(heard)
        self._log.info(
            "turn.interrupted", turn=turn.turn_id, heard=heard, frames_dropped=dropped, hung_up=hung_up
        )
        self._record(turn)

    def _record(self, turn: _Turn) -> None:
        reply = turn.reply
        interrupted = reply.interrupted
        record = TurnRecord(
            turn.turn_id,
            reply.said,
            reply.text,
            turn.waterfall.as_ms(),
            tuple(reply.actions),
            reply.sources,
            interrupted,
            turn_usage(
                (self.dialogue.lm.name, reply.tokens),
                (self.stt.name, turn.stt_seconds),
                (self.tts.name, turn.speaker.characters),
            ),
            ids(turn.span)[0] or self.trace_id,
        )
        if turn.span.is_recording():
            turn.span.set_attributes({"taina.interrupted": interrupted, "taina.actions": len(reply.actions)})
            turn.span.end()
        self.records.append(record)
        observe_turn(record.timings_ms, interrupted)
        if self._journal is not None:
            self._journal.turn(
                self.id,
                TurnEntry(
                    record.turn_id,
                    record.transcript,
                    record.reply,
                    interrupted,
                    record.timings_ms,
                    [a.as_json() for a in record.actions],
                    record.sources,
                    record.usage,
                    record.trace_id,
                ),
            )
        self._log.info(
            "turn.completed",
            turn=record.turn_id,
            transcript=record.transcript,
            reply=record.reply,
            interrupted=interrupted,
            timings_ms=record.timings_ms,
        )
        if self._on_turn is not None:
            self._on_turn(record)

    def _interim(self, text: str) -> None:
        self._endpointer.hint(text)
        stable = text == self._last_interim or sounds_finished(text) is True
        self._last_interim = text
        if (
            self._preemptive
            and stable
            and self.turns.interruption is Interruption.NONE
            and self.turns.state is TurnState.USER_SPEAKING
            and (self._preview is None or not self._preview.matches(text))
        ):
            if self._preview is not None:
                self._preview.cancel()
            self._preview = self.dialogue.preview(text)
            self._log.debug("turn.preemptive", previewed=text)
        self.transport.send_event(
            {"type": "transcript", "role": "user", "text": text, "interim": True, "turn": self.turns.turn_id}
        )

    def _state_changed(self, old: TurnState, new: TurnState) -> None:
        self.transport.send_event({"type": "state", "state": new.value, "turn": self.turns.turn_id})
        self._log.debug("turn.state", old=old.value, new=new.value)
