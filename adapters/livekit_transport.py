"""A call in a LiveKit room, through the official SDK (``livekit.rtc``): the engine joins as an agent participant.

- Inbound: only the caller's microphone is subscribed (auto-subscribe is off), through ``rtc.AudioStream`` at the
  engine's processing rate, mono. The caller is the first participant of kind STANDARD or SIP who is not staff
  (attribute ``taina.role``): a supervisor who joins hears both sides, as the SFU relays them, and the engine
  never answers a supervisor or another agent. The call ends when the caller leaves, the room closes, the
  connection to LiveKit is lost, or no audio comes for ``media_timeout_s``.
- Outbound: the engine's PacedPlayout (20 ms frames, silence fill) feeds an ``rtc.AudioSource`` published as a
  microphone track; the native library encodes Opus, encrypts and paces the packets.
- Events: transcripts go out on LiveKit's ``lk.transcription`` text-stream topic (attributes
  ``lk.transcription_final``, ``lk.segment_id``, ``lk.transcribed_track_id``), which LiveKit's client components
  show; the agent's state is the participant attribute ``lk.agent.state`` (listening, thinking, speaking); every
  event is also sent as JSON on the data topic ``taina.events`` (what the voice page shows on the direct path).
- A caller of kind SIP (LiveKit SIP) brings the number they call from in ``sip.phoneNumber``: ``caller_phone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import structlog
from livekit import api, rtc

from engine.audio import PROCESSING_RATE, AudioFrame, AudioSettings
from engine.options import Section, knob
from engine.playout import PacedPlayout, PlayoutOutput


class LiveKitSettings(Section):
    prefix: ClassVar[str] = "TAINA_LIVEKIT"
    url: str = knob(
        "",
        "The LiveKit server (wss://host or ws://host:7880); empty: LiveKit is off and calls come only through the "
        "direct WebRTC path.",
        env="LIVEKIT_URL",
    )
    api_key: str = knob(
        "", "LiveKit API key: signs the engine's and callers' room tokens.", env="LIVEKIT_API_KEY"
    )
    api_secret: str = knob(
        "", "LiveKit API secret (at least 32 characters).", env="LIVEKIT_API_SECRET", secret=True
    )
    agent_name: str = knob(
        "taina",
        "The engine's agent name in LiveKit (explicit dispatch names it) and its participant identity's prefix.",
        form=(r"^[A-Za-z0-9_.-]{1,64}$", "be 1-64 letters, digits, '_', '.' or '-'"),
    )
    room_prefix: str = knob(
        "taina-",
        "Prefix of the room names the token endpoint generates for callers.",
        form=(r"^[A-Za-z0-9_.-]{0,32}$", "be at most 32 letters, digits, '_', '.' or '-'"),
    )
    transfer_number: str = knob(
        "",
        "Where a phone (SIP) caller is transferred when they ask for a person (tel:+34... or sip:...); empty: "
        "no transfer, the call is marked as handed off.",
    )
    worker: bool = knob(
        True,
        "With LiveKit configured, `taina serve` registers with the LiveKit server as an agent worker (LiveKit's "
        "agent dispatch): it takes jobs while it has room for another call, reports its load, and drains on "
        "SIGTERM. Off: the engine joins rooms only through explicit dispatch and the token endpoint.",
    )
    reconnect_grace_s: float = knob(
        10.0,
        "How long a call waits for the SDK to get its connection to LiveKit back (a signalling drop) before it "
        "ends, in s (the audio stream goes on with silence meanwhile, so this, not the media timeout, ends it).",
        ge=1,
        le=300,
    )
    caller_wait_s: float = knob(
        60.0, "How long the engine waits in a room for a caller before it leaves, in s.", ge=1, le=3_600
    )
    token_ttl_s: int = knob(600, "How long a caller's room token is good for, in s.", ge=30, le=86_400)
    tokens_per_minute: int = knob(
        10, "Caller tokens one address may get in a minute; then 429.", ge=1, le=10_000
    )

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.api_key and self.api_secret)


log = structlog.get_logger("taina.livekit")

STAFF_ATTRIBUTE = "taina.role"  # participants with this attribute (supervisor, staff) are never answered
EVENTS_TOPIC = "taina.events"
TRANSCRIPTION_TOPIC = "lk.transcription"
_AGENT_STATES = {"listening": "listening", "user_speaking": "listening", "thinking": "thinking"}
_CALLER_KINDS = (rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD, rtc.ParticipantKind.PARTICIPANT_KIND_SIP)


class NotConfigured(RuntimeError):
    """LiveKit is not configured (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)."""


class NoCaller(RuntimeError):
    """No caller came into the room in time."""


def agent_token(settings: LiveKitSettings, room: str, identity: str) -> str:
    """The engine's token for one room: join, publish its voice and data, subscribe, set its own attributes."""
    return (
        api.AccessToken(settings.api_key, settings.api_secret)
        .with_identity(identity)
        .with_name("TAINA")
        .with_kind("agent")
        .with_ttl(datetime.timedelta(hours=2))
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=room,
                can_publish=True,
                can_subscribe=True,
                can_publish_data=True,
                can_update_own_metadata=True,
                agent=True,
            )
        )
        .to_jwt()
    )


def caller_token(settings: LiveKitSettings, room: str, identity: str) -> str:
    """A caller's token: this room only, publish a microphone and subscribe, nothing else (no data, no
    screen share, no camera, no changing their own name or attributes), for ``token_ttl_s``."""
    return (
        api.AccessToken(settings.api_key, settings.api_secret)
        .with_identity(identity)
        .with_ttl(datetime.timedelta(seconds=settings.token_ttl_s))
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=room,
                can_publish=True,
                can_publish_sources=["microphone"],
                can_subscribe=True,
                can_publish_data=False,
                can_update_own_metadata=False,
            )
        )
        .to_jwt()
    )


def server_api(settings: LiveKitSettings) -> api.LiveKitAPI:
    if not settings.enabled:
        raise NotConfigured(
            "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
        )
    return api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret)


@dataclass(frozen=True)
class Caller:
    identity: str
    kind: int
    phone: str | None  # a SIP caller's number


def is_caller(participant: rtc.RemoteParticipant) -> bool:
    return participant.kind in _CALLER_KINDS and STAFF_ATTRIBUTE not in participant.attributes


class LiveKitTransport(PlayoutOutput):
    def __init__(
        self, room: rtc.Room, audio: AudioSettings, media_timeout_s: float, reconnect_grace_s: float = 10.0
    ) -> None:
        self.output_rate = audio.output_rate
        self.room = room
        self.room_name = ""
        self._playout = PacedPlayout(audio.output_rate, audio.frame_ms, audio.playout_queue_ms)
        self._source = rtc.AudioSource(audio.output_rate, 1, queue_size_ms=100)
        self._media_timeout = media_timeout_s
        self.caller: Caller | None = None
        self._caller_track: rtc.RemoteAudioTrack | None = None
        self._caller_here = asyncio.Event()
        self._track_here = asyncio.Event()
        self._ended = asyncio.Event()
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=256)
        self._tasks: list[asyncio.Task[None]] = []
        self._reply_track_sid = ""
        self._closed = False
        self._gone = asyncio.Event()  # set once aclose() is done
        self._reconnect_grace = reconnect_grace_s
        self._reconnecting: asyncio.TimerHandle | None = None
        room.on("participant_connected", self._participant_connected)
        room.on("participant_disconnected", self._participant_disconnected)
        room.on("track_published", self._track_published)
        room.on("track_subscribed", self._track_subscribed)
        room.on("disconnected", self._disconnected)
        room.on("connection_state_changed", self._connection_changed)
        room.on("reconnecting", self._reconnecting_started)
        room.on("reconnected", self._reconnected)

    @classmethod
    async def join(
        cls,
        settings: LiveKitSettings,
        audio: AudioSettings,
        room_name: str,
        media_timeout_s: float = 10.0,
        token: str = "",
        url: str = "",
    ) -> LiveKitTransport:
        """Join ``room_name`` as the agent and publish the reply track; the caller may come later. ``token`` and
        ``url``: a job assignment's (LiveKit's dispatch), instead of a token made here and LIVEKIT_URL."""
        if not settings.enabled:
            raise NotConfigured(
                "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        room = rtc.Room()
        transport = cls(room, audio, media_timeout_s, settings.reconnect_grace_s)
        transport.room_name = room_name
        identity = f"{settings.agent_name}-{int(time.time() * 1000) % 10**9}"
        try:
            await room.connect(
                url or settings.url,
                token or agent_token(settings, room_name, identity),
                rtc.RoomOptions(auto_subscribe=False, connect_timeout=15),
            )
            track = rtc.LocalAudioTrack.create_audio_track("taina-voice", transport._source)
            publication = await room.local_participant.publish_track(
                track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            )
            transport._reply_track_sid = publication.sid
        except BaseException:
            await room.disconnect()
            raise
        transport._tasks.append(asyncio.create_task(transport._pump(), name=f"livekit-out-{room_name}"))
        transport._tasks.append(
            asyncio.create_task(transport._send_events(), name=f"livekit-events-{room_name}")
        )
        for participant in list(room.remote_participants.values()):
            transport._participant_connected(participant)
        log.info("livekit.joined", room=room_name, identity=identity)
        return transport

    async def wait_for_caller(self, timeout_s: float) -> Caller:
        """The caller, once they are in the room; NoCaller if none comes in ``timeout_s`` or the room closes."""
        waiting = asyncio.ensure_future(self._caller_here.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait([waiting, ended], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            ended.cancel()
        if self.caller is None:
            raise NoCaller(f"no caller came into room {self.room_name!r} in {timeout_s:.0f} s")
        return self.caller

    # -- the room's events ------------------------------------------------------------------------------------

    def _participant_connected(self, participant: rtc.RemoteParticipant) -> None:
        if self.caller is not None or not is_caller(participant):
            log.info("livekit.not_answered", identity=participant.identity, kind=int(participant.kind))
            return
        phone = None
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            phone = participant.attributes.get("sip.phoneNumber") or None
        self.caller = Caller(participant.identity, int(participant.kind), phone)
        log.info("livekit.caller", identity=participant.identity, sip=phone is not None)
        self._caller_here.set()
        for publication in participant.track_publications.values():
            self._maybe_subscribe(publication, participant)

    def _track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        self._maybe_subscribe(publication, participant)

    def _maybe_subscribe(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if (
            self.caller is not None
            and participant.identity == self.caller.identity
            and publication.kind == rtc.TrackKind.KIND_AUDIO
            and self._caller_track is None
        ):
            publication.set_subscribed(True)

    def _track_subscribed(
        self, track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if (
            self.caller is None
            or participant.identity != self.caller.identity
            or self._caller_track is not None
            or not isinstance(track, rtc.RemoteAudioTrack)
        ):
            return
        self._caller_track = track
        self._track_here.set()

    def _participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if self.caller is not None and participant.identity == self.caller.identity:
            log.info("livekit.caller_left", identity=participant.identity)
            self._ended.set()

    def _disconnected(self, reason: Any = None) -> None:
        log.info("livekit.disconnected", reason=str(reason))
        self._ended.set()

    def _connection_changed(self, state: Any) -> None:
        if state == rtc.ConnectionState.CONN_DISCONNECTED:
            self._ended.set()
        elif state == rtc.ConnectionState.CONN_RECONNECTING:
            self._reconnecting_started()
        elif state == rtc.ConnectionState.CONN_CONNECTED:
            self._reconnected()

    def _reconnecting_started(self) -> None:
        """The connection to LiveKit dropped and the SDK is trying to resume: the caller hears nothing and the
        audio stream yields silence, so the call ends if it does not come back within the grace."""
        log.warning("livekit.reconnecting", room=self.room_name, grace_s=self._reconnect_grace)
        if self._reconnecting is None:
            self._reconnecting = asyncio.get_running_loop().call_later(self._reconnect_grace, self._gave_up)

    def _reconnected(self) -> None:
        if self._reconnecting is not None:
            log.info("livekit.reconnected", room=self.room_name)
            self._reconnecting.cancel()
            self._reconnecting = None

    def _gave_up(self) -> None:
        self._reconnecting = None
        log.warning("livekit.connection_lost", room=self.room_name, grace_s=self._reconnect_grace)
        self._ended.set()

    # -- audio in ---------------------------------------------------------------------------------------------

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        """The caller's audio at the engine's processing rate; ends when the call does."""
        ended: asyncio.Future[Any] = asyncio.ensure_future(self._ended.wait())
        try:
            track_here = asyncio.ensure_future(self._track_here.wait())
            done, _ = await asyncio.wait(
                [track_here, ended], timeout=self._media_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            track_here.cancel()
            if self._caller_track is None:
                if done:  # the call ended first (the caller left before publishing): no timeout to report
                    log.info("livekit.ended_before_caller_audio", room=self.room_name)
                else:
                    log.warning("livekit.no_caller_audio", seconds=self._media_timeout, room=self.room_name)
                return
            stream = rtc.AudioStream(self._caller_track, sample_rate=PROCESSING_RATE, num_channels=1)
            frames = stream.__aiter__()
            try:
                while not self._ended.is_set():
                    nxt: asyncio.Future[Any] = asyncio.ensure_future(frames.__anext__())
                    done, _ = await asyncio.wait(
                        [nxt, ended], timeout=self._media_timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    if nxt not in done:
                        nxt.cancel()
                        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                            await nxt
                        if not done:
                            log.warning("livekit.no_media", seconds=self._media_timeout)
                        return
                    try:
                        event = nxt.result()
                    except StopAsyncIteration:
                        return
                    frame = event.frame
                    samples = np.frombuffer(frame.data, dtype=np.int16).copy()
                    yield AudioFrame(samples, frame.sample_rate, time.monotonic(), frame.num_channels)
            finally:
                await stream.aclose()
        finally:
            ended.cancel()

    # -- audio out --------------------------------------------------------------------------------------------

    async def _pump(self) -> None:
        """Paced frames from the playout into the published track, silence included (LiveKit's encoder
        wants a steady stream)."""
        rate = self._playout.rate
        while True:
            samples, _due, _silence = await self._playout.next_frame()
            await self._source.capture_frame(rtc.AudioFrame(samples.tobytes(), rate, 1, len(samples)))

    # -- events -----------------------------------------------------------------------------------------------

    def send_event(self, event: dict[str, Any]) -> None:
        if self._closed:
            return
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("livekit.events_dropped", type=event.get("type"))

    async def _send_events(self) -> None:
        local = self.room.local_participant
        while (event := await self._events.get()) is not None:
            try:
                await local.publish_data(
                    json.dumps(event, ensure_ascii=False), reliable=True, topic=EVENTS_TOPIC
                )
                if event.get("type") == "transcript":
                    await self._transcript(local, event)
                elif event.get("type") == "state":
                    state = _AGENT_STATES.get(str(event.get("state")), "speaking")
                    async with asyncio.timeout(2):
                        await local.set_attributes({"lk.agent.state": state})
            except Exception as exc:  # the room may be closing: the event is lost, the call goes on
                log.info("livekit.event_not_sent", type=event.get("type"), error=exc.__class__.__name__)

    async def _transcript(self, local: rtc.LocalParticipant, event: dict[str, Any]) -> None:
        user = event.get("role") == "user"
        track = self._caller_track.sid if user and self._caller_track is not None else self._reply_track_sid
        await local.send_text(
            str(event.get("text", "")),
            topic=TRANSCRIPTION_TOPIC,
            attributes={
                "lk.transcription_final": "false" if event.get("interim") else "true",
                "lk.segment_id": f"{event.get('role')}-{event.get('turn')}",
                "lk.transcribed_track_id": track,
                "taina.role": str(event.get("role")),
            },
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        self._playout.clear()
        with contextlib.suppress(asyncio.QueueFull):
            self._events.put_nowait(None)
        events = self._tasks[1:] if len(self._tasks) > 1 else []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await asyncio.gather(*events, return_exceptions=True)  # the last events (ended, errors)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.room.disconnect()
        with contextlib.suppress(Exception):
            await self._source.aclose()
        self._ended.set()
        self._gone.set()
        log.info("livekit.left", room=self.room_name)

    @property
    def hearing_caller(self) -> bool:
        """The caller's microphone is subscribed (their audio reaches the engine from now on)."""
        return self._track_here.is_set()

    async def closed(self) -> None:
        """Returns once the engine has left the room (the call is over)."""
        await self._gone.wait()

    @property
    def is_closed(self) -> bool:
        return self._closed
