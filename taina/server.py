"""The HTTP face of the engine: the voice page, WebRTC signalling, health and the appointments API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.conversation_journal import Conversations
from adapters.recordings import Recordings
from adapters.webrtc import SignallingError, WebRtcTransport, check_offer
from engine.loop_watch import watch_loop
from engine.session import Session
from engine.settings import SettingsError
from taina.admin_api import admin_router
from taina.appointments_api import appointments_router
from taina.auth import Auth, RateLimiter, Tokens, signing_key
from taina.documents_api import documents_router
from taina.http_errors import ApiError, answer_errors_as_json
from taina.runtime import Runtime, new_session_id
from taina.settings_api import StoredSettings, effective, settings_router

WEB = Path(__file__).parent / "web"
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


async def _retention(recordings: Recordings, days: int, every_s: float = 3600.0) -> None:
    """Hourly: delete calls past the retention period (recording and rows)."""
    while True:
        try:
            await recordings.enforce_retention(days)
        except Exception:
            log.error("recording.retention_failed", exc_info=True)
        await asyncio.sleep(every_s)


async def _apply_stored(stored: StoredSettings, runtime: Runtime) -> None:
    """Settings changed from the dashboard earlier, over the environment's (ignored, with an error, if bad)."""
    overrides = await stored.load()
    if not overrides:
        return
    try:
        settings = effective(overrides)
    except SettingsError as exc:
        log.error("settings.stored_ignored", reason=str(exc))
        return
    runtime.apply(dataclasses.replace(settings, data_dir=runtime.settings.data_dir))


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    sessions = SessionRegistry(settings.webrtc.max_sessions)
    offers = RateLimiter(settings.webrtc.offers_per_minute)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if stored_settings is not None:
            await _apply_stored(stored_settings, runtime)
        background = [asyncio.create_task(watch_loop(), name="loop-watch")]
        if runtime.recordings is not None:
            await runtime.recordings.recover()  # calls cut short by a kill: their recordings, now
            background.append(
                asyncio.create_task(_retention(runtime.recordings, settings.recordings.retention_days))
            )
        yield
        for task in background:
            task.cancel()
        await sessions.stop_all()

    app = FastAPI(title="TAINA Voice", version="0.1.0", lifespan=lifespan)
    app.state.sessions = sessions

    answer_errors_as_json(app)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/admin", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(WEB / "admin.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics: the turns' latency waterfall, event-loop lag, provider failovers."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "sessions": len(sessions), "capacity": sessions.capacity}

    @app.post("/api/rtc/offer")
    async def offer(request: Request) -> dict[str, str]:
        """Answer a browser's WebRTC offer ({"sdp", "type": "offer"}) and start a voice session."""
        settings = runtime.settings  # now: the dashboard may have applied new settings since start
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
        if len(sessions) >= sessions.capacity:
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
        sessions.start(session)
        return {"type": "answer", "sdp": answer, "session_id": session.id}

    backend = runtime.assistant.backend
    stored_settings: StoredSettings | None = None
    if backend is not None:
        auth = Auth(
            backend.accounts,
            Tokens(signing_key(settings.auth, settings.data_dir), settings.auth),
            settings.auth,
        )
        app.state.auth = auth
        app.include_router(auth.router())
        app.include_router(appointments_router(backend.appointments, settings.appointments.api_token, auth))
        database = backend.knowledge_parts.database
        app.include_router(admin_router(auth, backend.accounts, Conversations(database), runtime.recordings))
        app.include_router(documents_router(auth, backend.knowledge, settings.ingest.max_bytes))
        stored_settings = StoredSettings(database)
        app.include_router(settings_router(auth, stored_settings, runtime))
    return app
