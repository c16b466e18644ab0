"""Watches the event loop for stalls: one late wake-up means every session's audio was late too."""

from __future__ import annotations

import asyncio
import time

import structlog

from engine.metrics import LOOP_LAG, LOOP_STALLS

log = structlog.get_logger("taina.loop")


async def watch_loop(interval_s: float = 0.1, stall_s: float = 0.05) -> None:
    """Forever: sleep ``interval_s``, and record how late the wake-up was (gauge, and a warning past
    ``stall_s``)."""
    while True:
        asked = time.monotonic()
        await asyncio.sleep(interval_s)
        lag = time.monotonic() - asked - interval_s
        LOOP_LAG.set(max(0.0, lag))
        if lag > stall_s:
            LOOP_STALLS.inc()
            log.warning("loop.stalled", lag_ms=round(lag * 1000, 1))
