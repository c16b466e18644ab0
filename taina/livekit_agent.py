"""The engine as a LiveKit agent: sent into a room (by ``taina livekit dispatch``, the API, or LiveKit's dispatch),
it joins, waits for the caller, and serves the call as any other session (journal, recording, limits).

The direct WebRTC path stays the default; this runs only when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET
are set.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from livekit import api

from adapters.livekit_sip import TransferRefused, transfer_to_staff
from adapters.livekit_transport import LiveKitTransport, NoCaller, NotConfigured, server_api
from adapters.livekit_worker import AgentWorker, Assignment
from engine.handoff import HAND_OFF, transfers
from engine.session import Session, TurnRecord
from engine.speaker import Speaker
from engine.waterfall import Waterfall
from taina.app import App, new_session_id

log = structlog.get_logger("taina.livekit")


class NoSuchRoom(LookupError):
    """The room does not exist on the LiveKit server."""


TRANSFER_FAILED = (
    "Lo siento, no pude pasarle con el personal ahora mismo. Puede llamar a recepción en horario de oficina."
)


@dataclass
class HandOff:
    """What a hand-off to staff did in a LiveKit call. A phone (SIP) caller, with a staff number set, is told so
    by the hand-off reply itself (the tool's result said the call transfers: engine/handoff.py) and transferred
    (LiveKit's SIP transfer) once that reply has been said; told again if the transfer is refused (the call goes
    on). A browser caller has heard the hand-off reply (staff are told and call back) and nothing more happens."""

    outcome: str = ""  # "", "transferred", "refused: ...", "not transferred: ..."
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)  # a call is itself (kept in sets)
class Call:
    room: str
    session_id: str
    transport: LiveKitTransport
    task: asyncio.Task[Session | None] | None = None
    handoff: HandOff = field(default_factory=HandOff)
    session: Session | None = None  # once the caller is in

    @property
    def waiting(self) -> bool:
        """In the room, the caller not yet there (a call that takes a slot without a session yet)."""
        return self.session is None and not self.transport.is_closed


class JobFailed(RuntimeError):
    """The call of a LiveKit job ended with an error."""


@dataclass
class _Job:
    """A job from LiveKit's dispatch, as the worker protocol sees it: the call in its room."""

    call: Call

    async def finished(self) -> None:
        await self.call.transport.closed()
        if self.call.task is not None:
            await asyncio.gather(self.call.task, return_exceptions=True)
        session = self.call.session
        if session is not None and session.error is not None:
            raise JobFailed(repr(session.error))

    async def stop(self) -> None:
        await self.call.transport.aclose()


def agent_worker(
    app: App,
    start: Callable[[Session], None] | None,
    active: Callable[[], int],
    limit: Callable[[], int],
    draining: Callable[[], bool] = lambda: False,
    on_call: Callable[[Call], None] | None = None,
    **options: float,
) -> AgentWorker:
    """The engine as a LiveKit agent worker (adapters/livekit_worker.py): jobs are calls, joined with the
    assignment's token and started with ``start`` (the server's registry; None: run in the call's task). Its
    capacity is ``active()`` calls (the process's, LiveKit's and direct ones) plus calls waiting in a room for
    their caller, against ``limit()``."""
    waiting: set[Call] = set()

    async def run_job(assignment: Assignment) -> _Job:
        call = await join(app, assignment.room, start=start, token=assignment.token, url=assignment.url)
        waiting.add(call)  # counted until its caller comes (then the session is in active()) or it leaves
        if on_call is not None:
            on_call(call)
        return _Job(call)

    def capacity() -> tuple[int, int]:
        for call in [c for c in waiting if not c.waiting]:
            waiting.discard(call)
        return active() + len(waiting), limit()

    return AgentWorker(app.settings.livekit, run_job, capacity, draining=draining, **options)


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
    token: str = "",
    url: str = "",
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
        settings.livekit, settings.audio, room, settings.webrtc.media_timeout_s, token=token, url=url
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
    found: list[Session] = []

    def turn_done(record: TurnRecord) -> None:
        if on_turn is not None:
            on_turn(record)
        handoffs = [a for a in record.actions if a.tool == HAND_OFF]
        if found and call.handoff.task is None and handoffs:
            transfer = any(transfers(a.result) for a in handoffs)
            call.handoff.task = asyncio.create_task(
                _hand_off(app, call, found[0], transfer), name=f"handoff-{call.room}"
            )
            call.handoff.task.add_done_callback(_log_failure)

    try:
        session = app.new_session(
            call.transport,
            on_turn=turn_done,
            session_id=call.session_id,
            transfers=lambda: _can_transfer(app, call) is None,
        )
        found.append(session)
        call.session = session
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


def _can_transfer(app: App, call: Call) -> str | None:
    """None when this call can be put through to the staff (a phone caller, a staff number set), else why not."""
    caller = call.transport.caller
    if caller is None or caller.phone is None:
        return "not a phone caller"
    if not app.settings.livekit.transfer_number:
        return "no transfer number"
    return None


async def _hand_off(app: App, call: Call, session: Session, transfer: bool) -> None:
    """After a hand-off turn: transfer the caller when the hand-off's reply said so (it has told them already),
    once that reply has been heard."""
    caller = call.transport.caller
    if not transfer or caller is None:
        why = _can_transfer(app, call) or "the hand-off did not transfer"
        call.handoff.outcome = f"not transferred: {why}"
        log.info("livekit.handed_off", transferred=False, why=why)
        call.transport.send_event({"type": "handoff", "transferred": False})
        return
    async with asyncio.timeout(30):
        await call.transport.drained()  # the reply that says the caller is being passed over
    try:
        target = await transfer_to_staff(app.settings.livekit, call.room, caller.identity)
    except (TransferRefused, ValueError) as exc:
        call.handoff.outcome = f"refused: {exc}"
        log.warning("livekit.transfer_refused", error=str(exc))
        call.transport.send_event({"type": "handoff", "transferred": False, "error": str(exc)})
        await _say(app, call, session, TRANSFER_FAILED)
        return
    call.handoff.outcome = "transferred"
    call.transport.send_event({"type": "handoff", "transferred": True, "to": target})


async def _say(app: App, call: Call, session: Session, text: str) -> None:
    """One line to the caller after what is playing now (in the recording too, as any reply)."""
    transport = call.transport
    async with asyncio.timeout(30):
        await transport.drained()
        transport.send_event({"type": "transcript", "role": "assistant", "text": text, "turn": "handoff"})
        speaker = Speaker(
            session.tts, transport, app.settings.audio.frame_ms, Waterfall(time.monotonic()), lambda _at: None
        )
        await speaker.say(text)
        await speaker.finish()
        await transport.drained()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("livekit.handoff_failed", error=repr(task.exception()))
