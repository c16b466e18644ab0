"""Sign-in through the clinic's identity provider (OpenID Connect; the flow is taina/oidc.py).

GET  /api/auth/oidc           -> {"enabled": bool}: whether the dashboard shows the provider's button
GET  /api/auth/oidc/login     -> 303 to the provider (state, nonce, PKCE), with a short-lived state cookie
GET  /api/auth/oidc/callback  -> 303 to /admin#oidc=<one-time code>; a 4xx saying why otherwise
POST /api/auth/oidc/exchange  {"code"} -> the same tokens as a password login (the code works once, 60 s)
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from adapters.oidc_accounts import AccountConflict, AccountDisabled, ExternalAccounts
from taina.http.deps import AuthDep, SettingsDep, part
from taina.http.errors import ApiError
from taina.oidc import FLOW_TTL_S, OidcSettings, OidcSignIn

router = APIRouter(prefix="/api/auth/oidc", tags=["auth"])
STATE_COOKIE = "taina_oidc_state"


async def sign_in(request: Request) -> OidcSignIn:
    found: OidcSignIn = part(request, "oidc")
    return found


async def external_accounts(request: Request) -> ExternalAccounts:
    found: ExternalAccounts = part(request, "oidc_accounts")
    return found


SignInDep = Annotated[OidcSignIn, Depends(sign_in)]
ExternalDep = Annotated[ExternalAccounts, Depends(external_accounts)]


class Exchange(BaseModel):
    code: str = Field(min_length=10, max_length=200)


def _enabled(settings: SettingsDep) -> OidcSettings:
    if not settings.oidc.enabled:
        raise ApiError(404, "sign-in through the clinic's identity provider is not set up")
    return settings.oidc


@router.get("")
async def status(settings: SettingsDep) -> dict[str, Any]:
    return {"enabled": settings.oidc.enabled}


@router.get("/login", response_class=RedirectResponse, status_code=303)
async def login(request: Request, settings: SettingsDep, flows: SignInDep) -> RedirectResponse:
    oidc = _enabled(settings)
    redirect_uri = oidc.redirect_url or str(request.url_for("oidc_callback"))
    url, state = await flows.start(oidc, redirect_uri)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(FLOW_TTL_S),
        path="/api/auth/oidc",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/callback", name="oidc_callback", response_class=RedirectResponse, status_code=303)
async def callback(
    request: Request,
    settings: SettingsDep,
    flows: SignInDep,
    accounts: ExternalDep,
    auth: AuthDep,
    state: str = "",
    code: str = "",
    error: str = "",
    taina_oidc_state: Annotated[str, Cookie()] = "",
) -> RedirectResponse:
    oidc = _enabled(settings)
    address = request.client.host if request.client else ""
    if (
        not state
        or not taina_oidc_state
        or not hmac.compare_digest(state.encode(), taina_oidc_state.encode())
    ):
        raise ApiError(400, "this sign-in was not started from this browser; start again")
    try:
        if error:
            await flows.forget(state)
            raise ApiError(400, f"the identity provider did not sign you in: {error[:100]}")
        if not code:
            raise ApiError(400, "the identity provider sent no code")
        identity = await flows.finish(oidc, state, code)
        user, made = await accounts.sign_in(identity.subject, identity.email, identity.role)
    except (AccountConflict, AccountDisabled) as exc:
        await auth.accounts.audit("login_oidc_failed", None, address=address, detail={"reason": str(exc)})
        raise ApiError(409 if isinstance(exc, AccountConflict) else 403, str(exc)) from None
    except ApiError as exc:
        await auth.accounts.audit("login_oidc_failed", None, address=address, detail={"reason": exc.message})
        raise
    await auth.accounts.audit(
        "login_oidc", user.id, detail={"role": user.role, "new_account": made}, address=address
    )
    handoff = await flows.hand_off(await auth.pair(user))
    response = RedirectResponse(f"/admin#oidc={handoff}", status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/api/auth/oidc")
    return response


@router.post("/exchange")
async def exchange(body: Exchange, flows: SignInDep) -> dict[str, Any]:
    return await flows.take(body.code)
