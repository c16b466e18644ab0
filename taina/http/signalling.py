"""WebRTC signalling: POST /api/rtc/offer answers a browser's offer and starts a voice session, within the
access link, the per-address rate and the capacity. Every limit that is a setting is read from the runtime
when the offer arrives: the dashboard may have applied new settings since start."""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request

from adapters.webrtc import SignallingError, WebRtcTransport, check_offer
from engine.session import Session
from taina.app import new_session_id
from taina.auth import RateLimiter
from taina.http.deps import AppDep, part
from taina.http.errors import ApiError

log = structlog.get_logger("taina.server")


class SessionRegistry:
    """The live sessions, so the server can refuse past capacity and hang up everyone on shutdown."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, session: Session) -> None:
        task = asyncio.create_task(session.run(), name=f"session-{session.id}")
        self._tasks[session.id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(session.id, None))

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
        raise ApiError(429, f"too many calls started from this address; try again in {int(wait) + 1} s")
    offers.hit(address)
    body = await read_json_body(request, settings.http.max_signalling_bytes)
    if len(live) >= live.capacity:
        raise ApiError(503, "the assistant is at capacity; try again in a moment")
    # Bound before the peer connection exists, so aiortc's own tasks log with the session id too.
    session_id = new_session_id()
    structlog.contextvars.bind_contextvars(session_id=session_id)
    try:
        sdp = check_offer(body.get("sdp"), body.get("type"))
        transport, answer = await WebRtcTransport.answer(sdp, settings.audio, settings.webrtc)
    except SignallingError as exc:
        log.info("signalling.refused", reason=str(exc))
        raise ApiError(400, str(exc)) from None
    session = runtime.new_session(transport, session_id=session_id)
    live.start(session)
    return {"type": "answer", "sdp": answer, "session_id": session.id}
