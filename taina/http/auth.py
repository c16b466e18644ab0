"""Logging in and out (the accounts and tokens themselves are taina/auth.py).

POST /api/auth/login    {"email", "password"} -> {"access_token", "refresh_token", "token_type", "expires_in"}
POST /api/auth/refresh  {"refresh_token"}     -> a new pair; the old refresh token stops working
POST /api/auth/logout   {"refresh_token"}     -> 204; that refresh token stops working
GET  /api/auth/me                              -> the caller's account
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from taina.auth import password_matches
from taina.http.deps import AuthDep, Viewer
from taina.http.errors import ApiError

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Login(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=4096)


@router.post("/login")
async def login(body: Login, request: Request, auth: AuthDep) -> dict[str, Any]:
    address = request.client.host if request.client else ""
    email = body.email.strip().lower()
    keys = (f"email:{email}", f"address:{address}")
    wait = max(auth.logins.retry_after(k) for k in keys)
    if wait > 0:
        raise ApiError(429, f"too many failed logins; try again in {int(wait) + 1} s")
    user = await auth.accounts.by_email(email)
    if user is None or user.disabled or not password_matches(user.password_hash, body.password):
        for key in keys:
            auth.logins.hit(key)
        await auth.accounts.audit("login_failed", None, email, address=address)
        raise ApiError(401, "wrong e-mail or password")
    await auth.accounts.audit("login", user.id, address=address)
    return await auth.pair(user)


@router.post("/refresh")
async def refresh(body: RefreshRequest, auth: AuthDep) -> dict[str, Any]:
    claims = auth.tokens.read(body.refresh_token, "refresh")
    user = await auth.accounts.by_id(claims["sub"])
    if user is None or user.disabled or not await auth.accounts.use_refresh(str(claims.get("jti"))):
        raise ApiError(401, "the refresh token was already used, revoked or expired; log in again")
    return await auth.pair(user)


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, caller: Viewer, auth: AuthDep) -> None:
    claims = auth.tokens.read(body.refresh_token, "refresh")
    if claims["sub"] != caller.user_id:
        raise ApiError(403, "that refresh token belongs to another account")
    await auth.accounts.use_refresh(str(claims.get("jti")))
    await auth.accounts.audit("logout", caller.user_id)


@router.get("/me")
async def me(caller: Viewer, auth: AuthDep) -> dict[str, Any]:
    user = await auth.accounts.by_id(caller.user_id)
    if user is None:
        raise ApiError(401, "the account no longer exists")
    return user.as_json()
