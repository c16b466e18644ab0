"""The Twirp (HTTP + protobuf) services of the LiveKit test server: RoomService ListRooms and DeleteRoom,
AgentDispatchService CreateDispatch, and SIP TransferSIPParticipant (checked as tests/support/livekit_sip.py does;
the SIP participant then leaves the room, as after a REFER). Each checks the bearer token and the grant the real
service asks for, and fails as Twirp does (a JSON body with ``code`` and ``msg``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from livekit.api import TokenVerifier
from livekit.protocol import agent_dispatch, models, room, sip

from tests.support.livekit_dispatch import _sid
from tests.support.livekit_sip import TwirpFailure, check_transfer

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from tests.support.livekit_dispatch import AgentWorker, Job
    from tests.support.livekit_server import Participant, Room


class TwirpServices:
    """The Twirp routes of a LiveKit test server (its base class)."""

    verifier: TokenVerifier
    rooms: dict[str, Room]
    workers: dict[str, AgentWorker]
    dispatches: list[agent_dispatch.CreateAgentDispatchRequest]
    transfers: list[sip.TransferSIPParticipantRequest]
    transfers_refused: list[str]
    busy_numbers: set[str]

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        raise NotImplementedError

    async def _drop(self, me: Participant, notify: bool = True) -> None:
        raise NotImplementedError

    async def dispatch_job(self, room_name: str, agent_name: str, metadata: str = "") -> Job:
        raise NotImplementedError

    async def _twirp(self, request: web.Request) -> web.Response:
        service, method = request.match_info["service"], request.match_info["method"]
        if service == "livekit.SIP" and method == "TransferSIPParticipant":
            return await self._transfer(request)
        try:
            header = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            claims = self.verifier.verify(header)
        except Exception:
            return _twirp_error(401, "unauthenticated", "invalid token")
        body = await request.read()
        video = claims.video
        if service == "livekit.RoomService" and method == "ListRooms":
            req = room.ListRoomsRequest.FromString(body)
            names = set(req.names)
            found = [r.proto() for r in self.rooms.values() if not names or r.name in names]
            return _proto(room.ListRoomsResponse(rooms=found))
        if service == "livekit.RoomService" and method == "DeleteRoom":
            if video is None or not video.room_create:
                return _twirp_error(403, "permission_denied", "needs roomCreate")
            name = room.DeleteRoomRequest.FromString(body).room
            if name in self.rooms:
                for participant in list(self.rooms[name].participants.values()):
                    await self._drop(participant)
            return _proto(room.DeleteRoomResponse())
        if service == "livekit.AgentDispatchService" and method == "CreateDispatch":
            if video is None or not video.room_admin:
                return _twirp_error(403, "permission_denied", "needs roomAdmin")
            dispatch = agent_dispatch.CreateAgentDispatchRequest.FromString(body)
            self.dispatches.append(dispatch)
            if not any(w.agent_name == dispatch.agent_name for w in self.workers.values()):
                return _twirp_error(404, "not_found", f"no worker registered as {dispatch.agent_name!r}")
            self._spawn(self.dispatch_job(dispatch.room, dispatch.agent_name, dispatch.metadata))
            return _proto(
                agent_dispatch.AgentDispatch(
                    id=_sid("AD"),
                    agent_name=dispatch.agent_name,
                    room=dispatch.room,
                    metadata=dispatch.metadata,
                )
            )
        return _twirp_error(404, "bad_route", f"{service}/{method} is not implemented by the test server")

    def _sip_participant(self, room_name: str, identity: str) -> Participant | None:
        found_room = self.rooms.get(room_name)
        target = found_room.participants.get(identity) if found_room else None
        return target if target is not None and target.info.kind == models.ParticipantInfo.Kind.SIP else None

    async def _transfer(self, request: web.Request) -> web.Response:
        """SIP TransferSIPParticipant, checked as tests/support/livekit_sip.py does; the SIP caller then leaves
        the room, as after a REFER. Numbers in ``busy_numbers`` are refused as a SIP 486."""
        try:
            transfer = check_transfer(
                self.verifier,
                request.headers,
                await request.read(),
                lambda room_name, who: self._sip_participant(room_name, who) is not None,
                self.busy_numbers,
            )
        except TwirpFailure as failure:
            self.transfers_refused.append(failure.code)
            return failure.response()
        target = self._sip_participant(transfer.room_name, transfer.participant_identity)
        assert target is not None
        self.transfers.append(transfer)
        self._spawn(self._drop(target))
        return _proto(
            sip.TransferSIPParticipantResponse(
                transfer_id=_sid("ST"), status=sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
            )
        )


def _proto(message: Any) -> web.Response:
    return web.Response(body=message.SerializeToString(), content_type="application/protobuf")


def _twirp_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "msg": message}, status=status)
