"""Bad signalling gets a clear 4xx and leaves the server serving; a good offer still gets an answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from adapters.library_patches import offer_ice_addresses
from adapters.webrtc import WebRtcSettings, ice_servers, screen_remote_candidates
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
    # Compared with the count before, not with 0: the module's one server may still be ending a session
    # another case started (this case must pass in any order, alone or after the others).
    before = httpx.get(f"{server.url}/healthz").json()["sessions"]
    response = post(server, body, content_type)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert httpx.get(f"{server.url}/healthz").json()["sessions"] <= before  # no session was started


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
    kept = screen_remote_candidates(sdp, WebRtcSettings(ice_addresses=("127.0.0.1",)))
    assert "127.0.0.1" in kept and "192.168" not in kept and ".local" not in kept


def test_remote_candidates_are_capped_and_never_internal_unless_allowed() -> None:
    """An anonymous caller must not make the server send UDP to internal addresses (a network probe)."""
    internal = ["10.0.0.7", "172.16.3.4", "192.168.1.20", "169.254.169.254", "127.0.0.1", "fd00:ec2::254",
                "fe80::1", "100.64.0.1", "224.0.0.251", "4f1c-abc.local"]  # fmt: skip
    public = [f"1.2.3.{i}" for i in range(1, 41)]  # only screened here: nothing is sent anywhere
    lines = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111"] + [
        f"a=candidate:{i} 1 udp 2122260223 {address} {50000 + i} typ host"
        for i, address in enumerate(internal + public)
    ]
    sdp = "\r\n".join(lines)
    import ipaddress

    screened = screen_remote_candidates(sdp, WebRtcSettings())
    kept = [line.split()[4] for line in screened.splitlines() if line.startswith("a=candidate:")]
    assert not set(kept) & set(internal)
    assert len(kept) == WebRtcSettings().max_remote_candidates
    lan = screen_remote_candidates(sdp, WebRtcSettings(allowed_candidate_networks=("192.168.0.0/16",)))
    lan_kept = [line.split()[4] for line in lan.splitlines() if line.startswith("a=candidate:")]
    assert "192.168.1.20" in lan_kept and "4f1c-abc.local" in lan_kept
    assert not [a for a in lan_kept if a != "4f1c-abc.local" and ipaddress.ip_address(a).is_link_local]
    assert "169.254.169.254" not in lan_kept and "10.0.0.7" not in lan_kept


def test_no_stun_or_turn_server_unless_configured() -> None:
    """With none configured, aiortc must not fall back to its built-in third-party STUN server."""
    assert ice_servers(WebRtcSettings()) == []
    servers = ice_servers(
        WebRtcSettings(ice_servers=("stun:stun.clinic.example:3478", "turn:turn.clinic.example:3478"),
                       turn_username="u", turn_password="p")
    )  # fmt: skip
    assert [s.urls for s in servers] == ["stun:stun.clinic.example:3478", "turn:turn.clinic.example:3478"]
    assert servers[0].username is None and (servers[1].username, servers[1].credential) == ("u", "p")


@pytest.mark.parametrize("amplitude", [0, 1, 300, 12_000, 32_767])
def test_the_outbound_audio_level_matches_aiortcs_own(amplitude: int) -> None:
    import av
    import numpy as np
    from aiortc import rtp

    from adapters import library_patches as webrtc

    webrtc.apply(("127.0.0.1",))  # as the app does at start

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


def _mangled(sdp: str, how: str) -> str:
    """A real aiortc offer broken in one way a careless or hostile client might."""
    lines = sdp.split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("m=audio"))
    media = lines[at].split()
    if how == "port":
        lines[at] = " ".join([media[0], "abc", *media[2:]])
    elif how == "no formats":
        lines[at] = " ".join(media[:3])
    elif how == "only PCMU":
        lines[at] = " ".join([*media[:3], "0"])
        lines.insert(at + 1, "a=rtpmap:0 PCMU/8000")
    elif how == "no rtpmap":
        lines = [line for line in lines if not line.startswith("a=rtpmap")]
    elif how == "unknown codec":
        lines[at] = " ".join([*media[:3], "99"])
        lines = [line for line in lines if not line.startswith("a=rtpmap")]
        lines.insert(at + 1, "a=rtpmap:99 FOO/8000")
    elif how == "two audio sections":
        section_end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
        lines[section_end:section_end] = lines[at:section_end]
    return "\r\n".join(lines)


@pytest.mark.parametrize(
    "how", ["port", "no formats", "only PCMU", "no rtpmap", "unknown codec", "two audio sections"]
)
async def test_malformed_audio_offers_get_a_400_naming_the_problem(server: Server, how: str) -> None:
    pc, sdp = await client_offer(with_audio=True)
    await pc.close()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        before = (await client.get("/healthz")).json()["sessions"]
        offer = {"type": "offer", "sdp": _mangled(sdp, how)}
        response = await client.post("/api/rtc/offer", json=offer)
        assert response.status_code == 400, response.text
        assert "SDP" in response.json()["error"] or "audio" in response.json()["error"]
        assert (await client.get("/healthz")).json()["sessions"] <= before  # no session was started


async def test_an_offer_follows_the_settings_in_force_when_it_arrives(tmp_path: Path) -> None:
    """Settings applied after start (what PUT /api/settings does, through runtime.apply) govern the next offer:
    the HTTP layer keeps no copy of its own."""
    from dataclasses import replace

    from taina.app import App
    from taina.assistant import Assistant
    from taina.server import create_app
    from taina.settings import Settings

    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path)})
    runtime = App(settings, Assistant(settings))
    app = create_app(runtime)
    offer = {"type": "offer", "sdp": "v=0"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://taina.test") as client:
        opened = await client.post("/api/rtc/offer", json=offer)
        assert opened.status_code == 400 and "no audio" in opened.json()["error"]  # no access link needed

        runtime.apply(
            replace(
                settings,
                webrtc=settings.webrtc.model_copy(update={"access_token": "enlace-nuevo"}),
                http=settings.http.model_copy(update={"max_signalling_bytes": 1_024}),
            )
        )
        bare = await client.post("/api/rtc/offer", json=offer)
        assert bare.status_code == 401 and "?token=" in bare.json()["error"]
        linked = {"Authorization": "Bearer enlace-nuevo"}
        big = await client.post("/api/rtc/offer", json={**offer, "sdp": "v" * 2_000}, headers=linked)
        assert big.status_code == 413 and "over 1024 bytes" in big.json()["error"]
        assert (await client.post("/api/rtc/offer", json=offer, headers=linked)).status_code == 400
