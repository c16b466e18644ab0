"""Sign-in through the clinic's identity provider: OpenID Connect, authorization code flow with PKCE.

1. ``start``: a new state, nonce and PKCE verifier, kept server-side in PostgreSQL for ``FLOW_TTL_S``
   (adapters/oidc_sign_ins.py: every `taina serve` worker sees it, so the callback may reach any of them); the browser is sent to the provider's authorization endpoint with the state, the nonce and
   the S256 challenge. The state is also set in a short-lived HttpOnly cookie, so a callback is only taken
   from the browser that started the sign-in.
2. ``finish``: the state is taken (once: a replayed or unknown state is refused), the code exchanged for
   tokens at the provider's token endpoint with the verifier (authlib), and the ID token checked (joserfc):
   signed by one of the provider's keys, issued by the configured issuer, for our client id, not expired, and
   carrying our nonce. The role is the highest one that the groups claim maps to; none is a 403.
3. The caller gets the same access and refresh tokens a password login gives, through a one-time code in
   the dashboard's URL fragment that the page exchanges (tokens never appear in a URL).

The routes are in taina/http/oidc.py; the account rows in adapters/oidc_accounts.py. Only the provider's
metadata and keys are cached in the process (each worker fetches its own).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet
from pydantic import field_validator, model_validator

from adapters.accounts_db import ROLES, Role
from adapters.oidc_sign_ins import Flow, PendingSignIns
from adapters.postgres import Database
from engine.options import Section, knob
from taina.http.errors import ApiError

log = structlog.get_logger("taina.oidc")

FLOW_TTL_S = 600.0  # from the login redirect to the callback
CODE_TTL_S = 60.0  # from the callback to the page exchanging its one-time code
MAX_PENDING = 1000  # sign-ins started and not finished (all workers); past it, new ones wait (429)
METADATA_TTL_S = 3600.0
LEEWAY_S = 30  # clock difference allowed with the provider
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class OidcSettings(Section):
    prefix: ClassVar[str] = "TAINA_OIDC"
    issuer: str = knob(
        "",
        "The clinic's OpenID Connect provider (its issuer URL, e.g. https://login.clinica.do/realms/taina); "
        "empty: sign-in through a provider is off and only local accounts log in.",
    )
    client_id: str = knob("", "This dashboard's client id at the provider.")
    client_secret: str = knob(
        "", "This dashboard's client secret at the provider (empty: a public client).", secret=True
    )
    scopes: tuple[str, ...] = knob(
        ("openid", "email", "profile"), "Comma-separated scopes asked for; must include openid."
    )
    groups_claim: str = knob("groups", "The ID token claim listing the user's groups.")
    roles: tuple[str, ...] = knob(
        ("taina-admins=admin", "taina-editors=editor", "taina-viewers=viewer"),
        "Comma-separated group=role pairs (roles: admin, editor, viewer); a user gets the highest role "
        "their groups map to, and is refused without one.",
    )
    redirect_url: str = knob(
        "",
        "The callback URL registered at the provider; empty: /api/auth/oidc/callback on the address the "
        "browser used.",
    )
    timeout_s: float = knob(10.0, "How long a request to the provider may take, in s.", ge=1, le=60)

    @field_validator("roles")
    @classmethod
    def _roles(cls, pairs: tuple[str, ...]) -> tuple[str, ...]:
        for pair in pairs:
            group, _, role = pair.partition("=")
            if not group.strip() or role.strip() not in ROLES:
                raise ValueError(
                    f"TAINA_OIDC_ROLES: {pair!r} must be group=role, role one of admin, editor, viewer"
                )
        return pairs

    @model_validator(mode="after")
    def _issuer(self) -> OidcSettings:
        if not self.issuer:
            return self
        parts = urlsplit(self.issuer)
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("TAINA_OIDC_ISSUER must be an https:// URL")
        if not self.client_id:
            raise ValueError("TAINA_OIDC_CLIENT_ID is needed when TAINA_OIDC_ISSUER is set")
        if "openid" not in self.scopes:
            raise ValueError("TAINA_OIDC_SCOPES must include openid")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    def role_for(self, groups: Any) -> Role | None:
        """The highest role ``groups`` (a list, or one string) maps to; None if none does."""
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list):
            return None
        mapping = {g.strip(): r.strip() for g, _, r in (p.partition("=") for p in self.roles)}
        found = [mapping[g] for g in groups if isinstance(g, str) and g in mapping]
        best = max(found, key=ROLES.index, default=None)
        return best  # type: ignore[return-value]


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    subject: str  # "<issuer> <sub>": unique across providers
    email: str
    role: Role


class OidcSignIn:
    """The sign-ins in progress and the one-time codes handed to the page (in the database, shared by every
    worker), and the provider's metadata and keys (cached here). ``clock``: Unix time."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending = PendingSignIns(database, clock)
        self._metadata: dict[str, tuple[dict[str, Any], float]] = {}
        self._keys: dict[str, KeySet] = {}

    async def start(self, settings: OidcSettings, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL, the state)."""
        await self._pending.prune()
        metadata = await self._discover(settings)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        async with self._client(settings, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        flow = Flow(nonce, verifier, redirect_uri, settings.issuer)
        if not await self._pending.add_flow(state, flow, FLOW_TTL_S, MAX_PENDING):
            raise ApiError(429, "too many sign-ins in progress; try again in a few minutes")
        return str(url), state

    async def finish(self, settings: OidcSettings, state: str, code: str) -> Identity:
        """The identity behind a callback's code; ApiError (4xx) if anything about it is wrong."""
        flow = await self._pending.take_flow(state)  # single use, whatever happens next
        if flow is None:
            raise ApiError(400, "this sign-in is unknown, expired or already used; start again")
        if flow.issuer != settings.issuer:
            raise ApiError(400, "the identity provider changed during this sign-in; start again")
        metadata = await self._discover(settings)
        try:
            async with self._client(settings, flow.redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=flow.verifier
                )
        except OAuthError as exc:
            raise ApiError(400, f"the identity provider refused the code: {exc.error}") from None
        except httpx.HTTPError as exc:
            raise ApiError(
                502, f"the identity provider could not be reached: {exc.__class__.__name__}"
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ApiError(401, "the identity provider sent no ID token")
        claims = await self._verify(settings, metadata, id_token, flow.nonce)
        role = settings.role_for(claims.get(settings.groups_claim))
        if role is None:
            raise ApiError(403, "your account at the clinic's provider is in no group that has a TAINA role")
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ApiError(400, "the identity provider sent no e-mail address (ask for the email scope)")
        if claims.get("email_verified") is False:
            raise ApiError(403, "the identity provider says this e-mail address is not verified")
        return Identity(f"{settings.issuer} {claims['sub']}", email.strip().lower(), role)

    async def forget(self, state: str) -> None:
        """A sign-in the provider refused: its state cannot be used any more."""
        await self._pending.take_flow(state)

    async def hand_off(self, tokens: dict[str, Any]) -> str:
        """A one-time code the page exchanges (through any worker) for ``tokens`` within ``CODE_TTL_S``."""
        code = secrets.token_urlsafe(32)
        await self._pending.add_handoff(code, tokens, CODE_TTL_S)
        return code

    async def take(self, code: str) -> dict[str, Any]:
        tokens = await self._pending.take_handoff(code)
        if tokens is None:
            raise ApiError(400, "this sign-in code is unknown, expired or already used; sign in again")
        return tokens

    async def _verify(
        self, settings: OidcSettings, metadata: dict[str, Any], id_token: str, nonce: str
    ) -> dict[str, Any]:
        keys = await self._key_set(settings, metadata, refresh=False)
        try:
            try:
                decoded = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
            except JoseError:  # perhaps the provider rotated its keys: fetch them once more
                keys = await self._key_set(settings, metadata, refresh=True)
                decoded = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_S,
                iss={"essential": True, "value": settings.issuer},
                aud={"essential": True, "value": settings.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except ExpiredTokenError:
            raise ApiError(401, "the identity provider's ID token has expired; sign in again") from None
        except MissingClaimError as exc:
            raise ApiError(401, f"the ID token is missing a claim: {exc.description}") from None
        except JoseError as exc:
            raise ApiError(401, f"the ID token was refused: {exc.description or exc.error}") from None
        claims = dict(decoded.claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != settings.client_id:
            raise ApiError(401, "the ID token was refused: it names several audiences and another party")
        return claims

    async def _discover(self, settings: OidcSettings) -> dict[str, Any]:
        cached = self._metadata.get(settings.issuer)
        if cached and cached[1] > self._clock():
            return cached[0]
        url = settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        metadata = await self._get_json(settings, url)
        if metadata.get("issuer") != settings.issuer:
            raise ApiError(
                502, f"the identity provider names itself {metadata.get('issuer')!r}, not {settings.issuer!r}"
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(name), str):
                raise ApiError(502, f"the identity provider's metadata has no {name}")
        self._metadata[settings.issuer] = (metadata, self._clock() + METADATA_TTL_S)
        return metadata

    async def _key_set(self, settings: OidcSettings, metadata: dict[str, Any], refresh: bool) -> KeySet:
        if refresh or settings.issuer not in self._keys:
            document = await self._get_json(settings, metadata["jwks_uri"])
            try:
                self._keys[settings.issuer] = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, KeyError, TypeError, ValueError) as exc:
                raise ApiError(502, f"the identity provider's keys cannot be read: {exc}") from None
        return self._keys[settings.issuer]

    async def _get_json(self, settings: OidcSettings, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
                response = await client.get(url)
                response.raise_for_status()
                found = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc.provider_unreachable", url=url, error=str(exc))
            raise ApiError(502, f"the identity provider could not be reached ({url})") from None
        if not isinstance(found, dict):
            raise ApiError(502, f"the identity provider answered {url} with no JSON object")
        return found

    def _client(self, settings: OidcSettings, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret or None,
            scope=" ".join(settings.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if settings.client_secret else "none",
            timeout=settings.timeout_s,
        )
