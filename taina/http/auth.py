"""Logging in and out (the accounts and tokens themselves are taina/auth.py).

POST /api/auth/login    {"email", "password"} -> {"access_token", "refresh_token", "token_type", "expires_in"}
POST /api/auth/refresh  {"refresh_token"}     -> a new pair; the old refresh token stops working (used again, it
                                                 revokes every refresh token descended from the same login)
POST /api/auth/logout   {"refresh_token"}     -> 204; that login's refresh tokens and the account's access tokens
                                                 stop working
GET  /api/auth/me                              -> the caller's account
POST /api/auth/password {"current_password", "new_password"} -> a new pair; every other token stops working

A failed login is counted per e-mail and address and per address (in PostgreSQL, so every server process
counts the same); past TAINA_AUTH_LOGIN_ATTEMPTS each further try must wait longer (429). An unknown e-mail
takes as long to refuse as a wrong password.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from taina.auth import hashed, verified
from taina.http.deps import AuthDep, SettingsDep, Viewer
from taina.http.errors import ApiError
from taina.http.security import address as caller_address

log = structlog.get_logger("taina.auth")

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Login(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=4096)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/login")
async def login(body: Login, request: Request, auth: AuthDep, settings: SettingsDep) -> dict[str, Any]:
    address = caller_address(request, settings.http)
    email = body.email.strip().lower()
    wait = await auth.login_wait(email, address)
    if wait > 0:
        raise ApiError(429, f"too many failed logins; try again in {int(wait) + 1} s")
    user = await auth.accounts.by_email(email)
    matches = await verified(
        user.password_hash if user else None, body.password
    )  # as long without an account
    if user is None or user.disabled or not matches:
        await auth.login_failed(email, address)
        await auth.accounts.audit("login_failed", None, email, address=address)
        raise ApiError(401, "wrong e-mail or password")
    await auth.login_succeeded(email, address)
    await auth.accounts.audit("login", user.id, address=address)
    return await auth.pair(user)


@router.post("/refresh")
async def refresh(body: RefreshRequest, auth: AuthDep) -> dict[str, Any]:
    claims = auth.tokens.read(body.refresh_token, "refresh")
    user = await auth.accounts.by_id(claims["sub"])
    family = await auth.accounts.use_refresh(str(claims.get("jti")))
    if family is None:
        log.info("auth.refresh_refused", user_id=claims["sub"])
    if user is None or user.disabled or family is None:
        raise ApiError(401, "the refresh token was already used, revoked or expired; log in again")
    return await auth.pair(user, family)


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, caller: Viewer, auth: AuthDep) -> None:
    claims = auth.tokens.read(body.refresh_token, "refresh")
    if claims["sub"] != caller.user_id:
        raise ApiError(403, "that refresh token belongs to another account")
    await auth.accounts.revoke_family(str(claims.get("jti")))
    await auth.accounts.end_access(caller.user_id)
    await auth.accounts.audit("logout", caller.user_id)


@router.post("/password")
async def change_password(
    body: PasswordChange, request: Request, caller: Viewer, auth: AuthDep, settings: SettingsDep
) -> dict[str, Any]:
    """The caller's own password, given the current one: every token of the account stops working, and a new
    pair is returned for this session."""
    address = caller_address(request, settings.http)
    user = await auth.accounts.by_id(caller.user_id)
    if user is None:
        raise ApiError(401, "the account no longer exists")
    wait = await auth.login_wait(user.email, address)
    if wait > 0:
        raise ApiError(429, f"too many failed logins; try again in {int(wait) + 1} s")
    if not await verified(user.password_hash, body.current_password):
        await auth.login_failed(user.email, address)
        await auth.accounts.audit("password_change_failed", user.id, address=address)
        raise ApiError(403, "the current password is wrong")
    try:
        new_hash = await hashed(body.new_password, user.email)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    changed = await auth.accounts.set_password(user.id, new_hash)
    if changed is None:
        raise ApiError(401, "the account no longer exists")
    await auth.accounts.audit("password_changed", user.id, address=address)
    return await auth.pair(changed)


@router.get("/me")
async def me(caller: Viewer, auth: AuthDep) -> dict[str, Any]:
    user = await auth.accounts.by_id(caller.user_id)
    if user is None:
        raise ApiError(401, "the account no longer exists")
    return user.as_json()
