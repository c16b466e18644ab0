"""LiveKit's face of the engine (only when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are set):

- ``POST /api/livekit/dispatch`` (editor): send the engine into a named room, as ``taina livekit dispatch``.
- ``POST /api/livekit/token`` (public, rate limited by address; behind the assistant's access link when
  TAINA_WEBRTC_ACCESS_TOKEN is set, as the direct path is): a caller's token for a room whose name is generated
  here, granting only a microphone to publish and the room to subscribe to; the engine is sent into that room
  and waits for the caller. The voice page's LiveKit mode (taina/web/livekit.js) starts its calls here.
- ``POST /api/livekit/webhook``: LiveKit's webhooks, checked with WebhookReceiver (a JWT over the body's
  SHA-256 signed with the API secret); unsigned or wrongly signed: 401.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from livekit import api
from pydantic import BaseModel, Field

from adapters.livekit_transport import NotConfigured, caller_token
from taina.auth import RateLimiter
from taina.http.deps import AppDep, Editor
from taina.http.errors import ApiError
from taina.http.machine_calls import MachineRateLimiter
from taina.http.signalling import SessionsDep
from taina.livekit_agent import NoSuchRoom, join, new_room_name

log = structlog.get_logger("taina.livekit")
router = APIRouter()
_WEBHOOK_MAX_BYTES = 64 * 1024


class DispatchRequest(BaseModel):
    room: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")


async def token_limiter(request: Request) -> RateLimiter:
    """Caller tokens by address, made on first use with the limit in force then."""
    state = request.app.state
    found: RateLimiter | None = getattr(state, "livekit_tokens", None)
    if found is None:
        limit = state.runtime.settings.livekit.tokens_per_minute
        place = getattr(state, "place", None)  # with several workers, counted across them
        found = state.livekit_tokens = (
            RateLimiter(limit) if place is None else MachineRateLimiter(place.rates, "livekit_tokens", limit)
        )
    return found


@router.post("/api/livekit/dispatch", status_code=202)
async def dispatch(body: DispatchRequest, runtime: AppDep, live: SessionsDep, _who: Editor) -> dict[str, str]:
    """Send the engine into ``room`` (it must exist); it answers the first caller there."""
    try:
        call = await join(runtime, body.room, start=live.start)
    except NotConfigured as exc:
        raise ApiError(503, str(exc)) from None
    except NoSuchRoom as exc:
        raise ApiError(404, str(exc)) from None
    except Exception as exc:  # the LiveKit server is unreachable or refused us
        log.warning("livekit.dispatch_failed", room=body.room, error=repr(exc))
        raise ApiError(
            502, f"could not join the room on the LiveKit server: {exc.__class__.__name__}"
        ) from None
    return {"room": call.room, "session_id": call.session_id}


@router.post("/api/livekit/token")
async def token(
    request: Request,
    runtime: AppDep,
    live: SessionsDep,
    tokens: Annotated[RateLimiter, Depends(token_limiter)],
) -> dict[str, str]:
    """A caller's room token; the engine is sent into the room to answer them."""
    settings = runtime.settings
    if not settings.livekit.enabled:
        raise ApiError(503, "LiveKit is not configured on this assistant")
    check_access_link(request, settings.webrtc.access_token)
    address = request.client.host if request.client else ""
    wait = tokens.retry_after(address)
    if wait > 0:
        raise ApiError(429, f"too many calls started from this address; try again in {int(wait) + 1} s")
    if len(live) >= settings.webrtc.max_sessions:
        raise ApiError(503, "the assistant is at capacity; try again in a moment", {"Retry-After": "10"})
    tokens.hit(address)
    room = new_room_name(runtime)
    identity = f"caller-{secrets.token_hex(6)}"
    try:
        await join(runtime, room, start=live.start, check_room=False)
    except Exception as exc:
        log.warning("livekit.join_failed", room=room, error=repr(exc))
        raise ApiError(502, "the assistant could not join its LiveKit room") from None
    return {
        "url": settings.livekit.url,
        "room": room,
        "identity": identity,
        "token": caller_token(settings.livekit, room, identity),
    }


def check_access_link(request: Request, access_token: str) -> None:
    """An assistant behind an access link (TAINA_WEBRTC_ACCESS_TOKEN) gives room tokens only to callers who
    have it, as it answers direct offers only from them: 401 otherwise."""
    if access_token and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {access_token}".encode()
    ):
        raise ApiError(401, "this assistant needs its access link: open the page with ?token=...")


@router.post("/api/livekit/webhook")
async def webhook(request: Request, runtime: AppDep) -> JSONResponse:
    """A LiveKit webhook, acknowledged once its signature is checked (logged; nothing else depends on it)."""
    settings = runtime.settings.livekit
    if not settings.enabled:
        raise ApiError(503, "LiveKit is not configured on this assistant")
    body = await request.body()
    if len(body) > _WEBHOOK_MAX_BYTES:
        raise ApiError(413, f"the webhook is over {_WEBHOOK_MAX_BYTES} bytes")
    signature = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not signature:
        raise ApiError(401, "the webhook is not signed")
    receiver = api.WebhookReceiver(api.TokenVerifier(settings.api_key, settings.api_secret))
    try:
        event = receiver.receive(body.decode("utf-8"), signature)
    except Exception:
        raise ApiError(401, "the webhook's signature is not valid") from None
    fields: dict[str, Any] = {"kind": event.event, "room": event.room.name}
    if event.HasField("participant"):
        fields["participant"] = event.participant.identity
    log.info("livekit.webhook", **fields)
    return JSONResponse({"received": event.event})
