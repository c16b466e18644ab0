"""What the routes are given. ``create_app`` puts the application's parts in ``app.state`` once; each function
here is a FastAPI dependency reading one of them when a request comes, and ``require(role)`` is the caller,
checked against a role.

Settings are never kept by the HTTP layer: ``settings`` reads the runtime's when the request comes, because the
dashboard may have applied new ones since start (taina/http/settings.py). Tests and other hosts give a smaller
app only the parts its routers use (``app.state.auth = ...``) and may override ``settings``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from adapters.accounts_db import Accounts, Role
from adapters.conversation_journal import Conversations
from adapters.recordings import Recordings
from engine.ports.appointments import Appointments
from taina.app import App
from taina.auth import Auth, Principal
from taina.knowledge.ingest import Library
from taina.settings import Settings
from taina.settings_api import StoredSettings


def part(request: Request, name: str) -> Any:
    """``app.state.<name>``, or an error naming the part the application was built without."""
    try:
        return getattr(request.app.state, name)
    except AttributeError:
        raise RuntimeError(f"the application has no {name} (create_app sets app.state.{name})") from None


async def runtime(request: Request) -> App:
    found: App = part(request, "runtime")
    return found


async def settings(request: Request) -> Settings:
    """The settings in force now (not a copy taken at start)."""
    return (await runtime(request)).settings


async def auth(request: Request) -> Auth:
    found: Auth = part(request, "auth")
    return found


async def auth_if_any(request: Request) -> Auth | None:
    """The accounts' checks, if this application has accounts (the appointments API may be used without)."""
    found: Auth | None = getattr(request.app.state, "auth", None)
    return found


async def accounts(request: Request) -> Accounts:
    return (await auth(request)).accounts


async def appointments(request: Request) -> Appointments:
    found: Appointments = part(request, "appointments")
    return found


async def conversations(request: Request) -> Conversations:
    found: Conversations = part(request, "conversations")
    return found


async def recordings(request: Request) -> Recordings | None:
    """The calls' recordings, or None when recording is off."""
    found: Recordings | None = getattr(request.app.state, "recordings", None)
    return found


async def library(request: Request) -> Library:
    found: Library = part(request, "library")
    return found


async def stored_settings(request: Request) -> StoredSettings:
    found: StoredSettings = part(request, "stored_settings")
    return found


AppDep = Annotated[App, Depends(runtime)]
SettingsDep = Annotated[Settings, Depends(settings)]
AuthDep = Annotated[Auth, Depends(auth)]
AccountsDep = Annotated[Accounts, Depends(accounts)]
AppointmentsDep = Annotated[Appointments, Depends(appointments)]
ConversationsDep = Annotated[Conversations, Depends(conversations)]
RecordingsDep = Annotated[Recordings | None, Depends(recordings)]
LibraryDep = Annotated[Library, Depends(library)]
StoredSettingsDep = Annotated[StoredSettings, Depends(stored_settings)]


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if their access token is good and their role at least ``role``."""

    async def caller(checks: AuthDep, authorization: Annotated[str, Header()] = "") -> Principal:
        return await checks.check(authorization, role)

    return caller


Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
