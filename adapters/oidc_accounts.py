"""Accounts of people who sign in through the clinic's OpenID Connect provider (taina/oidc.py): a users row
linked to the provider's subject, with no password, its e-mail and role updated at each sign-in."""

from __future__ import annotations

import uuid

import asyncpg

from adapters.accounts_db import Role, User
from adapters.postgres import Database


class AccountConflict(ValueError):
    """A local account (with a password) already has this e-mail: it is not taken over."""


class AccountDisabled(ValueError):
    pass


class ExternalAccounts:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def sign_in(self, subject: str, email: str, role: Role) -> tuple[User, bool]:
        """The account linked to ``subject``, made (the first time) or updated with ``email`` and ``role``;
        (the account, whether it was made now)."""
        try:
            async with self._db.pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(
                    "SELECT * FROM users WHERE oidc_subject = $1 FOR UPDATE", subject
                )
                if row is not None and row["disabled"]:
                    raise AccountDisabled(f"the account {row['email']} is disabled")
                if row is not None:
                    row = await connection.fetchrow(
                        "UPDATE users SET email = $2, role = $3 WHERE id = $1 RETURNING *",
                        row["id"],
                        email.lower(),
                        role,
                    )
                    made = False
                else:
                    row = await connection.fetchrow(
                        "INSERT INTO users (id, email, password_hash, role, oidc_subject)"
                        " VALUES ($1, $2, '', $3, $4) RETURNING *",
                        uuid.uuid4().hex[:16],
                        email.lower(),
                        role,
                        subject,
                    )
                    made = True
        except asyncpg.UniqueViolationError:
            raise AccountConflict(
                f"a local account already uses {email.lower()}; an administrator must remove or rename it"
            ) from None
        assert row is not None
        return User(row["id"], row["email"], row["role"], row["password_hash"], row["disabled"]), made
