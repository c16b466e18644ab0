"""The engine as a LiveKit agent: sent into a room (by ``taina livekit dispatch``, the API, or LiveKit's dispatch),
it joins, waits for the caller, and serves the call as any other session (journal, recording, limits).

The direct WebRTC path stays the default; this runs only when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET
are set.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from livekit import api

from adapters.livekit_transport import LiveKitTransport, NoCaller, NotConfigured, server_api
from engine.session import Session, TurnRecord
from taina.app import App, new_session_id

log = structlog.get_logger("taina.livekit")


class NoSuchRoom(LookupError):
    """The room does not exist on the LiveKit server."""


@dataclass
class Call:
    room: str
    session_id: str
    transport: LiveKitTransport
    task: asyncio.Task[Session | None] | None = None


async def room_exists(app: App, room: str) -> bool:
    lk = server_api(app.settings.livekit)
    try:
        found = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
    finally:
        await lk.aclose()
    return any(r.name == room for r in found.rooms)


def new_room_name(app: App) -> str:
    return f"{app.settings.livekit.room_prefix}{secrets.token_hex(8)}"


async def join(
    app: App,
    room: str,
    start: Callable[[Session], None] | None = None,
    on_turn: Callable[[TurnRecord], None] | None = None,
    check_room: bool = True,
) -> Call:
    """Join ``room`` now (NotConfigured, NoSuchRoom and connection errors are raised here); the call itself runs
    in ``Call.task``: wait for the caller, then a session, started with ``start`` (the server's registry) or run
    in the task. The task's result is the session, or None when no caller came."""
    settings = app.settings
    if not settings.livekit.enabled:
        raise NotConfigured(
            "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
        )
    if check_room and not await room_exists(app, room):
        raise NoSuchRoom(f"there is no room {room!r} on the LiveKit server")
    transport = await LiveKitTransport.join(
        settings.livekit, settings.audio, room, settings.webrtc.media_timeout_s
    )
    call = Call(room, new_session_id(), transport)
    call.task = asyncio.create_task(_serve(app, call, start, on_turn), name=f"livekit-{room}")
    return call


async def _serve(
    app: App,
    call: Call,
    start: Callable[[Session], None] | None,
    on_turn: Callable[[TurnRecord], None] | None,
) -> Session | None:
    structlog.contextvars.bind_contextvars(session_id=call.session_id, room=call.room)
    try:
        caller = await call.transport.wait_for_caller(app.settings.livekit.caller_wait_s)
    except NoCaller as exc:
        log.info("livekit.no_caller", reason=str(exc))
        await call.transport.aclose()
        return None
    try:
        session = app.new_session(call.transport, on_turn=on_turn, session_id=call.session_id)
    except BaseException:
        await call.transport.aclose()
        raise
    if caller.phone:
        session.dialogue.offer_phone(caller.phone)
    if start is not None:
        start(session)
    else:
        await session.run()
    return session
