"""Changes to aiortc and aioice that the app applies once at start (``apply``), each with why and the
upstream version it was checked against. Nothing here runs at import."""

from __future__ import annotations

import importlib.metadata
import ipaddress
import math
import struct
from typing import Any

import aioice.ice
import aioice.stun
import aiortc.rtcrtpreceiver
import aiortc.rtcsctptransport
import aiortc.rtp
import av
import numpy as np
import structlog
from aiortc.codecs import get_decoder

_MIN_AUDIO_LEVEL = -127
_original_host_addresses = aioice.ice.get_host_addresses
_original_audio_level = aiortc.rtp.compute_audio_level_dbov
_original_datagram_received = aioice.ice.StunProtocol.datagram_received
_original_data_channel_receive = aiortc.rtcsctptransport.RTCSctpTransport._data_channel_receive
_original_receiver_init = aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__
_original_decoder_worker = aiortc.rtcrtpreceiver.decoder_worker
log = structlog.get_logger("taina.webrtc")
_stray = {"datagrams": 0}


CHECKED_AGAINST = {"aiortc": "1.16.0", "aioice": "0.13.0"}


def apply(ice_addresses: tuple[str, ...]) -> None:
    """Every patch below, for a process that answers calls."""
    for package, checked in CHECKED_AGAINST.items():
        installed = importlib.metadata.version(package)
        if installed != checked:  # pyproject pins both; a different one means the patches need re-checking
            log.warning(
                "library_patches.unchecked_version", package=package, installed=installed, checked=checked
            )
    offer_ice_addresses(ice_addresses)
    # aiortc 1.16.0 computes the RFC 6465 level of every outbound frame in a Python loop over its samples
    # (rtp.compute_audio_level_dbov, called by RTCRtpSender for each packet): about a tenth of a call's CPU.
    # The same formula in numpy, checked against aiortc's own on five signals (tests).
    aiortc.rtp.compute_audio_level_dbov = audio_level_dbov
    aioice.ice.StunProtocol.datagram_received = guarded_datagram_received  # type: ignore[method-assign,assignment]
    aiortc.rtcsctptransport.RTCSctpTransport._data_channel_receive = guarded_data_channel_receive  # type: ignore[method-assign,assignment]
    # aiortc 1.16.0 decodes received audio on a thread of its own per call: every packet crosses to it through a
    # queue.Queue (a lock and a condition to wake it) and every decoded frame comes back through
    # run_coroutine_threadsafe (a coroutine, a future and a wake-up of the event loop). An Opus packet decodes
    # in tens of microseconds: audio is decoded on the event loop instead, where the packet arrives.
    aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__ = receiver_init  # type: ignore[method-assign,assignment]
    aiortc.rtcrtpreceiver.decoder_worker = decoder_worker_unless_inline


async def guarded_data_channel_receive(
    transport: aiortc.rtcsctptransport.RTCSctpTransport, stream_id: int, pp_id: int, data: bytes
) -> None:
    """aiortc 1.16.0 decodes a peer's data-channel message and parses its channel-control messages (DCEP)
    inside the SCTP receive loop: a text message that is not UTF-8, or a truncated DCEP "open", raised there
    and ended the call. Such a message is dropped, with a warning naming it, and the call goes on."""
    try:
        await _original_data_channel_receive(transport, stream_id, pp_id, data)
    except (UnicodeDecodeError, struct.error, AssertionError, IndexError, ValueError) as exc:
        log.warning(
            "webrtc.data_channel_message_dropped",
            error=exc.__class__.__name__,
            stream_id=stream_id,
            pp_id=pp_id,
            size=len(data),
        )


def guarded_datagram_received(
    protocol: aioice.ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]
) -> None:
    """aioice 0.13.0 hands every datagram that is not STUN to the call's DTLS/SRTP layer, whoever sent it,
    and aiortc 1.16.0 reads its first byte unchecked: one empty UDP datagram from anyone who can reach the
    media port ended the call (IndexError in RTCDtlsTransport._recv_next), and a stranger's bytes reached
    the DTLS state machine. Here, data other than STUN is taken only from an address of this connection's
    ICE check list (the caller's screened candidates, or an address that sent an authenticated STUN check),
    and never empty; what is dropped is counted and logged (the first, then every 1000th)."""
    try:
        aioice.stun.parse_message(data)  # type: ignore[arg-type]
    except ValueError:  # not STUN: media or DTLS, if it comes from the caller
        known = any(
            pair.protocol is protocol and pair.remote_addr == (addr[0], addr[1])
            for pair in protocol.receiver._check_list
        )
        if not data or not known:
            _dropped(addr, data, "stray")
            return
    except Exception:  # a STUN header over a body aioice cannot parse (it would raise in the event loop)
        _dropped(addr, data, "malformed_stun")
        return
    _original_datagram_received(protocol, data, addr)


def _dropped(addr: tuple[Any, ...], data: bytes | str, why: str) -> None:
    _stray["datagrams"] += 1
    if _stray["datagrams"] % 1000 == 1:
        log.warning(
            "webrtc.datagram_dropped",
            why=why,
            source=f"{addr[0]}:{addr[1]}",
            size=len(data),
            total=_stray["datagrams"],
        )


class InlineDecoding:
    """Stands in for an audio RTCRtpReceiver's decoder queue (aiortc 1.16.0: ``put((codec, frame))`` per
    encoded frame, ``put(None)`` at the end): decodes at once and queues the frames for the track, as aiortc's
    decoder thread did (a frame that fails to decode is logged and skipped, the decoder kept)."""

    def __init__(self, receiver: Any) -> None:
        self._receiver = receiver  # its track is made later, when the remote description is set
        self._error = receiver._RTCRtpReceiver__decoder_error
        self._codec_name: str | None = None
        self._decoder: Any = None

    def put(self, task: Any) -> None:
        out = self._receiver._track._queue
        if task is None:
            out.put_nowait(None)  # the track ends
            return
        codec, encoded_frame = task
        if codec.name != self._codec_name:
            self._decoder = get_decoder(codec)
            self._codec_name = codec.name
        try:
            frames = self._decoder.decode(encoded_frame)
        except av.FFmpegError as exc:
            log.warning("webrtc.decode_failed", codec=codec.name, error=str(exc))
            self._error.set()
            return
        for frame in frames:
            out.put_nowait(frame)


def receiver_init(receiver: Any, kind: str, transport: Any) -> None:
    _original_receiver_init(receiver, kind, transport)
    if kind == "audio":
        receiver._RTCRtpReceiver__decoder_queue = InlineDecoding(receiver)


def decoder_worker_unless_inline(loop: Any, input_q: Any, output_q: Any, decode_error: Any) -> None:
    """aiortc's decoder thread, for a receiver that still has its queue (video); with inline decoding its
    thread has nothing to do and ends at once."""
    if isinstance(input_q, InlineDecoding):
        return
    _original_decoder_worker(loop, input_q, output_q, decode_error)


def offer_ice_addresses(addresses: tuple[str, ...]) -> None:
    """Make ICE offer exactly ``addresses`` as host candidates (empty: aioice's own choice).

    aioice 0.13.0 has no option for which local addresses become host candidates (it takes every interface's);
    tests and single-interface deployments need exactly the configured ones, so its module-level
    ``get_host_addresses`` is replaced."""
    if not addresses:
        aioice.ice.get_host_addresses = _original_host_addresses
        return
    for address in addresses:
        ipaddress.ip_address(address)  # ValueError on a typo, at start-up

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured


def audio_level_dbov(frame: av.AudioFrame) -> int:
    """A packed 16-bit frame's level in dBov, -127 (silence) to 0, as RFC 6465 Appendix A computes it."""
    count = frame.samples * len(frame.layout.channels)
    samples = np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=count)
    if not samples.size:
        return _MIN_AUDIO_LEVEL
    power = float(np.dot(samples, samples.astype(np.float64))) / (frame.samples * 32767.0 * 32767.0)
    if power <= 0:
        return _MIN_AUDIO_LEVEL
    return round(min(0.0, max(float(_MIN_AUDIO_LEVEL), 10 * math.log10(power))))
