"""Is the server up, and how is it doing: GET /healthz (alive: sessions and capacity), GET /readyz (ready for
new calls: database, object store and speech models usable, not draining) and GET /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from taina.http.deps import AppDep
from taina.http.signalling import SessionsDep

router = APIRouter()
READY_CHECK_S = 3.0  # each dependency's check must answer within this


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics: the turns' latency waterfall, event-loop lag, provider failovers, calls in progress.
    With several worker processes (PROMETHEUS_MULTIPROC_DIR, set by `taina serve`), every worker's, added up
    whichever worker answers."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
    registry = CollectorRegistry()
    registry.register(_EveryWorker(folder))
    # process_* of the supervisor (the workers' parent): the server's start time, for the alerts' uptime checks.
    ProcessCollector(pid=lambda: os.getppid(), registry=registry)
    PlatformCollector(registry=registry)
    body = await asyncio.to_thread(generate_latest, registry)  # reads every worker's files
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _EveryWorker(Collector):
    """Every worker's samples (their files), and the HELP and TYPE of this process's metrics that have no sample
    in any worker yet (a labelled counter before it first happens, as the single process exports it): the
    multiprocess files only hold values, so without this a metric the alerts use would look missing."""

    def __init__(self, folder: str) -> None:
        self._workers = MultiProcessCollector(None, folder)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        found = list(self._workers.collect())  # type: ignore[no-untyped-call]
        yield from found
        named = {family.name for family in found}
        for family in REGISTRY.collect():
            if family.name not in named and not family.samples:
                yield Metric(family.name, family.documentation, family.type, family.unit)


@router.get("/healthz")
async def health(sessions: SessionsDep, request: Request) -> dict[str, Any]:
    """Alive; ``sessions`` are this worker's calls, ``machine_sessions`` every worker's (with several)."""
    found: dict[str, Any] = {"status": "ok", "sessions": len(sessions), "capacity": sessions.capacity}
    place = getattr(request.app.state, "place", None)
    if place is not None:
        found.update(worker=place.index, workers=place.count, pid=os.getpid())
    if sessions.machine is not None:
        found["machine_sessions"] = sessions.machine.held()
    return found


@router.get("/readyz", responses={503: {"description": "not ready: draining, or a dependency is failing"}})
async def ready(runtime: AppDep, sessions: SessionsDep) -> JSONResponse:
    """Ready for new calls: 200 when the database, the object store and the speech models can be used and the
    server is not draining (SIGTERM); 503 otherwise, with each check's result."""
    checks: dict[str, str] = {"draining": "yes" if sessions.draining else "no"}
    checks["models"] = "ok" if runtime.speech is not None else "not loaded"
    backend = runtime.backend
    if backend is None:
        checks["database"] = checks["object_store"] = "not configured"
    else:
        parts = backend.knowledge_parts
        checks["database"] = await _check(parts.database.fetch("SELECT 1"))
        checks["object_store"] = await _check(parts.objects.check())
    ok = not sessions.draining and all(v == "ok" for k, v in checks.items() if k != "draining")
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


async def _check(work: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(work, READY_CHECK_S)
    except TimeoutError:
        return f"no answer in {READY_CHECK_S:g} s"
    except Exception as exc:  # the reason is shown to the operator; the probe only needs the status
        return f"failing: {exc.__class__.__name__}"
    return "ok"
