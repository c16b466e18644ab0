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

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role, "disabled": self.disabled}


def _user(row: asyncpg.Record) -> User:
    return User(row["id"], row["email"], row["role"], row["password_hash"], row["disabled"])


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

    async def update_user(self, user_id: str, role: Role | None, disabled: bool | None) -> User | None:
        row = await self._db.pool.fetchrow(
            "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE($3, disabled) WHERE id = $1 RETURNING *",
            user_id,
            role,
            disabled,
        )
        if row is not None and disabled:
            await self._db.pool.execute(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                user_id,
            )
        return _user(row) if row else None

    async def keep_refresh(self, jti: str, user_id: str, expires_at: datetime) -> None:
        await self._db.pool.execute(
            "INSERT INTO refresh_tokens (id, user_id, expires_at) VALUES ($1, $2, $3)",
            jti,
            user_id,
            expires_at,
        )

    async def use_refresh(self, jti: str) -> bool:
        """Revoke a live refresh token; False if it was unknown, revoked or expired (each works once)."""
        row = await self._db.pool.fetchrow(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id",
            jti,
        )
        return row is not None

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
