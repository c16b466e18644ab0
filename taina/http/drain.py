"""Graceful shutdown for a cluster: on SIGTERM the server drains instead of stopping at once.

1. New calls are refused (POST /api/rtc/offer answers 503 with Retry-After) and GET /readyz answers 503, so the
   load balancer sends callers to other servers; everything else (the dashboard, /healthz, /metrics) still works.
2. The calls in progress go on until they end, TAINA_HTTP_DRAIN_S at most.
3. Then the server stops as before: the calls left are hung up (each one's turns journalled and its recording
   stored), the journal is flushed, the app closed (the embedded database stopped), and the process exits 0.

A second SIGTERM, or SIGINT (Ctrl-C), during the drain stops at once (step 3 straight away).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

import structlog
import uvicorn

from engine.metrics import DRAINING
from taina.http.signalling import SessionRegistry

log = structlog.get_logger("taina.server")


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining on the first SIGTERM (see above)."""

    def __init__(self, config: uvicorn.Config, registry: SessionRegistry | None, drain_s: float) -> None:
        super().__init__(config)
        self.registry = registry
        self.drain_s = drain_s
        self.drain_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's SIGTERM and SIGINT handling, without its raising them again once it has stopped: that would
        end the process before the app is closed (the embedded database left running)."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first_term = sig == signal.SIGTERM and self.drain_task is None and not self.should_exit
        if first_term and self.registry is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._start_drain)
            return
        super().handle_exit(sig, frame)

    def _start_drain(self) -> None:
        if self.drain_task is None:
            self.drain_task = asyncio.create_task(self.drain(), name="drain")

    async def drain(self) -> None:
        registry = self.registry
        assert registry is not None
        registry.draining = True
        DRAINING.set(1)
        log.info("server.draining", calls=len(registry), limit_s=self.drain_s)
        try:
            if await registry.wait_empty(self.drain_s):
                log.info("server.drained")
            else:
                log.warning("server.drain_limit_reached", calls_hung_up=len(registry), limit_s=self.drain_s)
        finally:
            self.should_exit = True
