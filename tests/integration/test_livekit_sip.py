"""The hand-off's SIP transfer (adapters/livekit_sip.py) against a fake of LiveKit's Twirp SIP service
(tests/support/livekit_sip.py) on 127.0.0.1 that checks each request as livekit-server would. The transfer in a
call (the engine in a room with a SIP caller) is in tests/e2e/test_livekit.py."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from livekit import api
from livekit.protocol import sip

from adapters.livekit_sip import TransferRefused, transfer_target, transfer_to_staff
from adapters.livekit_transport import LiveKitSettings
from tests.support.livekit_sip import ROUTE, FakeSipService
from tests.support.servers import free_port

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"
ROOM, PHONE = "taina-sip-1", "sip_+18095550123"


@pytest.fixture
async def service() -> AsyncIterator[tuple[FakeSipService, str]]:
    fake = FakeSipService(KEY, SECRET, participants={(ROOM, PHONE)})
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def settings(url: str, number: str = "+1 (809) 555-0000", secret: str = SECRET) -> LiveKitSettings:
    return LiveKitSettings(url=url, api_key=KEY, api_secret=secret, transfer_number=number)


async def test_a_sip_caller_is_transferred_to_the_staff_number(service: tuple[FakeSipService, str]) -> None:
    fake, url = service
    assert await transfer_to_staff(settings(url), ROOM, PHONE) == "tel:+18095550000"
    (done,) = fake.transfers
    assert (done.room_name, done.participant_identity, done.transfer_to) == (ROOM, PHONE, "tel:+18095550000")


async def test_a_refused_transfer_raises_with_livekits_reason(service: tuple[FakeSipService, str]) -> None:
    fake, url = service
    fake.busy.add("tel:+18095550000")
    with pytest.raises(TransferRefused, match=r"412 failed_precondition.*Busy Here"):
        await transfer_to_staff(settings(url), ROOM, PHONE)
    with pytest.raises(TransferRefused, match="404 not_found"):
        await transfer_to_staff(settings(url), ROOM, "caller-browser-1")  # not a SIP participant
    with pytest.raises(TransferRefused, match="401 unauthenticated"):
        await transfer_to_staff(settings(url, secret="x" * 40), ROOM, PHONE)
    with pytest.raises(TransferRefused, match="could not be reached"):
        await transfer_to_staff(settings(f"http://127.0.0.1:{free_port()}"), ROOM, PHONE, timeout_s=5)
    assert fake.transfers == [] and fake.refused == ["failed_precondition", "not_found", "unauthenticated"]


def test_the_staff_number_must_be_a_number_or_sip_address() -> None:
    assert transfer_target("tel:+18095550000") == "tel:+18095550000"
    assert transfer_target("sip:recepcion@pbx.clinica.do") == "sip:recepcion@pbx.clinica.do"
    assert transfer_target("809-555-0000") == "tel:8095550000"
    for bad in ("", "recepción", "+1 809 x"):
        with pytest.raises(ValueError):
            transfer_target(bad)


async def test_the_fake_checks_requests_as_livekit_does(service: tuple[FakeSipService, str]) -> None:
    """The fake itself refuses what livekit-server refuses (so the tests above could fail)."""
    fake, url = service
    body = sip.TransferSIPParticipantRequest(
        room_name=ROOM, participant_identity=PHONE, transfer_to="tel:+18095550000"
    ).SerializeToString()

    def token(sip_call: bool = True, admin_room: str = ROOM, ttl_s: int = 60) -> str:
        built = api.AccessToken(KEY, SECRET).with_ttl(datetime.timedelta(seconds=ttl_s))
        if sip_call:
            built = built.with_sip_grants(api.SIPGrants(call=True))
        return built.with_grants(api.VideoGrants(room_admin=True, room=admin_room)).to_jwt()

    async def post(
        headers: dict[str, str], data: bytes = body, path: str = ROUTE
    ) -> tuple[int, dict[str, str]]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(url + path, data=data, headers=headers) as answer,
        ):
            return answer.status, await answer.json()

    proto = {"Content-Type": "application/protobuf"}
    cases = {
        "no token": (proto, body, ROUTE, 401, "unauthenticated"),
        "no SIP grant": ({**proto, "Authorization": f"Bearer {token(sip_call=False)}"}, body, ROUTE, 403,
                         "permission_denied"),
        "admin of another room": ({**proto, "Authorization": f"Bearer {token(admin_room='other')}"}, body, ROUTE,
                                  403, "permission_denied"),
        "expired": ({**proto, "Authorization": f"Bearer {token(ttl_s=-120)}"}, body, ROUTE, 401, "unauthenticated"),
        "wrong route": ({**proto, "Authorization": f"Bearer {token()}"}, body, "/twirp/livekit.SIP/Transfer", 404,
                        "bad_route"),
        "garbage body": ({**proto, "Authorization": f"Bearer {token()}"}, b"\xff\x00garbage", ROUTE, 400,
                         "malformed"),
        "not tel: or sip:": ({**proto, "Authorization": f"Bearer {token()}"},
                             sip.TransferSIPParticipantRequest(room_name=ROOM, participant_identity=PHONE,
                                                               transfer_to="18095550000").SerializeToString(),
                             ROUTE, 400, "invalid_argument"),
    }  # fmt: skip
    for name, (headers, data, path, status, code) in cases.items():
        got_status, got = await post(headers, data, path)
        assert (got_status, got["code"]) == (status, code), (name, got)
        assert got["msg"], name
    assert fake.transfers == []
