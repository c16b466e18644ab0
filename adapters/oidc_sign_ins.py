"""OpenID Connect sign-ins in progress and their one-time hand-off codes, in PostgreSQL.

They are kept in the database, not in a process, because `taina serve` runs several worker processes on one
port: the provider sends the browser back to whichever worker the kernel picks, and the dashboard page may
exchange its code with yet another. Each row is taken once (DELETE ... RETURNING: two workers racing for the
same state or code cannot both get it), refused after its expiry, and pruned when sign-ins start.

Neither the state nor the code is stored: the rows are keyed by their SHA-256 digests, and the hand-off's
tokens are encrypted (AES-GCM) with a key derived from the code, so a copy of the database (a backup) yields no
token. A flow's PKCE verifier and nonce are stored as they are: with them, finishing a sign-in still needs the
authorization code from the browser's redirect and the client secret, neither of which is in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.postgres import Database

log = structlog.get_logger("taina.oidc")

_NONCE_BYTES = 12


@dataclass(frozen=True)
class Flow:
    """What the callback needs of the sign-in it finishes."""

    nonce: str
    verifier: str
    redirect_uri: str
    issuer: str


def _digest(purpose: bytes, secret: str) -> bytes:
    return hashlib.sha256(purpose + b"\0" + secret.encode()).digest()


class PendingSignIns:
    """The flows (state -> nonce, PKCE verifier, redirect, issuer) and hand-offs (code -> tokens) of every
    server process on this database. ``clock`` is Unix time (the expiries are compared across processes)."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = database
        self._clock = clock

    def _at(self, offset_s: float = 0.0) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock() + offset_s, dt.UTC)

    async def add_flow(self, state: str, flow: Flow, ttl_s: float, max_pending: int) -> bool:
        """Keep ``flow`` under ``state`` for ``ttl_s``; False (nothing kept) when ``max_pending`` unexpired
        sign-ins already wait. The count and the insert are one statement."""
        status: str = await self._db.pool.execute(
            "INSERT INTO oidc_flows (state_digest, nonce, verifier, redirect_uri, issuer, expires_at)"
            " SELECT $1, $2, $3, $4, $5, $6"
            " WHERE (SELECT count(*) FROM oidc_flows WHERE expires_at >= $7) < $8",
            _digest(b"state", state).hex(),
            flow.nonce,
            flow.verifier,
            flow.redirect_uri,
            flow.issuer,
            self._at(ttl_s),
            self._at(),
            max_pending,
        )
        return status == "INSERT 0 1"

    async def take_flow(self, state: str) -> Flow | None:
        """The flow under ``state``, removed (whatever the caller does next); None if unknown, already taken
        or expired."""
        row = await self._db.pool.fetchrow(
            "DELETE FROM oidc_flows WHERE state_digest = $1"
            " RETURNING nonce, verifier, redirect_uri, issuer, expires_at",
            _digest(b"state", state).hex(),
        )
        if row is None or row["expires_at"] < self._at():
            return None
        return Flow(row["nonce"], row["verifier"], row["redirect_uri"], row["issuer"])

    async def add_handoff(self, code: str, tokens: dict[str, Any], ttl_s: float) -> None:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + AESGCM(_digest(b"handoff-key", code)).encrypt(
            nonce, json.dumps(tokens).encode(), None
        )
        await self._db.pool.execute(
            "INSERT INTO oidc_handoffs (code_digest, tokens, expires_at) VALUES ($1, $2, $3)",
            _digest(b"handoff", code).hex(),
            sealed,
            self._at(ttl_s),
        )

    async def take_handoff(self, code: str) -> dict[str, Any] | None:
        """The tokens under ``code``, removed; None if unknown, already taken or expired."""
        row = await self._db.pool.fetchrow(
            "DELETE FROM oidc_handoffs WHERE code_digest = $1 RETURNING tokens, expires_at",
            _digest(b"handoff", code).hex(),
        )
        if row is None or row["expires_at"] < self._at():
            return None
        sealed: bytes = row["tokens"]
        try:
            plain = AESGCM(_digest(b"handoff-key", code)).decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None
            )
        except InvalidTag:  # the digest matched but the key did not: the row was altered
            log.error("oidc.handoff_tampered")
            return None
        tokens: dict[str, Any] = json.loads(plain)
        return tokens

    async def prune(self) -> int:
        """Remove the expired flows and hand-offs: how many."""
        now = self._at()
        flows: str = await self._db.pool.execute("DELETE FROM oidc_flows WHERE expires_at < $1", now)
        handoffs: str = await self._db.pool.execute("DELETE FROM oidc_handoffs WHERE expires_at < $1", now)
        return int(flows.split()[-1]) + int(handoffs.split()[-1])
