"""The dashboard's overview (viewer): GET /api/overview, computed in taina/overview.py."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from taina.http.deps import AppDep, Viewer
from taina.http.errors import ApiError
from taina.monitoring import check_dependencies
from taina.overview import backup_schedule, overview, providers

router = APIRouter(tags=["overview"])
CHECK_S = 2.0  # each dependency's check, so a dead object store cannot hold the page for long


class Overview(BaseModel):
    """See taina/overview.py for each part's fields."""

    now: str
    today: str
    week_start: str
    timezone: str
    calls: dict[str, Any]
    latency: dict[str, Any]
    cost: dict[str, Any]
    backup: dict[str, Any] | None
    backup_schedule: dict[str, Any]
    providers: list[dict[str, Any]]
    dependencies: dict[str, bool]
    in_progress: int
    capacity: int


@router.get("/api/overview", response_model=Overview)
async def landing(request: Request, _caller: Viewer, runtime: AppDep) -> dict[str, Any]:
    """Calls today and this week by outcome (answered, booked, handed_off, failed, silent) and per day for 14
    days; first-audio latency (p50/p95 per day, this week, and the last 200 turns); cost today, this month and
    per day at the price table (0 on the embedded default, with a note saying why); the providers in use
    with their failovers since start; the database and object store answering; the daily backup's last
    result (audit log) and the newest backup in the destination, with its size."""
    if runtime.backend is None:
        raise ApiError(404, "no database")
    found = await overview(runtime.backend.knowledge_parts.database, runtime.settings.prices)
    sessions = getattr(request.app.state, "sessions", None)
    return {
        **found,
        "backup_schedule": await asyncio.to_thread(backup_schedule, runtime.settings),
        "providers": providers(runtime),
        "dependencies": await check_dependencies(runtime, CHECK_S),
        "in_progress": len(sessions) if sessions is not None else 0,
        "capacity": sessions.capacity if sessions is not None else runtime.settings.webrtc.max_sessions,
    }
