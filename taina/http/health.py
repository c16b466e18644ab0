"""Is the server up, and how is it doing: GET /healthz (sessions and capacity) and GET /metrics (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from taina.http.signalling import SessionsDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics: the turns' latency waterfall, event-loop lag, provider failovers."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
async def health(sessions: SessionsDep) -> dict[str, Any]:
    return {"status": "ok", "sessions": len(sessions), "capacity": sessions.capacity}
