"""The dashboard's API: people's accounts and the audit log (admin), and the conversations (viewer).

GET   /api/users                      admin    every account
POST  /api/users                      admin    {"email", "password", "role"} -> 201; 409 if the e-mail has one
PATCH /api/users/{id}                 admin    {"role"?, "disabled"?}; either change ends the account's access
                                               tokens at once, and disabling revokes its refresh tokens
PUT   /api/users/{id}/password        admin    {"password"}: a new password (a reset); every token of it ends
GET   /api/audit?limit=               admin    who did what, newest first
GET   /api/conversations?limit&offset viewer   calls, newest first: start, duration, turns, outcome
GET   /api/conversations/{id}         viewer   one call with its turns and their latency waterfall, and its trace
                                               (trace_id; trace_url with TAINA_TRACE_VIEWER_URL set); audited
GET   /api/conversations/{id}/recording[?download=1]  viewer  the call's recording (Opus in Ogg); audited

A refused account change answers in Spanish with "field" naming the form field (email, password, role or
disabled), as the dashboard shows it beside that field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from adapters.accounts_db import UserExists
from adapters.recordings import CONTENT_TYPE
from taina.auth import MIN_PASSWORD, hashed
from taina.http.deps import AccountsDep, Admin, ConversationsDep, RecordingsDep, SettingsDep, Viewer
from taina.http.errors import ApiError

Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="an id")]


class NewUser(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Literal["admin", "editor", "viewer"]


class PasswordReset(BaseModel):
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)


class UserChange(BaseModel):
    role: Literal["admin", "editor", "viewer"] | None = None
    disabled: bool | None = None


router = APIRouter(tags=["admin"])


@router.get("/api/users")
async def users(_caller: Admin, accounts: AccountsDep) -> dict[str, Any]:
    return {"users": [u.as_json() for u in await accounts.users()]}


@router.post("/api/users", status_code=201)
async def create(body: NewUser, caller: Admin, accounts: AccountsDep) -> dict[str, Any]:
    try:
        password_hash = await hashed(body.password, body.email)
    except ValueError as exc:
        raise ApiError(400, f"La contraseña no sirve: {_spanish_password(exc)}", field="password") from None
    try:
        user = await accounts.create_user(body.email, password_hash, body.role)
    except UserExists:
        raise ApiError(409, f"Ya hay una cuenta con el correo {body.email}.", field="email") from None
    await accounts.audit("user_created", caller.user_id, user.email, {"role": user.role})
    return user.as_json()


@router.patch("/api/users/{user_id}")
async def change(user_id: Id, body: UserChange, caller: Admin, accounts: AccountsDep) -> dict[str, Any]:
    if user_id == caller.user_id and (body.disabled or (body.role and body.role != "admin")):
        raise ApiError(
            400,
            "No puedes desactivar tu propia cuenta ni quitarte el rol de administrador.",
            field="disabled" if body.disabled else "role",
        )
    user = await accounts.update_user(user_id, body.role, body.disabled)
    if user is None:
        raise ApiError(404, f"no account {user_id}")
    await accounts.audit("user_changed", caller.user_id, user.email, body.model_dump(exclude_none=True))
    return user.as_json()


@router.put("/api/users/{user_id}/password")
async def reset_password(
    user_id: Id, body: PasswordReset, caller: Admin, accounts: AccountsDep
) -> dict[str, Any]:
    """An administrator sets a new password for an account (a forgotten one): its sessions all end."""
    user = await accounts.by_id(user_id)
    if user is None:
        raise ApiError(404, f"no account {user_id}")
    try:
        password_hash = await hashed(body.password, user.email)
    except ValueError as exc:
        raise ApiError(400, f"La contraseña no sirve: {_spanish_password(exc)}", field="password") from None
    await accounts.set_password(user_id, password_hash)
    await accounts.audit("password_reset", caller.user_id, user.email)
    return user.as_json()


@router.get("/api/audit")
async def audit(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, *, _caller: Admin, accounts: AccountsDep
) -> dict[str, Any]:
    return {"entries": await accounts.audit_entries(limit)}


@router.get("/api/conversations")
async def recent(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    *,
    _caller: Viewer,
    conversations: ConversationsDep,
) -> dict[str, Any]:
    return {"conversations": await conversations.recent(limit, offset)}


@router.get("/api/conversations/{conversation_id}")
async def one(
    conversation_id: Id,
    caller: Viewer,
    accounts: AccountsDep,
    conversations: ConversationsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    found = await conversations.one(conversation_id)
    if found is None:
        raise ApiError(404, f"no conversation {conversation_id}")
    await accounts.audit("transcript_read", caller.user_id, conversation_id)  # what callers said is personal
    # Where its trace is seen (a call in progress has no trace id of its own yet: its turns' is the same).
    trace_id = found["trace_id"] or next((t["trace_id"] for t in found["turns"] if t["trace_id"]), "")
    found["trace_id"] = trace_id
    found["trace_url"] = settings.trace.url(trace_id)
    return found


@router.get("/api/conversations/{conversation_id}/recording", response_class=Response)
async def recording(
    conversation_id: Id,
    download: Annotated[bool, Query()] = False,
    *,
    caller: Viewer,
    accounts: AccountsDep,
    conversations: ConversationsDep,
    recordings: RecordingsDep,
) -> Response:
    found = await conversations.one(conversation_id)
    if found is None:
        raise ApiError(404, f"no conversation {conversation_id}")
    if recordings is None or found["recording_seconds"] is None:
        raise ApiError(404, f"conversation {conversation_id} has no recording")
    try:
        audio = await recordings.audio(conversation_id)
    except KeyError:
        raise ApiError(404, f"the recording of {conversation_id} is missing from the store") from None
    await accounts.audit("downloaded" if download else "listened", caller.user_id, conversation_id)
    headers = {"Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{conversation_id}.ogg"'
    return Response(audio, media_type=CONTENT_TYPE, headers=headers)


def _spanish_password(exc: ValueError) -> str:
    """taina.auth's reason a password is refused (taina/auth.py, checked_password), for the dashboard."""
    reason = str(exc)
    if "too common" in reason:
        return "es demasiado común; elige otra."
    if "e-mail" in reason:
        return "no puede ser el correo."
    if "repeated" in reason:
        return "no puede ser un mismo carácter repetido."
    return f"debe tener al menos {MIN_PASSWORD} caracteres."
