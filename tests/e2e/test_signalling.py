"""Bad signalling gets a clear 4xx and leaves the server serving; a good offer still gets an answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from adapters.webrtc import filter_remote_candidates, offer_ice_addresses
from tests.support.servers import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Iterator[Server]:
    """One server for the whole module: every case below must leave it serving."""
    data = tmp_path_factory.mktemp("signalling")
    (data / "models").symlink_to(shared_models)
    srv = start_server(data)
    yield srv
    stop_server(srv)


async def client_offer(with_audio: bool) -> tuple[RTCPeerConnection, str]:
    offer_ice_addresses(("127.0.0.1",))  # this test's own peer stays on loopback too
    pc = RTCPeerConnection()
    if with_audio:
        pc.addTrack(AudioStreamTrack())
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


def post(server: Server, body: bytes | str, content_type: str = "application/json") -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/rtc/offer", content=body, headers={"Content-Type": content_type}, timeout=30
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ('{"type": "offer", "sdp": "v=0\\r\\nthis is not SDP"}', "application/json", 400, "no audio"),
        (
            '{"type": "offer", "sdp": "v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\ngarbage"}',
            "application/json",
            400,
            "SDP",
        ),
        ('{"type": "answer", "sdp": "v=0"}', "application/json", 400, '"type" must be "offer"'),
        ('{"type": "offer"}', "application/json", 400, '"sdp" must be'),
        ("not json at all", "application/json", 400, "not valid JSON"),
        ('["offer"]', "application/json", 400, "JSON object"),
        ('{"type": "offer", "sdp": "v=0"}', "text/plain", 415, "application/json"),
        ('{"sdp": "' + "v" * 200_000 + '"}', "application/json", 413, "over 65536 bytes"),
    ],
)
def test_bad_offers_get_a_clear_4xx(
    server: Server, body: str, content_type: str, status: int, message: str
) -> None:
    response = post(server, body, content_type)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert httpx.get(f"{server.url}/healthz").json()["sessions"] == 0


async def test_an_offer_without_audio_is_refused_and_a_good_one_answered(server: Server) -> None:
    pc, sdp = await client_offer(with_audio=False)
    await pc.close()
    refused = await asyncio.to_thread(
        post, server, httpx.Request("POST", "/", json={"type": "offer", "sdp": sdp}).content
    )
    assert refused.status_code == 400 and "no audio" in refused.json()["error"]

    pc, sdp = await client_offer(with_audio=True)
    try:
        answered = await asyncio.to_thread(
            post, server, httpx.Request("POST", "/", json={"type": "offer", "sdp": sdp}).content
        )
        assert answered.status_code == 200, answered.text
        answer = answered.json()
        assert answer["type"] == "answer" and "m=audio" in answer["sdp"] and answer["session_id"]
        candidates = [line for line in answer["sdp"].splitlines() if line.startswith("a=candidate:")]
        assert candidates and all(" 127.0.0.1 " in line for line in candidates)
    finally:
        await pc.close()


def test_chunked_oversized_body_is_refused(server: Server) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    response = httpx.post(
        f"{server.url}/api/rtc/offer", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_loopback_only_ice_drops_other_remote_candidates() -> None:
    sdp = "\r\n".join([
        "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "a=candidate:2 1 udp 2122260223 192.168.1.20 50001 typ host",
        "a=candidate:3 1 udp 2122260223 4f1c-abc.local 50002 typ host",
    ])  # fmt: skip
    kept = filter_remote_candidates(sdp, ("127.0.0.1",))
    assert "127.0.0.1" in kept and "192.168" not in kept and ".local" not in kept
    assert filter_remote_candidates(sdp, ("203.0.113.5",)) == sdp


@pytest.mark.parametrize("amplitude", [0, 1, 300, 12_000, 32_767])
def test_the_outbound_audio_level_matches_aiortcs_own(amplitude: int) -> None:
    import av
    import numpy as np
    from aiortc import rtp

    from adapters import webrtc

    rng = np.random.default_rng(amplitude)
    samples = (rng.uniform(-1, 1, 960) * amplitude).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    original = webrtc._original_audio_level(frame)
    assert webrtc.audio_level_dbov(frame) == original
    assert rtp.compute_audio_level_dbov is webrtc.audio_level_dbov  # the one aiortc's sender calls


def test_calls_can_need_the_access_link_and_are_rate_limited(tmp_path: Path, shared_models: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    token = "enlace-de-la-clinica"
    srv = start_server(data, {"TAINA_WEBRTC_ACCESS_TOKEN": token, "TAINA_WEBRTC_OFFERS_PER_MINUTE": "3"})
    try:
        offer = '{"type": "offer", "sdp": "v=0"}'
        bare = post(srv, offer)
        assert bare.status_code == 401 and "?token=" in bare.json()["error"]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        answers = [
            httpx.post(f"{srv.url}/api/rtc/offer", content=offer, headers=headers, timeout=30)
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [400, 400, 400, 429]
        assert "try again" in answers[-1].json()["error"]
        assert httpx.get(f"{srv.url}/healthz").json()["status"] == "ok"
    finally:
        stop_server(srv)
