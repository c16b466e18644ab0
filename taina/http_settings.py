"""Where the HTTP server listens, how much it reads before it knows who is asking, and which proxies it
believes."""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from pydantic import field_validator

from engine.options import Section, knob


class HttpSettings(Section):
    prefix: ClassVar[str] = "TAINA_HTTP"
    host: str = knob("127.0.0.1", "Address the HTTP server listens on.")
    port: int = knob(8080, "Port the HTTP server listens on.", ge=0, le=65_535)
    workers: int = knob(
        0,
        "Worker processes of `taina serve`, each answering its own calls on the shared port: 0 starts one per "
        "core this process may use; 1 serves everything in one process.",
        ge=0,
        le=256,
    )
    max_signalling_bytes: int = knob(
        65_536, "Largest signalling (SDP offer) request body accepted, in bytes.", ge=1_024, le=1_048_576
    )
    drain_s: float = knob(
        120.0,
        "On SIGTERM: how long the calls in progress may go on before they are hung up, in s (new calls get 503 "
        "meanwhile). Keep it below the orchestrator's grace period (terminationGracePeriodSeconds).",
        ge=0,
        le=3_600,
    )
    trusted_proxies: tuple[str, ...] = knob(
        (),
        "Comma-separated networks (CIDR) of the reverse proxies in front of the server: only from these are "
        "X-Forwarded-For (the caller's address, for the login limiter and the audit) and X-Forwarded-Proto "
        "(https, for HSTS) believed; empty: never.",
    )
    max_body_bytes: int = knob(
        1_048_576, "Largest request body of the JSON API, in bytes.", ge=4_096, le=64 * 1_048_576
    )
    max_login_bytes: int = knob(
        8_192,
        "Largest request body of /api/auth/... (login, refresh, passwords), in bytes.",
        ge=1_024,
        le=65_536,
    )
    max_upload_bytes: int = knob(
        110_000_000,
        "Largest document upload request (all its files together), in bytes; each file is also held to "
        "TAINA_INGEST_MAX_BYTES as it arrives.",
        ge=100_000,
        le=20_000_000_000,
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"TAINA_HTTP_TRUSTED_PROXIES: {network!r} is not a network (CIDR)") from None
        return networks
