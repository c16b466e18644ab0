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
import aiortc.rtcsctptransport
import aiortc.rtp
import av
import numpy as np
import structlog

_MIN_AUDIO_LEVEL = -127
_original_host_addresses = aioice.ice.get_host_addresses
_original_audio_level = aiortc.rtp.compute_audio_level_dbov
_original_datagram_received = aioice.ice.StunProtocol.datagram_received
_original_data_channel_receive = aiortc.rtcsctptransport.RTCSctpTransport._data_channel_receive
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
