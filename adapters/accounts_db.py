"""Accounts in PostgreSQL: users with a role, refresh tokens that can be revoked, and the audit log."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from adapters.postgres import Database

Role = Literal["admin", "editor", "viewer"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")  # each can do what the ones before it can


class UserExists(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: str
    email: str
    role: Role
    password_hash: str
    disabled: bool = False
    token_version: int = 0  # carried by its access tokens; bumped to make them all stop working

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role, "disabled": self.disabled}


def _user(row: asyncpg.Record) -> User:
    return User(
        row["id"], row["email"], row["role"], row["password_hash"], row["disabled"], row["token_version"]
    )


@dataclass(frozen=True)
class Standing:
    """What an access token is checked against on every request."""

    role: Role
    disabled: bool
    token_version: int


class Accounts:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create_user(self, email: str, password_hash: str, role: Role) -> User:
        user_id = uuid.uuid4().hex[:16]
        try:
            await self._db.pool.execute(
                "INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)",
                user_id,
                email.lower(),
                password_hash,
                role,
            )
        except asyncpg.UniqueViolationError:
            raise UserExists(f"there is already an account for {email.lower()}") from None
        return User(user_id, email.lower(), role, password_hash)

    async def by_email(self, email: str) -> User | None:
        row = await self._db.pool.fetchrow("SELECT * FROM users WHERE email = $1", email.lower())
        return _user(row) if row else None

    async def by_id(self, user_id: str) -> User | None:
        row = await self._db.pool.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def users(self) -> list[User]:
        return [_user(r) for r in await self._db.fetch("SELECT * FROM users ORDER BY email")]

    async def standing(self, user_id: str) -> Standing | None:
        """The account's role, state and token version (a primary-key lookup), or None if it is gone."""
        row = await self._db.pool.fetchrow(
            "SELECT role, disabled, token_version FROM users WHERE id = $1", user_id
        )
        return Standing(row["role"], row["disabled"], row["token_version"]) if row else None

    async def update_user(self, user_id: str, role: Role | None, disabled: bool | None) -> User | None:
        """A new role or state; a change of either ends the account's access tokens (and disabling, its
        refresh tokens)."""
        row = await self._db.pool.fetchrow(
            "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE($3, disabled),"
            " token_version = token_version + CASE WHEN $2::text IS DISTINCT FROM NULL AND $2 <> role"
            " OR $3::boolean IS DISTINCT FROM NULL AND $3 <> disabled THEN 1 ELSE 0 END"
            " WHERE id = $1 RETURNING *",
            user_id,
            role,
            disabled,
        )
        if row is not None and disabled:
            await self.revoke_refresh_tokens(user_id)
        return _user(row) if row else None

    async def end_access(self, user_id: str) -> None:
        """Every access token of the account stops working (logout, a new password)."""
        await self._db.pool.execute(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1", user_id
        )

    async def set_password(self, user_id: str, password_hash: str) -> User | None:
        """A new password: the account's access and refresh tokens all stop working."""
        row = await self._db.pool.fetchrow(
            "UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1 RETURNING *",
            user_id,
            password_hash,
        )
        if row is not None:
            await self.revoke_refresh_tokens(user_id)
        return _user(row) if row else None

    async def revoke_refresh_tokens(self, user_id: str) -> None:
        await self._db.pool.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )

    async def keep_refresh(
        self, jti: str, user_id: str, expires_at: datetime, family: str | None = None
    ) -> None:
        """A refresh token issued; ``family`` is the login it descends from (a new login starts its own)."""
        await self._db.pool.execute(
            "INSERT INTO refresh_tokens (id, user_id, expires_at, family) VALUES ($1, $2, $3, $4)",
            jti,
            user_id,
            expires_at,
            family or jti,
        )

    async def use_refresh(self, jti: str) -> str | None:
        """Revoke a live refresh token and return its family; None if it was unknown, revoked or expired (each
        works once). A token used again means it was copied: its whole family is revoked, the newer ones too."""
        family: str | None = await self._db.pool.fetchval(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING family",
            jti,
        )
        if family is None:
            await self._db.pool.execute(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL"
                " AND family = (SELECT family FROM refresh_tokens WHERE id = $1 AND revoked_at IS NOT NULL)",
                jti,
            )
        return family

    async def revoke_family(self, jti: str) -> None:
        """The refresh token's whole family (a logout ends that login's chain)."""
        await self._db.pool.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL"
            " AND family = (SELECT family FROM refresh_tokens WHERE id = $1)",
            jti,
        )

    async def login_waits(
        self, keys: list[str], allowed: int, delay_s: float, max_delay_s: float, window_s: float
    ) -> float:
        """Seconds until a login under ``keys`` may be tried again: after ``allowed`` failures, each further
        failure doubles the wait from ``delay_s`` (up to ``max_delay_s``); failures older than ``window_s``
        are forgotten."""
        wait: float | None = await self._db.pool.fetchval(
            "SELECT max(extract(epoch FROM last_at - now())"
            " + least($4::float8, $3::float8 * power(2, failures - $2))) FROM login_failures"
            " WHERE key = ANY($1::text[]) AND failures >= $2 AND last_at > now() - make_interval(secs => $5)",
            keys,
            allowed,
            delay_s,
            max_delay_s,
            window_s,
        )
        return max(0.0, wait or 0.0)

    async def login_failed(self, keys: list[str], window_s: float) -> None:
        await self._db.pool.execute(
            "INSERT INTO login_failures AS f (key, failures) SELECT unnest($1::text[]), 1"
            " ON CONFLICT (key) DO UPDATE SET last_at = now(), failures = CASE"
            " WHEN f.last_at > now() - make_interval(secs => $2) THEN f.failures + 1 ELSE 1 END",
            keys,
            window_s,
        )
        await self._db.pool.execute(
            "DELETE FROM login_failures WHERE last_at < now() - make_interval(secs => $1)", window_s
        )

    async def login_succeeded(self, key: str) -> None:
        await self._db.pool.execute("DELETE FROM login_failures WHERE key = $1", key)

    async def audit(
        self,
        action: str,
        user_id: str | None = None,
        target: str = "",
        detail: dict[str, Any] | None = None,
        address: str = "",
    ) -> None:
        await self._db.pool.execute(
            "INSERT INTO audit_log (user_id, action, target, detail, address) VALUES ($1, $2, $3, $4::jsonb, $5)",
            user_id,
            action,
            target,
            json.dumps(detail or {}, ensure_ascii=False),
            address,
        )

    async def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._db.fetch(
            "SELECT a.at, a.action, a.target, a.detail, a.address, u.email FROM audit_log a"
            " LEFT JOIN users u ON u.id = a.user_id ORDER BY a.at DESC, a.id DESC LIMIT $1",
            limit,
        )
        return [
            {
                "at": r["at"].isoformat(),
                "action": r["action"],
                "target": r["target"],
                "detail": json.loads(r["detail"]),
                "address": r["address"],
                "user": r["email"],
            }
            for r in rows
        ]
