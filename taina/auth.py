"""Who may use the API: argon2 passwords (hashed and checked in a small thread pool, off the event loop),
short-lived JWT access tokens checked against the account on every request (its role, whether it is disabled,
and its token version, which a role change, disabling, logout and a new password bump), refresh tokens in
families (a reused one revokes its family) and logins slowed down per e-mail and address, kept in PostgreSQL. The routes (/api/auth/...) are in taina/http/auth.py, and every route's role check is
``require(role)`` in taina/http/deps.py.

Tokens are HS256 only: a token signed otherwise, or not at all ("alg": "none"), tampered with or expired,
is a 401. A role below the route's is a 403.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import model_validator

from adapters.accounts_db import ROLES, Accounts, Role, User
from engine.options import Section, knob
from taina.http.errors import ApiError


class AuthSettings(Section):
    prefix: ClassVar[str] = "TAINA_AUTH"
    secret: str = knob(
        "",
        "Key that signs access and refresh tokens (HS256), 32 characters or more; empty: one is made and kept "
        "in <data dir>/auth_secret.",
        secret=True,
    )
    access_ttl_s: int = knob(900, "How long an access token lasts, in s.", ge=60, le=86_400)
    refresh_ttl_s: int = knob(7 * 24 * 3600, "How long a refresh token lasts (unless logged out), in s.")
    login_attempts: int = knob(
        5,
        "Failed logins allowed per e-mail and address, and per address, before each further one must wait "
        "(429): TAINA_AUTH_LOGIN_DELAY_S, doubled for every failure after, up to TAINA_AUTH_LOGIN_MAX_DELAY_S. "
        "The right password from another address is never held back.",
        ge=1,
        le=100,
    )
    login_delay_s: float = knob(
        2.0, "Wait after the allowed failed logins, in s; doubled for each further failure.", ge=0.1, le=600
    )
    login_max_delay_s: float = knob(900.0, "Longest wait between failed logins, in s.", ge=1, le=86_400)
    login_window_s: float = knob(
        3600.0, "Failed logins are forgotten after this long without another, in s.", ge=60, le=7 * 86_400
    )

    @model_validator(mode="after")
    def _lengths(self) -> AuthSettings:
        if self.secret and len(self.secret) < 32:
            raise ValueError("TAINA_AUTH_SECRET must be 32 characters or more")
        if not self.access_ttl_s < self.refresh_ttl_s <= 90 * 86_400:
            raise ValueError("TAINA_AUTH_REFRESH_TTL_S must be above the access token's and at most 90 days")
        return self


ALGORITHM = "HS256"
_hasher = PasswordHasher()
MIN_PASSWORD = 10
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
# argon2 takes tens of ms of CPU and much memory per call: a few threads, so logins neither stall the event
# loop (the calls' audio) nor run without bound.
_hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_password(password: str, email: str = "") -> None:
    """Raise ValueError saying why ``password`` is too weak: too short, all one character, the e-mail (or its
    name part), or in the list of common passwords (taina/data/common_passwords.txt)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    folded = password.strip().lower()
    if len(set(folded)) <= 1:
        raise ValueError("the password must not be one character repeated")
    email = email.strip().lower()
    if email and folded in (email, email.partition("@")[0]):
        raise ValueError("the password must not be the e-mail address")
    if folded in _common():
        raise ValueError("the password is too common; choose another")


def hash_password(password: str, email: str = "") -> str:
    check_password(password, email)
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Checked when the e-mail has no account, so that an unknown e-mail takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hashed(password: str, email: str = "") -> str:
    """``hash_password`` in the hashing threads (ValueError if the password is too weak)."""
    check_password(password, email)
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.hash, password)


async def verified(password_hash: str | None, password: str) -> bool:
    """``password_matches`` in the hashing threads; with no hash (no such account) a dummy one is checked, so
    the answer takes as long either way."""
    loop = asyncio.get_running_loop()
    matches = await loop.run_in_executor(_hashing, password_matches, password_hash or _DUMMY_HASH, password)
    return matches and password_hash is not None


def signing_key(settings: AuthSettings, data_dir: Path) -> str:
    """TAINA_AUTH_SECRET, or the key kept in <data dir>/auth_secret (made on first use, readable only by us)."""
    if settings.secret:
        return settings.secret
    path = data_dir / "auth_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    role: Role

    def may(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class Tokens:
    def __init__(self, key: str, settings: AuthSettings) -> None:
        self._key = key
        self._access = settings.access_ttl_s
        self._refresh = settings.refresh_ttl_s

    def access(self, user: User) -> str:
        return self._sign(
            {
                "sub": user.id,
                "email": user.email,
                "role": user.role,
                "typ": "access",
                "ver": user.token_version,
            },
            self._access,
        )

    def refresh(self, user: User) -> tuple[str, str, datetime]:
        """(token, its id, when it expires)."""
        jti = uuid.uuid4().hex
        expires = datetime.now(UTC) + timedelta(seconds=self._refresh)
        return self._sign({"sub": user.id, "typ": "refresh", "jti": jti}, self._refresh), jti, expires

    def read(self, token: str, kind: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub", "typ"]}
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "the token has expired; log in again or refresh it") from None
        except jwt.PyJWTError:
            raise ApiError(401, "the token is not valid") from None
        if claims.get("typ") != kind:
            raise ApiError(401, f"this is not an {kind} token")
        return claims

    @property
    def access_ttl_s(self) -> int:
        return self._access

    def _sign(self, claims: dict[str, Any], ttl_s: int) -> str:
        now = int(time.time())
        return jwt.encode({**claims, "iat": now, "exp": now + ttl_s}, self._key, algorithm=ALGORITHM)


class RateLimiter:
    """At most ``limit`` events per key in a sliding ``window_s``."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit, self._window, self._clock = limit, window_s, clock
        self._events: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 if it may now)."""
        events = self._prune(key)
        if len(events) < self._limit:
            return 0.0
        return max(0.0, events[0] + self._window - self._clock())

    def hit(self, key: str) -> None:
        self._prune(key).append(self._clock())

    def _prune(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque())
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            self._events.pop(key, None)
            events = self._events.setdefault(key, deque())
        return events


def login_keys(email: str, address: str) -> list[str]:
    """Failed logins are counted per e-mail and address, and per address (never per e-mail alone, so guesses
    from elsewhere do not lock the account's owner out)."""
    return [f"pair:{email} {address}", f"address:{address}"]


def bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "log in first: send 'Authorization: Bearer <access token>'")
    return token.strip()


class Auth:
    """The accounts, the token signer and the login limiter (the routes are in taina/http/auth.py)."""

    def __init__(self, accounts: Accounts, tokens: Tokens, settings: AuthSettings) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.settings = settings

    async def check(self, authorization: str, role: Role) -> Principal:
        """The caller, if their access token is good, still current for their account (not disabled, same
        token version) and their role at least ``role`` (else a 401 or 403)."""
        claims = self.tokens.read(bearer(authorization), "access")
        if claims.get("role") not in ROLES or not isinstance(claims.get("ver"), int):
            raise ApiError(401, "the token is not valid")
        standing = await self.accounts.standing(str(claims["sub"]))
        if standing is None or standing.disabled or standing.token_version != claims["ver"]:
            raise ApiError(
                401, "the token is no longer valid (logged out, or the account changed); log in again"
            )
        principal = Principal(claims["sub"], str(claims.get("email", "")), standing.role)
        if not principal.may(role):
            raise ApiError(403, f"this needs the {role} role; your account is {principal.role}")
        return principal

    async def login_wait(self, email: str, address: str) -> float:
        """Seconds before a login for ``email`` from ``address`` may be tried (0: now)."""
        s = self.settings
        return await self.accounts.login_waits(
            login_keys(email, address),
            s.login_attempts,
            s.login_delay_s,
            s.login_max_delay_s,
            s.login_window_s,
        )

    async def login_failed(self, email: str, address: str) -> None:
        await self.accounts.login_failed(login_keys(email, address), self.settings.login_window_s)

    async def login_succeeded(self, email: str, address: str) -> None:
        await self.accounts.login_succeeded(login_keys(email, address)[0])

    async def pair(self, user: User, family: str | None = None) -> dict[str, Any]:
        """A new access token and refresh token for ``user`` (the refresh one kept, so it can be revoked; in
        ``family`` when it replaces one, else starting a family of its own)."""
        refresh, jti, expires = self.tokens.refresh(user)
        await self.accounts.keep_refresh(jti, user.id, expires, family)
        return {
            "access_token": self.tokens.access(user),
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.tokens.access_ttl_s,
        }
