"""A LiveKit-protocol test server: enough of LiveKit for the official SDK (``livekit.rtc``) to join rooms, publish
audio, hear each other and send data, so the engine's LiveKit transport can be tested with the real SDK.

What it does (see /work/shared/livekit-signalling.md for the message sequence):
- ``GET /rtc`` WebSocket signalling in protobuf (SignalRequest / SignalResponse), the token checked with
  livekit-api's TokenVerifier (room join grant for the room, an unexpired token signed with the secret);
  ``GET /rtc/validate`` answers 401 for a bad token; ``GET /rtc/v1`` (single peer connection mode) is 404, so the
  SDK falls back to two peer connections per participant (publisher: the client offers; subscriber: we offer).
- Tracks: every published audio track is relayed (decoded and re-encoded by aiortc, through MediaRelay) to every
  other participant, announced with ``update`` and a subscriber offer whose stream id is ``PA_...|TR_...``; to
  one who joined with ``auto_subscribe=0`` (the engine), only once it asks for the track (UpdateSubscription). A
  late joiner's first offer carries the data channels only, the room's tracks follow in the next.
- Data: packets a participant sends on its publisher data channels (chat, text streams such as
  ``lk.transcription``, ``publish_data``) are stamped with the sender and relayed to the others.
- Participants have the kind and attributes of their token (a SIP caller: kind SIP, ``sip.phoneNumber``).
- Agent workers (``GET /agent``, LiveKit's agent worker protocol, a token with the agent grant): register,
  status and load updates, job status. A job (CreateDispatch, or a caller's token whose room configuration names
  agents, when it creates the room) goes to the least loaded available worker of that agent name that says yes
  to an AvailabilityRequest, as a JobAssignment with a token for the room.
- Twirp (protobuf, tests/support/livekit_twirp.py): RoomService ListRooms / DeleteRoom, AgentDispatchService
  CreateDispatch, SIP TransferSIPParticipant (the SIP participant then leaves the room, as after a REFER).

What it does NOT prove: compatibility with a real livekit-server (its SFU forwards packets without re-encoding,
does simulcast, congestion control, speaker detection), resume and reconnection after a signalling drop,
single-peer-connection mode (protocol v1), TURN and ICE through NAT, multi-node routing, the agent worker
WebSocket protocol beyond register / availability / assignment / status / termination (no job migration, no
worker pings required), and webhooks as livekit-server sends them. It runs on a veth pair inside a network
namespace, because the SDK's WebRTC ignores loopback interfaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaBlackhole, MediaRelay
from aiortc.sdp import candidate_from_sdp
from livekit.api import TokenVerifier
from livekit.protocol import agent_dispatch, models, rtc, sip

from tests.support.livekit_dispatch import AgentDispatch, AgentWorker, Job, _now_ms, _sid
from tests.support.livekit_twirp import TwirpServices

_KINDS = {
    "standard": models.ParticipantInfo.Kind.STANDARD,
    "sip": models.ParticipantInfo.Kind.SIP,
    "agent": models.ParticipantInfo.Kind.AGENT,
    "egress": models.ParticipantInfo.Kind.EGRESS,
    "ingress": models.ParticipantInfo.Kind.INGRESS,
}


@dataclass
class Participant:
    info: models.ParticipantInfo
    ws: web.WebSocketResponse
    room: Room
    publisher: RTCPeerConnection = field(default_factory=lambda: _peer_connection())
    subscriber: RTCPeerConnection = field(default_factory=lambda: _peer_connection(max_bundle=True))
    pending: dict[str, models.TrackInfo] = field(default_factory=dict)  # cid -> track announced, not yet up
    mid_cid: dict[str, str] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)  # subscriber data channels by label
    negotiating: asyncio.Lock = field(default_factory=asyncio.Lock)  # one subscriber offer/answer at a time
    to_relay: list[tuple[str, str, MediaStreamTrack]] = field(
        default_factory=list
    )  # (stream id, track sid, track)
    relayed: set[str] = field(default_factory=set)  # track sids offered to this participant
    auto_subscribe: bool = True  # the join's ``auto_subscribe``: off, a track is sent once asked for by sid
    wanted: set[str] = field(default_factory=set)  # track sids asked for (UpdateSubscription)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    offer_id: int = 0
    gone: bool = False

    async def send(self, response: rtc.SignalResponse) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(response.SerializeToString())


@dataclass
class Room:
    name: str
    sid: str = field(default_factory=lambda: _sid("RM"))
    created: float = field(default_factory=time.time)
    participants: dict[str, Participant] = field(default_factory=dict)  # by identity
    tracks: dict[str, tuple[Participant, models.TrackInfo, MediaStreamTrack]] = field(default_factory=dict)

    def proto(self) -> models.Room:
        return models.Room(
            sid=self.sid,
            name=self.name,
            creation_time=int(self.created),
            num_participants=len(self.participants),
        )


class LiveKitTestServer(AgentDispatch, TwirpServices):
    def __init__(self, host: str, port: int, api_key: str, api_secret: str) -> None:
        self.host, self.port = host, port
        self.api_key, self.api_secret = api_key, api_secret
        self.verifier = TokenVerifier(api_key, api_secret)
        self.rooms: dict[str, Room] = {}
        self.workers: dict[str, AgentWorker] = {}  # registered agent workers by id
        self.jobs: dict[str, Job] = {}
        self.worker_log: list[tuple[str, str, Any]] = []  # (worker id, what, detail): registrations, statuses
        self.transfers: list[sip.TransferSIPParticipantRequest] = []
        self.transfers_refused: list[str] = []  # the Twirp codes of refused transfers
        self.busy_numbers: set[str] = set()
        self.dispatches: list[agent_dispatch.CreateAgentDispatchRequest] = []
        self._relay = MediaRelay()
        self._sinks: list[MediaBlackhole] = []
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[browser_validate])
        app.router.add_get("/rtc/v1", self._single_pc)
        app.router.add_get("/rtc/validate", self._validate)
        app.router.add_get("/rtc", self._signal)
        app.router.add_get("/agent", self._agent)
        app.router.add_post("/twirp/{service}/{method}", self._twirp)
        # A server going away does not wait a minute (aiohttp's default) for handlers still running.
        self._runner = web.AppRunner(app, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        """Everyone dropped at once (the server going away)."""
        for name in list(self.rooms):
            for participant in list(self.rooms[name].participants.values()):
                await self._drop(participant, notify=False)
        for worker in list(self.workers.values()):
            with contextlib.suppress(Exception):
                await worker.ws.close()
        for sink in self._sinks:
            with contextlib.suppress(Exception):
                await sink.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HTTP ---------------------------------------------------------------------------------------------------

    async def _single_pc(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="single peer connection mode is not supported")

    def _claims(self, request: web.Request) -> Any:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.query.get("access_token", "")
        claims = self.verifier.verify(token)  # raises on a bad signature, an expired token, a wrong key
        video = claims.video
        if video is None or not video.room_join or not video.room:
            raise PermissionError("the token grants no room")
        return claims

    async def _validate(self, request: web.Request) -> web.Response:
        try:
            self._claims(request)
        except Exception as exc:
            return web.Response(status=401, text=f"invalid token: {exc}")
        return web.Response(text="success")

    # -- signalling ---------------------------------------------------------------------------------------------

    async def _signal(self, request: web.Request) -> web.StreamResponse:
        try:
            claims = self._claims(request)
        except Exception as exc:
            return web.Response(status=401, text=f"invalid token: {exc}")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        name = claims.video.room
        the_room = self.rooms.get(name)
        if the_room is None:
            the_room = self.rooms[name] = Room(name)
            config = claims.room_config
            for wanted in (
                config.agents if config is not None else []
            ):  # the token asks for agents in its room
                self._spawn(self.dispatch_job(name, wanted.agent_name, wanted.metadata))
        if claims.identity in the_room.participants:  # the same identity again: the old one is replaced
            await self._drop(the_room.participants[claims.identity])
        info = models.ParticipantInfo(
            sid=_sid("PA"),
            identity=claims.identity,
            name=claims.name or claims.identity,
            state=models.ParticipantInfo.State.ACTIVE,
            metadata=claims.metadata or "",
            joined_at=int(time.time()),
            kind=_KINDS.get(claims.kind or "standard", models.ParticipantInfo.Kind.STANDARD),
            attributes=claims.attributes or {},
            is_publisher=False,
            permission=models.ParticipantPermission(
                can_subscribe=claims.video.can_subscribe is not False,
                can_publish=claims.video.can_publish is not False,
                can_publish_data=claims.video.can_publish_data is not False,
            ),
        )
        me = Participant(info, ws, the_room)
        me.auto_subscribe = request.query.get("auto_subscribe", "1") not in ("0", "false")
        others = list(the_room.participants.values())
        the_room.participants[claims.identity] = me
        me.publisher.on("track", lambda track: self._track_arrived(me, track))
        me.publisher.on("datachannel", lambda channel: self._data_channel(me, channel))
        await me.send(
            rtc.SignalResponse(
                join=rtc.JoinResponse(
                    room=the_room.proto(),
                    participant=info,
                    other_participants=[o.info for o in others],
                    server_version="1.9.0",
                    subscriber_primary=True,
                    ping_interval=5,
                    ping_timeout=15,
                    server_info=models.ServerInfo(
                        edition=models.ServerInfo.Edition.Standard, version="1.9.0"
                    ),
                )
            )
        )
        me.channels["_reliable"] = me.subscriber.createDataChannel("_reliable", ordered=True)
        me.channels["_lossy"] = me.subscriber.createDataChannel("_lossy", ordered=False, maxRetransmits=0)
        for owner, track_info, track in list(the_room.tracks.values()):
            self._queue_relay(me, owner, track_info, track)
        self._spawn(self._first_offers(me))
        for other in others:
            await other.send(rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[info])))
        try:
            async for message in ws:
                if message.type != WSMsgType.BINARY:
                    continue
                await self._handle(me, rtc.SignalRequest.FromString(message.data))
        finally:
            await self._drop(me)
        return ws

    async def _handle(self, me: Participant, req: rtc.SignalRequest) -> None:
        which = req.WhichOneof("message")
        if which == "ping_req":
            await me.send(
                rtc.SignalResponse(
                    pong_resp=rtc.Pong(last_ping_timestamp=req.ping_req.timestamp, timestamp=_now_ms())
                )
            )
        elif which == "ping":
            await me.send(rtc.SignalResponse(pong=_now_ms()))
        elif which == "answer":
            if req.answer.id and req.answer.id != me.offer_id:
                return  # a late answer to an earlier offer (see ``_renegotiate``): it does not match this one
            await me.subscriber.setRemoteDescription(RTCSessionDescription(req.answer.sdp, "answer"))
            me.answered.set()
        elif which == "offer":
            self._map_mids(me, req.offer.sdp)
            await me.publisher.setRemoteDescription(RTCSessionDescription(req.offer.sdp, "offer"))
            await me.publisher.setLocalDescription(await me.publisher.createAnswer())
            local = me.publisher.localDescription
            await me.send(
                rtc.SignalResponse(
                    answer=rtc.SessionDescription(type="answer", sdp=local.sdp, id=req.offer.id)
                )
            )
        elif which == "trickle":
            await self._trickle(me, req.trickle)
        elif which == "add_track":
            add = req.add_track
            track_info = models.TrackInfo(
                sid=_sid("TR"),
                type=add.type,
                name=add.name,
                source=add.source,
                muted=add.muted,
                mime_type="audio/opus" if add.type == models.TrackType.AUDIO else "",
                stream=add.stream,
            )
            me.pending[add.cid] = track_info
            await me.send(
                rtc.SignalResponse(track_published=rtc.TrackPublishedResponse(cid=add.cid, track=track_info))
            )
        elif which == "subscription":
            self._subscription(me, req.subscription)
        elif which == "leave":
            await self._drop(me)
        elif which == "update_metadata":
            update = req.update_metadata
            if update.metadata:
                me.info.metadata = update.metadata
            if update.name:
                me.info.name = update.name
            for key, value in update.attributes.items():
                if value:
                    me.info.attributes[key] = value
                else:
                    me.info.attributes.pop(key, None)
            await self._broadcast(
                me.room, rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[me.info]))
            )
            if update.request_id:  # the SDK's set_attributes waits for this answer (2 s timeouts otherwise)
                done = rtc.RequestResponse(request_id=update.request_id, reason=rtc.RequestResponse.Reason.OK)
                await me.send(rtc.SignalResponse(request_response=done))

    async def _trickle(self, me: Participant, trickle: rtc.TrickleRequest) -> None:
        try:
            init = json.loads(trickle.candidateInit)
        except ValueError:
            return
        text = init.get("candidate") or ""
        if not text:
            return
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        pc = me.publisher if trickle.target == rtc.SignalTarget.PUBLISHER else me.subscriber
        with contextlib.suppress(Exception):
            await pc.addIceCandidate(candidate)

    def _subscription(self, me: Participant, update: rtc.UpdateSubscription) -> None:
        """A participant who joined without auto-subscribe asks for tracks by sid; only then are they offered, as
        livekit-server does (a track sent before it is asked for is dropped by the SDK). Unsubscribing is not
        supported (no client here does it): nothing offered is taken back, and a track asked for again after it is
        not offered again."""
        sids = set(update.track_sids) | {sid for p in update.participant_tracks for sid in p.track_sids}
        if not update.subscribe:
            me.wanted -= sids
            return
        me.wanted |= sids
        for sid in sids:
            if sid in me.room.tracks:
                owner, track_info, track = me.room.tracks[sid]
                self._queue_relay(me, owner, track_info, track)
        self._spawn(self._renegotiate(me))

    def _map_mids(self, me: Participant, sdp: str) -> None:
        """The SDK's offer names its tracks only in ``a=msid`` lines: mid -> the cid of ``add_track``."""
        for section in sdp.split("\nm=")[1:]:
            mid = ""
            ids: list[str] = []
            for line in section.splitlines():
                line = line.strip()
                if line.startswith("a=mid:"):
                    mid = line[6:]
                elif line.startswith("a=msid:"):
                    ids.extend(line[7:].split())
            for cid in ids:
                if cid in me.pending:
                    me.mid_cid[mid] = cid

    def _track_arrived(self, me: Participant, track: MediaStreamTrack) -> None:
        mid = next((t.mid for t in me.publisher.getTransceivers() if t.receiver.track is track), None)
        cid = me.mid_cid.get(mid or "")
        track_info = me.pending.pop(cid, None) if cid else None
        if track_info is None:
            if not me.pending:
                return
            cid, track_info = next(iter(me.pending.items()))
            del me.pending[cid]
        track_info.mid = mid or ""
        me.info.tracks.append(track_info)
        me.info.is_publisher = True
        the_room = me.room
        the_room.tracks[track_info.sid] = (me, track_info, track)
        sink = MediaBlackhole()  # the relay reads the source even when no one subscribes
        sink.addTrack(self._relay.subscribe(track))
        self._sinks.append(sink)
        self._spawn(sink.start())
        self._spawn(self._announce(me, track_info, track))

    async def _announce(
        self, owner: Participant, track_info: models.TrackInfo, track: MediaStreamTrack
    ) -> None:
        """A new track goes to every participant in the room now, each on its own (one slow answer does not
        hold up the others): ``update`` with the TrackInfo first, then a subscriber offer carrying it."""
        update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[owner.info]))

        async def offer(to: Participant) -> None:
            await to.send(update)
            self._queue_relay(to, owner, track_info, track)
            await self._renegotiate(to)

        others = [p for p in owner.room.participants.values() if p is not owner and not p.gone]
        await asyncio.gather(*(offer(other) for other in others))

    def _queue_relay(
        self, to: Participant, owner: Participant, track_info: models.TrackInfo, track: MediaStreamTrack
    ) -> None:
        """The track is added to ``to``'s subscriber connection by its next renegotiation, never in the middle
        of one (see ``_renegotiate``); a track already offered to ``to`` is not offered twice."""
        if not to.info.permission.can_subscribe or track_info.sid in to.relayed:
            return
        if not to.auto_subscribe and track_info.sid not in to.wanted:
            return
        to.relayed.add(track_info.sid)
        to.to_relay.append((f"{owner.info.sid}|{track_info.sid}", track_info.sid, track))

    async def _first_offers(self, me: Participant) -> None:
        """A joining participant's first subscriber offer carries the data channels only; tracks already in the
        room follow in a second offer once it is answered, as livekit-server subscribes a late joiner.

        Offered in the first one, they broke the connection: aiortc (max-bundle) puts an audio m-line before the
        data channel's, makes it the bundle's primary, and on the answer stops the data channel's transport as a
        bundled one, although it is the very transport the audio line shares. The SDK's subscriber connection
        never came up, three tries running ("wait_pc_connection timed out"): an engine sent into a room whose
        caller had already published was never connected (seen in CI under load, when the caller won the race)."""
        await self._renegotiate(me, initial=True)
        await self._renegotiate(me)

    async def _renegotiate(self, me: Participant, initial: bool = False) -> None:
        """One subscriber offer/answer at a time per participant, with the tracks queued since the last one.

        Transceivers are added only here, under the lock and with the previous offer answered. Added while an
        offer was still unanswered, aiortc (bundle policy "balanced") gave the new transceiver the transport of
        the unanswered offer's first audio transceiver, which the answer then replaced by the bundle's and
        stopped: the new track was offered on a dead transport (port 9, no candidates) and never arrived. That
        was the relay race (a supervisor sometimes never heard the agent). The subscriber connection is also
        max-bundle now, so every transceiver shares the data channel's transport from the start.

        A renegotiation that adds tracks also waits (bounded) until that shared transport is connected: aiortc
        starts a new sender when its answer comes only if the transport's DTLS is already up, and the first
        answer's task, the one finishing the handshake, starts only the senders it knew of. A track added while
        the participant's first connection was still handshaking (the agent's track, published a moment after a
        browser caller joined) was offered and answered but never sent: the caller never heard the agent."""
        async with me.negotiating:
            if me.gone or (not initial and not me.to_relay):
                return
            if not initial:  # the first offer adds no track (see ``_first_offers``)
                if me.offer_id == 0:  # a track announced before the first offer: it follows that offer
                    return
                await _connected(me.subscriber, within_s=10)
                if not me.answered.is_set():  # the last offer went unanswered: a new one would not match
                    return  # the tracks stay queued for the next renegotiation
                while me.to_relay:
                    stream_id, track_sid, track = me.to_relay.pop(0)
                    transceiver = me.subscriber.addTransceiver(
                        self._relay.subscribe(track), direction="sendonly"
                    )
                    transceiver.sender._stream_id = stream_id  # private: see the module doc
                    transceiver.sender._track_id = track_sid
            me.answered.clear()
            await me.subscriber.setLocalDescription(await me.subscriber.createOffer())
            me.offer_id += 1
            local = me.subscriber.localDescription
            await me.send(
                rtc.SignalResponse(offer=rtc.SessionDescription(type="offer", sdp=local.sdp, id=me.offer_id))
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await me.answered.wait()

    # -- data ---------------------------------------------------------------------------------------------------

    def _data_channel(self, me: Participant, channel: Any) -> None:
        def received(message: Any) -> None:
            if not isinstance(message, bytes):
                return
            try:
                packet = models.DataPacket.FromString(message)
            except Exception:
                return
            packet.participant_identity = me.info.identity
            if packet.HasField("user"):
                packet.user.participant_sid = me.info.sid
                packet.user.participant_identity = me.info.identity
            to = set(packet.destination_identities)
            data = packet.SerializeToString()
            label = "_lossy" if channel.label == "_lossy" else "_reliable"
            for other in list(me.room.participants.values()):
                if other is me or other.gone or (to and other.info.identity not in to):
                    continue
                out = other.channels.get(label)
                if out is not None and out.readyState == "open":
                    out.send(data)

        channel.on("message", received)

    # -- leaving ------------------------------------------------------------------------------------------------

    async def _drop(self, me: Participant, notify: bool = True) -> None:
        if me.gone:
            return
        me.gone = True
        the_room = me.room
        if the_room.participants.get(me.info.identity) is me:
            del the_room.participants[me.info.identity]
        for sid in [sid for sid, (owner, _, _) in the_room.tracks.items() if owner is me]:
            del the_room.tracks[sid]
        me.info.state = models.ParticipantInfo.State.DISCONNECTED
        if notify:
            await self._broadcast(
                the_room, rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[me.info]))
            )
            await me.send(rtc.SignalResponse(leave=rtc.LeaveRequest(can_reconnect=False)))
        with contextlib.suppress(Exception):
            await me.ws.close()
        await me.publisher.close()
        await me.subscriber.close()
        if not the_room.participants and self.rooms.get(the_room.name) is the_room:
            del self.rooms[the_room.name]

    async def _broadcast(self, the_room: Room, response: rtc.SignalResponse) -> None:
        for other in list(the_room.participants.values()):
            await other.send(response)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _connected(pc: RTCPeerConnection, within_s: float) -> None:
    """Until ``pc`` is connected (or failed, closed, or ``within_s`` passed: the offer goes out regardless)."""
    settled = asyncio.Event()

    def changed() -> None:
        if pc.connectionState in ("connected", "failed", "closed"):
            settled.set()

    pc.on("connectionstatechange", changed)
    try:
        changed()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await settled.wait()
    finally:
        pc.remove_listener("connectionstatechange", changed)


def _peer_connection(max_bundle: bool = False) -> RTCPeerConnection:
    """No STUN server: aiortc would otherwise ask a public one (host candidates are all a veth pair needs).
    The subscriber connection (we offer) is max-bundle: every m-line on one transport, as the SDK expects (see
    ``_renegotiate``)."""
    policy = RTCBundlePolicy.MAX_BUNDLE if max_bundle else RTCBundlePolicy.BALANCED
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=policy))


@web.middleware
async def browser_validate(request: web.Request, handler: Any) -> web.StreamResponse:
    """For LiveKit's browser SDK (livekit-client), whose page comes from another origin (the engine): when a
    WebSocket is refused it asks why with fetch, which needs CORS as on a real LiveKit server. ``/rtc/v1/validate``
    is 404 (no single peer connection mode here), so the SDK falls back to ``/rtc``."""
    if request.path == "/rtc/v1/validate":
        response: web.StreamResponse = web.Response(
            status=404, text="single peer connection mode is not supported"
        )
    else:
        response = await handler(request)
    if request.path.endswith("/validate"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response
