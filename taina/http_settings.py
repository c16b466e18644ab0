"""Where the HTTP server listens and how much it reads before it knows who is asking."""

from __future__ import annotations

from typing import ClassVar

from engine.options import Section, knob


class HttpSettings(Section):
    prefix: ClassVar[str] = "TAINA_HTTP"
    host: str = knob("127.0.0.1", "Address the HTTP server listens on.")
    port: int = knob(8080, "Port the HTTP server listens on.", ge=0, le=65_535)
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
