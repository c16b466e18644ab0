"""The FastAPI application: the runtime's parts put in ``app.state`` once, each area's router included, and
the lifespan (stored settings applied, loop watch, recordings recovered and kept to their retention, every
call hung up on shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import FastAPI

from adapters.conversation_journal import Conversations
from adapters.livekit_worker import AgentWorker
from adapters.oidc_accounts import ExternalAccounts
from engine.loop_watch import watch_loop
from taina.app import App
from taina.auth import Auth, RateLimiter, Tokens, signing_key
from taina.backup_schedule import daily_backups
from taina.http import (
    admin,
    appointments,
    auth,
    documents,
    health,
    oidc,
    overview,
    pages,
    security,
    settings,
    signalling,
    usage,
)
from taina.http import livekit as livekit_routes
from taina.http.errors import answer_errors_as_json
from taina.http.machine_calls import MachineRateLimiter
from taina.monitoring import watch_dependencies
from taina.oidc import OidcSignIn
from taina.settings import SettingsError
from taina.settings_api import StoredSettings, effective
from taina.workers import WorkerPlace

log = structlog.get_logger("taina.server")


def create_app(runtime: App, place: WorkerPlace | None = None) -> FastAPI:
    """The app serving ``runtime``; the accounts, appointments, documents and settings routes need its backend.
    Only what is fixed for the process is taken from the settings here; routes read the runtime's when asked.
    ``place``: this process is one of `taina serve`'s workers (the call limits count every worker's calls;
    the daily jobs run in the first worker only)."""
    at_start = runtime.settings
    app = FastAPI(title="TAINA Voice", version="0.1.0", lifespan=lifespan)
    answer_errors_as_json(app)
    security.install(app, lambda: runtime.settings)  # body limits and security headers
    state = app.state
    state.runtime = runtime
    state.place = place
    state.sessions = signalling.SessionRegistry(
        at_start.webrtc.max_sessions,
        at_start.webrtc.max_sessions_per_address,
        place.calls if place is not None else None,
    )
    state.offers = (
        RateLimiter(at_start.webrtc.offers_per_minute)
        if place is None
        else MachineRateLimiter(place.rates, "offers", at_start.webrtc.offers_per_minute)
    )
    app.include_router(pages.router)
    app.mount("/static", pages.static, name="static")
    app.include_router(health.router)
    app.include_router(signalling.router)
    if at_start.livekit.enabled:  # LiveKit rooms besides the direct path (its routes exist only then)
        app.include_router(livekit_routes.router)
    backend = runtime.backend
    if backend is not None:
        database = backend.database
        key = signing_key(at_start.auth, at_start.data_dir)
        state.auth = Auth(backend.accounts, Tokens(key, at_start.auth), at_start.auth)
        state.appointments = backend.appointments
        state.conversations = Conversations(database)
        state.recordings = runtime.recordings
        state.library = backend.library
        state.stored_settings = StoredSettings(database)
        state.oidc = OidcSignIn(database)
        state.oidc_accounts = ExternalAccounts(database)
        for area in (auth, oidc, appointments, admin, documents, settings):
            app.include_router(area.router)
        app.include_router(usage.router)
        app.include_router(overview.router)
    return app


def server_config(app: Any, host: str, port: int, **options: Any) -> Any:
    """How `taina serve` runs ``app`` with uvicorn: its own X-Forwarded-For handling off (it would believe any
    caller on 127.0.0.1); the app believes the header only from TAINA_HTTP_TRUSTED_PROXIES."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False, **options)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: App = app.state.runtime
    place: WorkerPlace | None = app.state.place
    first = place is None or place.index == 0  # the daily jobs run once per machine
    stored: StoredSettings | None = getattr(app.state, "stored_settings", None)
    background = [asyncio.create_task(watch_loop(), name="loop-watch")]
    if stored is not None:
        await apply_stored(stored, runtime)
        # A change made through another worker (or another engine on this database) is applied here too.
        background.append(
            asyncio.create_task(stored.watch(lambda: reapply(stored, runtime)), name="settings")
        )
    background.append(asyncio.create_task(watch_dependencies(runtime, app.state.sessions), name="monitoring"))
    backups = daily_backups(runtime) if first else None
    if backups is not None:
        background.append(asyncio.create_task(backups, name="daily-backup"))
    if runtime.recordings is not None:
        # Calls cut short by a kill: their recordings, now (a spool still written by a live worker is skipped).
        await runtime.recordings.recover()
        if first:
            background.append(asyncio.create_task(retention(runtime)))
    sessions: signalling.SessionRegistry = app.state.sessions
    worker = livekit_worker(runtime, sessions)  # each worker process is a LiveKit agent worker of its own
    yield
    if worker is not None:  # after the drain (if any): the server is told no more, then unregistered
        await worker.drain(timeout_s=0)
    for task in background:
        task.cancel()
    await sessions.stop_all()


def livekit_worker(runtime: App, sessions: signalling.SessionRegistry) -> AgentWorker | None:
    """With LiveKit configured (and TAINA_LIVEKIT_WORKER on), the engine registers as a LiveKit agent worker: its
    capacity is the registry's (every call of this process against TAINA_WEBRTC_MAX_SESSIONS), its jobs start
    in the registry, and it says it is full as soon as the server drains (SIGTERM)."""
    settings = runtime.settings.livekit
    if not settings.enabled or not settings.worker:
        return None
    from taina.livekit_agent import agent_worker

    worker = agent_worker(
        runtime, sessions.start, lambda: len(sessions), lambda: sessions.capacity, lambda: sessions.draining
    )
    worker.start()
    return worker


async def retention(runtime: App, every_s: float = 3600.0) -> None:
    """Hourly: delete calls past the retention period (recording and rows)."""
    while runtime.recordings is not None:
        try:
            await runtime.recordings.enforce_retention(runtime.settings.recordings.retention_days)
        except Exception:
            log.error("recording.retention_failed", exc_info=True)
        await asyncio.sleep(every_s)


async def reapply(stored: StoredSettings, runtime: App) -> None:
    """The stored settings changed elsewhere: applied here (an error logged, the settings in force kept)."""
    try:
        await apply_stored(stored, runtime, always=True)
    except Exception:
        log.error("settings.reapply_failed", exc_info=True)
        return
    log.info("settings.changed_elsewhere")


async def apply_stored(stored: StoredSettings, runtime: App, always: bool = False) -> None:
    """Settings changed from the dashboard earlier, over the environment's (ignored, with an error, if bad).
    ``always``: applied even when none are stored (the last was just removed)."""
    overrides = await stored.load()
    if not overrides and not always:
        return
    try:
        from_dashboard = effective(overrides)
    except SettingsError as exc:
        log.error("settings.stored_ignored", reason=str(exc))
        return
    runtime.apply(dataclasses.replace(from_dashboard, data_dir=runtime.settings.data_dir))
