"""Bad input on the media path of a running server (`taina serve`), mid-call, from a real aiortc peer on
127.0.0.1: garbage RTP, RTCP and random UDP sent to the server's ICE/media port (from a stranger's socket and
down the call's own ICE pair), and a flood on the "events" data channel (thousands of messages, big ones,
non-JSON, deeply nested JSON, binary). Each must end in a survived call or a clear refusal, never a stuck
session: /healthz answers quickly throughout, and the session count is back to zero after hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from adapters.library_patches import offer_ice_addresses
from tests.support.servers import Server, start_server, stop_server

HEALTH_LIMIT_S = 1.0  # /healthz must answer within this during the abuse (the event loop is not blocked)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("media-abuse")
    (data / "models").symlink_to(shared_models)
    srv = start_server(data)
    yield srv
    stop_server(srv)


class Call:
    def __init__(self, pc: RTCPeerConnection, channel: RTCDataChannel, answer: str) -> None:
        self.pc, self.channel, self.answer = pc, channel, answer
        self.frames = 0  # reply frames received from the server
        self.drains: list[asyncio.Task[None]] = []

    def media_port(self) -> int:
        for line in self.answer.splitlines():
            if line.startswith("a=candidate:") and " 127.0.0.1 " in line:
                return int(line.split()[5])
        raise AssertionError("the answer has no loopback candidate")

    async def drain(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames += 1


async def open_call(client: httpx.AsyncClient) -> Call:
    offer_ice_addresses(("127.0.0.1",))
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    channel = pc.createDataChannel("events")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": pc.localDescription.sdp})
    assert answer.status_code == 200, answer.text
    call = Call(pc, channel, answer.json()["sdp"])
    pc.on("track", lambda track: call.drains.append(asyncio.ensure_future(call.drain(track))))
    await pc.setRemoteDescription(RTCSessionDescription(call.answer, "answer"))
    await asyncio.wait_for(opened.wait(), 20)
    for _ in range(400):  # the server's reply track is flowing (20 s at most)
        if call.frames >= 10:
            break
        await asyncio.sleep(0.05)
    return call


async def health_s(client: httpx.AsyncClient) -> tuple[float, int]:
    started = time.monotonic()
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    return time.monotonic() - started, int(answer.json()["sessions"])


async def sessions_back_to_zero(client: httpx.AsyncClient, within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (await health_s(client))[1] == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"a session was still running {within_s} s after hang-up")


async def still_alive(client: httpx.AsyncClient, call: Call) -> None:
    """The call survived: connected, one session, and reply frames still arriving."""
    before = call.frames
    await asyncio.sleep(1.0)
    assert call.pc.connectionState == "connected"
    assert (await health_s(client))[1] == 1
    assert call.frames > before + 20, "the server stopped sending audio"


def junk_packets(count: int) -> Iterator[bytes]:
    """RTP and RTCP headers with garbage after them, STUN-, DTLS- and nothing-looking bytes."""
    for i in range(count):
        body = os.urandom(i % 300)
        kind = i % 6
        if kind == 0:  # RTP, Opus's payload type, garbage payload (not SRTP-authenticated)
            yield bytes([0x80, 111]) + i.to_bytes(2, "big") + os.urandom(8) + body
        elif kind == 1:  # RTCP sender/receiver reports, BYE, ... with lying lengths
            yield bytes([0x81, 200 + i % 5, 0xFF, 0xFF]) + os.urandom(4) + body
        elif kind == 2:  # a STUN binding request header with a garbage body
            yield b"\x00\x01" + len(body).to_bytes(2, "big") + b"\x21\x12\xa4\x42" + os.urandom(12) + body
        elif kind == 3:  # a DTLS record header
            yield bytes([22, 0xFE, 0xFD]) + os.urandom(10) + body
        elif kind == 4:
            yield b""  # an empty datagram
        else:
            yield os.urandom(1 + i % 1400)


async def test_garbage_rtp_rtcp_and_udp_junk_mid_call_leave_the_call_running(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        call = await open_call(client)
        try:
            port = call.media_port()
            worst = 0.0
            # 1. From a stranger's socket, straight at the server's media port.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
                for n, packet in enumerate(junk_packets(3000)):
                    stranger.sendto(packet, ("127.0.0.1", port))
                    if n % 100 == 99:
                        worst = max(worst, (await health_s(client))[0])
                        await asyncio.sleep(0.01)
            # 2. Down the call's own ICE pair: past ICE's address check, into DTLS/SRTP's demultiplexing.
            connection = call.pc.getTransceivers()[0].sender.transport.transport._connection
            for n, packet in enumerate(junk_packets(1500)):
                if packet:
                    await connection.send(packet)
                if n % 100 == 99:
                    worst = max(worst, (await health_s(client))[0])
                    await asyncio.sleep(0.01)
            assert worst < HEALTH_LIMIT_S, f"/healthz took {worst:.2f} s during the junk"
            await still_alive(client, call)
            call.channel.send(json.dumps({"type": "bye"}))  # the events channel still works too
            await sessions_back_to_zero(client)
        finally:
            await call.pc.close()
        await sessions_back_to_zero(client)
    assert "Traceback" not in server.logs()


async def test_a_data_channel_flood_is_capped_and_the_loop_keeps_answering(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        call = await open_call(client)
        try:
            # Below the data channel's API, as a hostile peer could: a text message that is not UTF-8, a
            # truncated channel-open (DCEP) and an ack for a channel that does not exist.
            sctp = call.pc.sctp
            await sctp._send(call.channel.id, 51, b"\xff\xfe no es UTF-8 \xc3")
            await sctp._send(call.channel.id + 2, 50, b"\x03\x00")
            await sctp._send(call.channel.id + 4, 50, b"\x02")
            await still_alive(client, call)
            worst = 0.0
            floods: list[str | bytes] = [
                *["no es JSON"] * 2000,
                *[json.dumps({"type": "ruido", "n": n}) for n in range(2000)],
                *["x" * 60_000] * 50,
                *["[" * 60_000] * 5,  # nested deeper than Python's parser recurses
                *[b"\x00\xff" * 1000] * 200,
                *['{"type": ' * 10_000] * 3,
            ]
            for n, message in enumerate(floods):
                if call.channel.readyState != "open":
                    break
                call.channel.send(message)
                if n % 200 == 199:
                    worst = max(worst, (await health_s(client))[0])
                    for _ in range(1500):  # let our own SCTP sender catch up (30 s at most)
                        if call.channel.bufferedAmount <= 1_000_000:
                            break
                        await asyncio.sleep(0.02)
            for _ in range(600):  # until all is delivered (60 s at most), /healthz asked all along
                if call.channel.readyState != "open" or call.channel.bufferedAmount == 0:
                    break
                worst = max(worst, (await health_s(client))[0])
                await asyncio.sleep(0.1)
            assert worst < HEALTH_LIMIT_S, f"/healthz took {worst:.2f} s during the flood"
            logs = server.logs()
            assert "webrtc.events_dropped" in logs, "the flood was not noticed"
            if call.pc.connectionState == "connected":
                await still_alive(client, call)
            else:  # the clear refusal: the server hung up on the flood
                assert "events_flood" in logs
        finally:
            await call.pc.close()
        await sessions_back_to_zero(client)
    assert "Traceback" not in server.logs()


async def test_a_pcmu_only_offer_is_refused_and_nothing_keeps_running(server: Server) -> None:
    offer_ice_addresses(("127.0.0.1",))
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    lines = pc.localDescription.sdp.split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("m=audio"))
    lines[at] = " ".join([*lines[at].split()[:3], "0"])
    lines = [line for line in lines if not line.startswith("a=rtpmap:") or line.startswith("a=rtpmap:0 ")]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        answer = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": "\r\n".join(lines)})
        assert answer.status_code == 400 and "Opus" in answer.json()["error"]
        assert (await health_s(client))[1] == 0
