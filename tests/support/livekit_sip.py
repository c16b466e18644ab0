"""A fake of LiveKit's Twirp SIP service, ``POST /twirp/livekit.SIP/TransferSIPParticipant``, that checks a request
as livekit-server does and answers errors the Twirp way (JSON ``{"code", "msg", "meta"}`` with the code's HTTP
status). Used alone (an aiohttp server on 127.0.0.1) and by the LiveKit test server for its rooms.

Checked: the route and the protobuf (or JSON) content type; ``Authorization: Bearer`` a JWT signed with the API
secret, unexpired, with the SIP call grant and room admin for the request's room; the body's ``room_name``,
``participant_identity`` (a SIP participant in that room) and ``transfer_to`` (``tel:+digits`` or ``sip:...``).
Numbers in ``busy`` answer as a SIP 486 would (failed_precondition, with the SIP status in ``meta``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from livekit.api import TokenVerifier
from livekit.protocol import sip

ROUTE = "/twirp/livekit.SIP/TransferSIPParticipant"
_STATUS = {
    "bad_route": 404,
    "malformed": 400,
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "failed_precondition": 412,
}
_TARGET = re.compile(r"^(tel:\+?[0-9]{3,20}|sips?:[^@\s]+@[^@\s]+|sips?:\+?[0-9]{3,20}(@[^@\s]+)?)$")


class TwirpFailure(Exception):
    def __init__(self, code: str, message: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.meta = code, message, meta or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"code": self.code, "msg": self.message}
        if self.meta:
            body["meta"] = self.meta
        return web.json_response(body, status=_STATUS[self.code])


def check_transfer(
    verifier: TokenVerifier,
    request_headers: Any,
    body: bytes,
    is_sip_participant: Callable[[str, str], bool],
    busy: set[str],
) -> sip.TransferSIPParticipantRequest:
    """The request, checked as livekit-server checks it; TwirpFailure otherwise."""
    content_type = request_headers.get("Content-Type", "").split(";")[0].strip()
    if content_type not in ("application/protobuf", "application/json"):
        raise TwirpFailure("bad_route", f"unexpected Content-Type: {content_type!r}")
    header = request_headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise TwirpFailure("unauthenticated", "authorization header must be Bearer")
    try:
        claims = verifier.verify(header.removeprefix("Bearer ").strip())
    except Exception:
        raise TwirpFailure("unauthenticated", "invalid token") from None
    try:
        if content_type == "application/json":
            transfer = json_format.Parse(body.decode(), sip.TransferSIPParticipantRequest())
        else:
            transfer = sip.TransferSIPParticipantRequest.FromString(body)
    except Exception:
        raise TwirpFailure("malformed", "the request body could not be decoded") from None
    if claims.sip is None or not claims.sip.call:
        raise TwirpFailure("permission_denied", "permissions denied: needs the SIP call grant")
    video = claims.video
    if video is None or not video.room_admin or video.room != transfer.room_name:
        raise TwirpFailure("permission_denied", "permissions denied: needs room admin for this room")
    for name in ("room_name", "participant_identity", "transfer_to"):
        if not getattr(transfer, name):
            raise TwirpFailure("invalid_argument", f"missing {name}")
    if not _TARGET.match(transfer.transfer_to):
        raise TwirpFailure(
            "invalid_argument", f"transfer_to must be tel: or sip:, not {transfer.transfer_to!r}"
        )
    if not is_sip_participant(transfer.room_name, transfer.participant_identity):
        raise TwirpFailure("not_found", "participant does not exist or is not a SIP participant")
    if transfer.transfer_to in busy:
        raise TwirpFailure(
            "failed_precondition",
            "transfer failed: Busy Here",
            {"sip_status_code": "486", "sip_status": "Busy Here", "sip_transfer_reason": "STR_SIP_ERROR"},
        )
    return transfer


@dataclass
class FakeSipService:
    """The service alone, for the engine's transfer client: ``participants`` are the (room, identity) pairs that
    are SIP callers; accepted transfers are kept in ``transfers``."""

    api_key: str
    api_secret: str
    participants: set[tuple[str, str]] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)
    transfers: list[sip.TransferSIPParticipantRequest] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the codes of the requests refused

    def app(self) -> web.Application:
        verifier = TokenVerifier(self.api_key, self.api_secret)

        async def handle(request: web.Request) -> web.Response:
            if request.method != "POST" or request.path != ROUTE:
                return TwirpFailure(
                    "bad_route", f"no handler for {request.method} {request.path!r}"
                ).response()
            try:
                transfer = check_transfer(
                    verifier,
                    request.headers,
                    await request.read(),
                    lambda room, who: (room, who) in self.participants,
                    self.busy,
                )
            except TwirpFailure as failure:
                self.refused.append(failure.code)
                return failure.response()
            self.transfers.append(transfer)
            return web.Response(
                body=sip.TransferSIPParticipantResponse(
                    transfer_id=f"ST_{len(self.transfers)}",
                    status=sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
                ).SerializeToString(),
                content_type="application/protobuf",
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app
