"""The engine's Prometheus metrics (prometheus-client), one registry for the process. With several worker
processes (prometheus-client's multiprocess mode), each gauge says how its workers' values add up: calls in
progress are summed over the live workers, the loop lag is the worst live worker's."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from engine.waterfall import STAGES

PROVIDER_FAILOVERS = Counter(
    "taina_provider_failovers",
    "Turns (speech-to-text) or sentences (text-to-speech) a local adapter finished after a cloud provider failed.",
    ["port", "provider"],
)

TURN_STAGE = Histogram(
    "taina_turn_stage_seconds",
    "When each stage of a turn happened, in seconds after the caller stopped speaking (the latency waterfall).",
    ["stage"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0),
)

TURNS = Counter("taina_turns", "Turns answered, by how they ended.", ["outcome"])

RECORDINGS_FAILED = Counter(
    "taina_recordings_failed",
    "Calls whose recording was lost, by where: spool (it could not be written, the disk full) or store.",
    ["stage"],
)

SESSIONS_ACTIVE = Gauge(
    "taina_sessions_active",
    "Calls in progress (or being answered) on this server: the autoscaler's signal.",
    multiprocess_mode="livesum",
)

SESSIONS_ENDED = Counter(
    "taina_sessions_ended", "Calls ended, by outcome (failed: the session stopped on an error).", ["outcome"]
)

DRAINING = Gauge(
    "taina_draining",
    "1 while the server drains on SIGTERM (new calls refused), else 0.",
    multiprocess_mode="livemax",
)

LOOP_LAG = Gauge(
    "taina_event_loop_lag_seconds",
    "How late the event loop woke up at its last check (the latest worker's, with several).",
    multiprocess_mode="livemax",
)

LOOP_STALLS = Counter(
    "taina_event_loop_stalls", "Times the event loop woke up later than the stall threshold (50 ms)."
)

for _outcome in ("completed", "interrupted", "failed"):  # every series exists from the start, at 0
    TURNS.labels(_outcome)
for _stage in STAGES:
    TURN_STAGE.labels(_stage)


def observe_turn(timings_ms: Mapping[str, float], interrupted: bool) -> None:
    for stage, ms in timings_ms.items():
        TURN_STAGE.labels(stage).observe(max(0.0, ms / 1000))
    TURNS.labels("interrupted" if interrupted else "completed").inc()


def observe_turn_failed() -> None:
    """A call ended by an error: the turn it was in is lost."""
    TURNS.labels("failed").inc()
