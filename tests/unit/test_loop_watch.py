"""The event-loop watcher reports a stall as a gauge and a warning."""

from __future__ import annotations

import asyncio
import contextlib
import time

from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from engine.loop_watch import watch_loop


async def test_a_blocked_loop_is_measured_and_warned_about() -> None:
    with capture_logs() as logs:
        watcher = asyncio.create_task(watch_loop(interval_s=0.02, stall_s=0.05))
        await asyncio.sleep(0.05)  # the watcher is asleep now
        time.sleep(0.15)  # noqa: ASYNC251 (on purpose: something blocks the loop, every session would be late)
        for _ in range(3):  # the watcher's overdue wake-up runs now
            await asyncio.sleep(0)
        lag = REGISTRY.get_sample_value("taina_event_loop_lag_seconds")
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    stalls = [entry for entry in logs if entry["event"] == "loop.stalled"]
    assert stalls and stalls[0]["log_level"] == "warning" and stalls[0]["lag_ms"] >= 50
    assert lag is not None and lag >= 0.05
