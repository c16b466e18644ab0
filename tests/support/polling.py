"""Waiting for something a server does in the background: poll with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(ready: Callable[[], bool], deadline_s: float = 5.0, what: str = "the condition") -> None:
    ends = time.monotonic() + deadline_s
    while not ready():
        assert time.monotonic() < ends, f"timed out after {deadline_s:g} s waiting for {what}"
        await asyncio.sleep(0.005)
