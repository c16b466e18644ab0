"""The browser's call, terminated here with aiortc: SDP offer in, answer out, Opus both ways.

- Inbound: the remote audio track is drained continuously by the session (an unread aiortc track queues
  without bound); a call that delivers no audio for ``media_timeout_s`` is treated as hung up.
- Outbound: a track whose ``recv`` is paced by the engine's PacedPlayout (20 ms, silence fill).
- Events (state, transcripts) go to the page over the data channel the page opens, named "events".
- Which local addresses ICE offers is a setting; aioice never offers 127.0.0.1 by itself. That, and a faster
  audio level for aiortc's sender, are patches the app applies at start (adapters/library_patches.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any, ClassVar

import av
import numpy as np
import structlog
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError
from pydantic import field_validator

from engine.audio import AudioFrame, AudioSettings
from engine.options import Section, knob
from engine.playout import PacedPlayout, PlayoutOutput


class WebRtcSettings(Section):
    prefix: ClassVar[str] = "TAINA_WEBRTC"
    ice_addresses: tuple[str, ...] = knob(
        (),
        "Comma-separated local IP addresses offered as ICE host candidates; empty means every non-loopback "
        "address of the machine. When set, remote candidates on other addresses are ignored too "
        "(tests use 127.0.0.1).",
    )
    max_sessions: int = knob(
        50, "Most voice sessions served at once; further offers get 503.", ge=1, le=10_000
    )
    max_sessions_per_address: int = knob(
        4,
        "Most voice sessions one address may hold at once (a clinic behind one NAT may need more); then 503.",
        ge=1,
        le=10_000,
    )
    max_call_s: float = knob(
        1_800.0,
        "Longest a call may last, in s: then the assistant hangs up (the call is kept, with its recording).",
        ge=10,
        le=86_400,
    )
    media_timeout_s: float = knob(
        10.0,
        "A call that delivers no audio for this long (including while connecting) is hung up, in s.",
        ge=1,
        le=300,
    )
    access_token: str = knob(
        "",
        "When set, a call needs it: the page is opened as /?token=<it> (the voice page is public otherwise).",
        secret=True,
    )
    offers_per_minute: int = knob(20, "Calls one address may start in a minute; then 429.", ge=1, le=10_000)
    ice_servers: tuple[str, ...] = knob(
        (),
        "Comma-separated STUN and TURN server URLs (stun:host:3478, turn:host:3478?transport=udp); empty: none, "
        "and no third party's server is ever asked. Production behind NAT needs at least a STUN server.",
    )
    turn_username: str = knob("", "User name for the TURN servers in TAINA_WEBRTC_ICE_SERVERS.")
    turn_password: str = knob("", "Password for the TURN servers in TAINA_WEBRTC_ICE_SERVERS.", secret=True)
    max_remote_candidates: int = knob(
        16, "Most ICE candidates of one offer that the server sends checks to.", ge=1, le=100
    )
    allowed_candidate_networks: tuple[str, ...] = knob(
        (),
        "Comma-separated private networks (CIDR) callers' ICE candidates may be in, e.g. the clinic's LAN "
        "192.168.0.0/16; empty: only public addresses (private, link-local, loopback and cloud-metadata "
        "addresses are never sent to).",
    )

    @field_validator("ice_addresses")
    @classmethod
    def _addresses(cls, addresses: tuple[str, ...]) -> tuple[str, ...]:
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"TAINA_WEBRTC_ICE_ADDRESSES: {address!r} is not an IP address") from None
        return addresses

    @field_validator("allowed_candidate_networks")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"TAINA_WEBRTC_ALLOWED_CANDIDATE_NETWORKS: {network!r} is not a network (CIDR)"
                ) from None
        return networks

    @field_validator("ice_servers")
    @classmethod
    def _servers(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(
                    f"TAINA_WEBRTC_ICE_SERVERS: {url!r} must start with stun:, stuns:, turn: or turns:"
                )
        return urls


log = structlog.get_logger("taina.webrtc")
OPUS_RATE = 48_000  # what WebRTC's Opus runs at (RFC 7587)
# A 20 ms CELT-only Opus frame that decodes to silence (TOC 0xF8: fullband, 20 ms, mono, one frame), the one
# SFUs (pion, LiveKit) send for a muted track.
OPUS_SILENCE = b"\xf8\xff\xfe"
_EVENTS_BUFFERED = 64
# What the page may send on the events channel: only {"type": "bye"} means anything, so a few small messages
# a second is plenty. Past these, messages are dropped (and logged); a caller who keeps flooding is hung up.
_EVENT_MAX_BYTES = 4096
_EVENTS_PER_S = 20.0
_EVENTS_BURST = 50
_EVENTS_FLOOD = 5000  # dropped messages before the call is hung up
_MIN_AUDIO_LEVEL = -127


def ice_servers(webrtc: WebRtcSettings) -> list[RTCIceServer]:
    """Only the STUN and TURN servers the operator configured: with none, aiortc would ask a third party's
    public STUN server on every call (its built-in default)."""
    return [
        RTCIceServer(
            urls=url,
            username=webrtc.turn_username or None if url.startswith("turn") else None,
            credential=webrtc.turn_password or None if url.startswith("turn") else None,
        )
        for url in webrtc.ice_servers
    ]


class SignallingError(ValueError):
    """The offer cannot be answered; the message says why, for the caller."""


def _loopback_only(addresses: tuple[str, ...]) -> bool:
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_offer(sdp: Any, kind: Any) -> str:
    """The offer's SDP if it is one this engine can answer; SignallingError saying what is wrong otherwise."""
    if kind != "offer":
        raise SignallingError('"type" must be "offer"')
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise SignallingError('"sdp" must be an SDP session description starting with "v=0"')
    sections = sdp.split("\nm=")[1:]
    audio = [s for s in sections if s.startswith("audio")]
    if not audio:
        raise SignallingError("the offer has no audio track: the page must send the microphone")
    if len(audio) > 1:
        raise SignallingError(f"the offer has {len(audio)} audio tracks: send one microphone")
    media = audio[0].split("\n", 1)[0].split()
    if len(media) < 4 or not media[1].split("/")[0].isdigit() or not all(f.isdigit() for f in media[3:]):
        raise SignallingError(
            'the SDP offer\'s "m=audio" line must be "m=audio <port> <protocol> <formats...>"'
        )
    opus = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE | re.MULTILINE)
    if not any(m.group(1) in media[3:] for m in opus.finditer(audio[0])):
        raise SignallingError(
            "the SDP offer's audio must include Opus (48 kHz): other codecs are not answered"
        )
    return sdp


def screen_remote_candidates(sdp: str, webrtc: WebRtcSettings) -> str:
    """The offer with only the remote ICE candidates this server may send to.

    Each listed candidate makes the server send STUN checks to its address: an anonymous caller could list
    internal addresses and ports and use the server to probe them. So at most ``max_remote_candidates`` are
    kept, and only public addresses, those in ``allowed_candidate_networks``, and loopback ones when the server
    itself offers only loopback (tests). mDNS names (xxx.local) resolve on the local network, so they are kept
    only where local networks are allowed. A browser behind a NAT still connects: its address is learnt from
    the checks it sends (a peer-reflexive candidate), which needs no listed candidate.
    """
    allowed = [ipaddress.ip_network(n, strict=False) for n in webrtc.allowed_candidate_networks]
    loopback = _loopback_only(webrtc.ice_addresses)
    kept, seen, dropped = [], 0, 0
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if (
                seen >= webrtc.max_remote_candidates
                or len(fields) < 6
                or not _may_reach(fields[4], allowed, loopback)
            ):
                dropped += 1
                continue
            seen += 1
        kept.append(line)
    if dropped:
        log.info("webrtc.candidates_dropped", dropped=dropped, kept=seen)
    return "\r\n".join(kept) + "\r\n"


def _may_reach(
    address: str, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network], loopback: bool
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address.endswith(".local") and bool(allowed)  # an mDNS name
    if loopback:
        return ip.is_loopback
    if any(ip in network for network in allowed):
        return True
    return ip.is_global and not ip.is_multicast


class EventLimiter:
    """Admits the page's data-channel messages: text of at most ``_EVENT_MAX_BYTES``, at most
    ``_EVENTS_PER_S`` a second (a token bucket of ``_EVENTS_BURST``). Every refusal is counted; the first of
    each kind, then every 1000th, is logged."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._tokens = float(_EVENTS_BURST)
        self._at = clock()
        self.dropped = 0
        self._logged: set[str] = set()

    def admit(self, message: Any) -> bool:
        now = self._clock()
        self._tokens = min(float(_EVENTS_BURST), self._tokens + (now - self._at) * _EVENTS_PER_S)
        self._at = now
        if not isinstance(message, str):
            return self._drop("binary", len(message) if isinstance(message, bytes) else 0)
        if len(message) > _EVENT_MAX_BYTES:
            return self._drop("too_big", len(message))
        if self._tokens < 1:
            return self._drop("too_many", len(message))
        self._tokens -= 1
        return True

    def _drop(self, why: str, size: int) -> bool:
        self.dropped += 1
        if why not in self._logged or self.dropped % 1000 == 0:
            self._logged.add(why)
            log.warning("webrtc.events_dropped", why=why, size=size, dropped=self.dropped)
        return False


def opus_encoder() -> av.AudioCodecContext:
    codec = av.AudioCodecContext.create("libopus", "w")
    codec.bit_rate = 48_000
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = OPUS_RATE
    codec.time_base = Fraction(1, OPUS_RATE)
    codec.options = {"application": "voip"}
    return codec


class ReplyTrack(MediaStreamTrack):
    """The assistant's voice: whatever the playout hands out, one paced frame per ``recv``.

    At 48 kHz in 20 ms frames (the defaults) each frame is Opus-encoded here, as it leaves the playout, and
    handed to aiortc as an encoded packet (aiortc 1.16.0's RTCRtpSender only packs a packet, where a raw frame
    costs a hop to its thread pool and back per frame, a resampling to stereo, and a pass over the samples for
    the audio-level header). The voice is mono, so it is encoded as mono Opus (libopus, voip, 48 kb/s, as much
    per channel as aiortc's 96 kb/s stereo): an "opus/48000/2" stream may carry mono packets (RFC 7587), and
    browsers play them on both ears. The playout's silence fill (most of a call: the assistant listens) is not
    encoded at all: each such frame is one constant silent Opus frame. At another rate, the raw frame goes to aiortc as before (its resampler
    may hold a frame back, and a track must hand out something at each ``recv``)."""

    kind = "audio"

    def __init__(self, playout: PacedPlayout) -> None:
        super().__init__()
        self._playout = playout
        self._time_base = Fraction(1, playout.rate)
        self._pts = 0
        inline = playout.rate == OPUS_RATE and playout.frame_size == OPUS_RATE // 50
        self._encoder: av.AudioCodecContext | None = opus_encoder() if inline else None
        self._quiet = True  # the last frame out was the playout's silence fill

    async def recv(self) -> av.AudioFrame | av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        samples, _due, silence = await self._playout.next_frame()
        pts = self._pts
        self._pts += len(samples)
        if self._encoder is not None and silence:
            # Nothing to say: the same 3-byte silent Opus frame each time, never encoded.
            self._quiet = True
            return self._packet(OPUS_SILENCE, pts)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self._playout.rate
        frame.time_base = self._time_base
        frame.pts = pts
        if self._encoder is None:
            return frame
        if self._quiet:
            # Speech after silent frames: a fresh encoder, whose first frame needs no history (the far end's
            # decoder has decoded only silence since the last speech, and starts its speech decoder afresh).
            self._encoder = opus_encoder()
            self._quiet = False
        return self._encode(frame)

    def _packet(self, payload: bytes, pts: int) -> av.Packet[Any]:
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = self._time_base
        return packet

    def _encode(self, frame: av.AudioFrame) -> av.Packet[Any]:
        assert self._encoder is not None
        packets = self._encoder.encode(frame)
        if len(packets) != 1:  # libopus at 48 kHz gives one packet per 20 ms frame, from the first on
            raise RuntimeError(f"the Opus encoder gave {len(packets)} packets for one 20 ms frame")
        packet = packets[0]
        packet.pts = frame.pts  # the frame's own clock (the codec's starts below 0)
        packet.time_base = self._time_base
        return packet


class WebRtcTransport(PlayoutOutput):
    def __init__(self, pc: RTCPeerConnection, audio: AudioSettings, webrtc: WebRtcSettings) -> None:
        self.output_rate = audio.output_rate
        self.pc = pc
        self._playout = PacedPlayout(audio.output_rate, audio.frame_ms, audio.playout_queue_ms)
        self.reply_track = ReplyTrack(self._playout)
        self._media_timeout = webrtc.media_timeout_s
        self._inbound: MediaStreamTrack | None = None
        self._channel: Any = None
        self._unsent: deque[str] = deque(maxlen=_EVENTS_BUFFERED)
        self._events_in = EventLimiter()
        self._closing: asyncio.Task[None] | None = None
        pc.on("datachannel", self._attach_channel)
        pc.on("connectionstatechange", self._connection_changed)

    @classmethod
    async def answer(
        cls, offer_sdp: str, audio: AudioSettings, webrtc: WebRtcSettings
    ) -> tuple[WebRtcTransport, str]:
        """Accept a browser's offer; returns the transport and the SDP answer (ICE gathering complete)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(webrtc)))
        transport = cls(pc, audio, webrtc)
        try:
            offer = RTCSessionDescription(sdp=screen_remote_candidates(offer_sdp, webrtc), type="offer")
            try:
                await pc.setRemoteDescription(offer)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError) as exc:
                raise SignallingError(
                    f"the SDP offer could not be read: {exc or exc.__class__.__name__}"
                ) from None
            except (InvalidAccessError, OperationError, InvalidStateError) as exc:
                raise SignallingError(f"the SDP offer cannot be answered: {exc}") from None
            receivers = [t for t in pc.getTransceivers() if t.kind == "audio"]
            if not receivers:
                raise SignallingError("the offer has no audio track: the page must send the microphone")
            transport._inbound = receivers[0].receiver.track
            pc.addTrack(transport.reply_track)
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await pc.close()
            raise
        return transport, pc.localDescription.sdp

    async def inbound(self) -> AsyncIterator[AudioFrame]:
        track = self._inbound
        if track is None:
            raise RuntimeError("inbound() before answer()")
        # The media timeout is one watch a second, not a timeout object and a timer per frame: when no audio
        # came for media_timeout_s, the watch ends the track (aiortc 1.16.0's RemoteStreamTrack ends at a
        # None in its queue), and recv raises as when the caller hangs up.
        loop = asyncio.get_running_loop()
        heard = [loop.time(), False]  # the last frame's time; whether the watch ended the track

        watching: list[asyncio.TimerHandle] = []

        def watch() -> None:
            if loop.time() - heard[0] >= self._media_timeout:
                heard[1] = True
                track._queue.put_nowait(None)  # type: ignore[attr-defined]
                return
            watching[:] = [loop.call_later(min(1.0, self._media_timeout), watch)]

        watch()
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    if heard[1]:
                        log.warning("webrtc.no_media", seconds=self._media_timeout)
                    return  # the browser hung up, or sent nothing for too long
                heard[0] = loop.time()
                if not isinstance(frame, av.AudioFrame) or frame.format.name != "s16":
                    raise TypeError(f"the inbound track delivered {frame!r}, not packed 16-bit audio")
                samples = np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)
                yield AudioFrame(samples, frame.sample_rate, time.monotonic(), len(frame.layout.channels))
        finally:
            for timer in watching:
                timer.cancel()

    def send_event(self, event: dict[str, Any]) -> None:
        message = json.dumps(event, ensure_ascii=False)
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(message)
        else:
            self._unsent.append(message)

    async def aclose(self) -> None:
        self._playout.clear()
        self.reply_track.stop()
        await self.pc.close()

    def _attach_channel(self, channel: Any) -> None:
        if channel.label != "events":
            return
        self._channel = channel

        def flush() -> None:
            while self._unsent and channel.readyState == "open":
                channel.send(self._unsent.popleft())

        def received(message: Any) -> None:
            if not self._events_in.admit(message):
                if self._events_in.dropped >= _EVENTS_FLOOD:
                    log.warning("webrtc.events_flood", dropped=self._events_in.dropped)
                    self._close_soon("events_flood")
                return
            try:
                parsed = json.loads(message)
            except (ValueError, RecursionError) as exc:
                log.info("webrtc.event_unreadable", error=exc.__class__.__name__, size=len(message))
                return
            if isinstance(parsed, dict) and parsed.get("type") == "bye":
                self._close_soon("bye")

        channel.on("open", flush)
        channel.on("message", received)
        if channel.readyState == "open":
            flush()

    def _connection_changed(self) -> None:
        state = self.pc.connectionState
        log.debug("webrtc.connection", state=state)
        if state in ("failed", "closed"):
            self._close_soon(state)

    def _close_soon(self, reason: str) -> None:
        # Closing the peer connection stops the receiver, which ends inbound(), which ends the session.
        if self._closing is None:
            log.info("webrtc.closing", reason=reason)
            self._closing = asyncio.ensure_future(self.pc.close())
