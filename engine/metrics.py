"""The engine's Prometheus metrics (prometheus-client), one registry for the process."""

from __future__ import annotations

from prometheus_client import Counter

PROVIDER_FAILOVERS = Counter(
    "taina_provider_failovers",
    "Turns (speech-to-text) or sentences (text-to-speech) a local adapter finished after a cloud provider failed.",
    ["port", "provider"],
)
