"""WebRTC signalling: POST /api/rtc/offer answers a browser's offer and starts a voice session, within the
access link, the per-address rate and the capacity. Every limit that is a setting is read from the runtime
when the offer arrives: the dashboard may have applied new settings since start."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request

from adapters.webrtc import SignallingError, WebRtcTransport, check_offer
from engine.metrics import SESSIONS_ACTIVE, SESSIONS_ENDED
from engine.session import Session
from taina.app import new_session_id
from taina.auth import RateLimiter
from taina.http.deps import AppDep, part
from taina.http.errors import ApiError
from taina.http.machine_calls import MachineCalls
from taina.monitoring import CALLS_REFUSED

log = structlog.get_logger("taina.server")


class Slot:
    """A place among the live sessions, held from before the offer is answered until the call ends."""

    def __init__(self, registry: SessionRegistry, address: str) -> None:
        self.registry = registry
        self.address = address
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.registry._release(self)


class SessionRegistry:
    """The live sessions, so the server can refuse past capacity and hang up everyone on shutdown.

    An offer takes a slot (``reserve``) before it awaits anything, so offers arriving together cannot all
    pass the check and then all start: the check and the taking are one step on the event loop. With several
    worker processes (``machine``), the limits count every worker's calls, in shared memory."""

    def __init__(
        self, capacity: int, per_address: int | None = None, machine: MachineCalls | None = None
    ) -> None:
        self.capacity = capacity
        self.per_address = per_address or capacity
        self.machine = machine
        self._slots: set[Slot] = set()
        self._by_address: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.draining = False  # set on SIGTERM (taina/http/drain.py): new calls refused, live ones go on
        self._emptied = asyncio.Event()  # set when the last call ends

    def __len__(self) -> int:
        return len(self._slots)

    def reserve(self, address: str, capacity: int | None = None, per_address: int | None = None) -> Slot:
        """A slot for a call from ``address``; ApiError 503 (with Retry-After) if the server or the address is
        at its limit. No await: nothing can slip in between the check and the taking."""
        capacity = self.capacity if capacity is None else capacity
        per_address = self.per_address if per_address is None else per_address
        if self.draining:
            raise ApiError(
                503, "this server is shutting down; try again in a moment", {"Retry-After": RETRY_AFTER_S}
            )
        if self.machine is not None:
            refused = self.machine.take(address, capacity, per_address)
        elif len(self._slots) >= capacity:
            refused = "capacity"
        elif self._by_address.get(address, 0) >= per_address:
            refused = "per_address"
        else:
            refused = None
        if refused == "capacity":
            CALLS_REFUSED.labels("capacity").inc()
            raise ApiError(
                503, "the assistant is at capacity; try again in a moment", {"Retry-After": RETRY_AFTER_S}
            )
        if refused == "per_address":
            CALLS_REFUSED.labels("per_address").inc()
            raise ApiError(
                503,
                f"this address already has {per_address} calls in progress; try again when one ends",
                {"Retry-After": RETRY_AFTER_S},
            )
        slot = Slot(self, address)
        self._slots.add(slot)
        SESSIONS_ACTIVE.inc()
        self._by_address[address] = self._by_address.get(address, 0) + 1
        return slot

    def _release(self, slot: Slot) -> None:
        if slot in self._slots:
            SESSIONS_ACTIVE.dec()
            if self.machine is not None:
                self.machine.give_back(slot.address)
        self._slots.discard(slot)
        left = self._by_address.get(slot.address, 0) - 1
        if left > 0:
            self._by_address[slot.address] = left
        else:
            self._by_address.pop(slot.address, None)
        if not self._slots:
            self._emptied.set()

    def start(self, session: Session, slot: Slot | None = None) -> None:
        """Run ``session``; its slot (one is taken now if none is given) is freed when it ends."""
        held = slot if slot is not None else self.reserve("", capacity=10**9, per_address=10**9)
        task = asyncio.create_task(session.run(), name=f"session-{session.id}")
        self._tasks[session.id] = task

        def ended(_task: asyncio.Task[None]) -> None:
            self._tasks.pop(session.id, None)
            held.release()
            SESSIONS_ENDED.labels("failed" if session.error is not None else "ok").inc()

        task.add_done_callback(ended)

    async def wait_empty(self, limit_s: float) -> bool:
        """Wait until no call is in progress, ``limit_s`` at most; True if none is left."""
        if self._slots:
            self._emptied.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._emptied.wait(), limit_s)
        return not self._slots

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


RETRY_AFTER_S = "10"


async def read_json_body(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object, refusing bodies over ``limit`` bytes before reading them whole."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "send the offer as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request body is over {limit} bytes")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise ApiError(413, f"the request body is over {limit} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return parsed


async def sessions(request: Request) -> SessionRegistry:
    found: SessionRegistry = part(request, "sessions")
    return found


async def offer_limiter(request: Request) -> RateLimiter:
    """Offers by address (its limit is fixed at start, with the limiter)."""
    found: RateLimiter = part(request, "offers")
    return found


SessionsDep = Annotated[SessionRegistry, Depends(sessions)]
router = APIRouter()


@router.post("/api/rtc/offer")
async def offer(
    request: Request,
    runtime: AppDep,
    live: SessionsDep,
    offers: Annotated[RateLimiter, Depends(offer_limiter)],
) -> dict[str, str]:
    """Answer a browser's WebRTC offer ({"sdp", "type": "offer"}) and start a voice session."""
    settings = runtime.settings  # the ones in force now, not a copy taken at start
    address = request.client.host if request.client else ""
    token = settings.webrtc.access_token
    if token and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()
    ):
        raise ApiError(401, "this assistant needs its access link: open the page with ?token=...")
    wait = offers.retry_after(address)
    if wait > 0:
        CALLS_REFUSED.labels("rate").inc()
        raise ApiError(429, f"too many calls started from this address; try again in {int(wait) + 1} s")
    offers.hit(address)
    body = await read_json_body(request, settings.http.max_signalling_bytes)
    # The slot is taken before the first await of the answer, and given back if no call comes of it.
    slot = live.reserve(address, settings.webrtc.max_sessions, settings.webrtc.max_sessions_per_address)
    try:
        # Bound before the peer connection exists, so aiortc's own tasks log with the session id too.
        session_id = new_session_id()
        structlog.contextvars.bind_contextvars(session_id=session_id)
        try:
            sdp = check_offer(body.get("sdp"), body.get("type"))
            transport, answer = await WebRtcTransport.answer(sdp, settings.audio, settings.webrtc)
        except SignallingError as exc:
            log.info("signalling.refused", reason=str(exc))
            raise ApiError(400, str(exc)) from None
        try:
            session = runtime.new_session(transport, session_id=session_id)
        except BaseException:
            await transport.aclose()
            raise
        live.start(session, slot)
    except BaseException:
        slot.release()
        raise
    return {"type": "answer", "sdp": answer, "session_id": session.id}
