"""Usage and cost: GET /api/conversations/{id}/usage (one call, turn by turn) and GET /api/usage?period=day|month
(summed per day or month of the clinic's calendar, America/Santo_Domingo), and GET /api/usage/prices (the price
table they are priced at, TAINA_PRICE_*). Viewers may read them; admins change the prices in /api/settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from taina.clinic.clock import CLINIC_TIMEZONE
from taina.http.deps import AppDep, Viewer
from taina.http.errors import ApiError
from taina.usage import call_usage, usage_by_period

router = APIRouter(tags=["usage"])


def _database(runtime: AppDep) -> Any:
    if runtime.backend is None:
        raise ApiError(404, "no database")
    return runtime.backend.knowledge_parts.database


@router.get("/api/conversations/{conversation_id}/usage")
async def one_call(
    conversation_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="an id")],
    _caller: Viewer,
    runtime: AppDep,
) -> dict[str, Any]:
    """The call's usage per provider (tokens, audio seconds, characters) and its cost at TAINA_PRICE_*."""
    found = await call_usage(_database(runtime), conversation_id, runtime.settings.prices)
    if found is None:
        raise ApiError(404, f"no conversation {conversation_id}")
    return found


@router.get("/api/usage")
async def per_period(
    _caller: Viewer,
    runtime: AppDep,
    period: Literal["day", "month"] = "day",
    periods: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[dict[str, Any]]:
    """Usage and cost summed per day or month (the clinic's days, America/Santo_Domingo), newest first."""
    return await usage_by_period(
        _database(runtime), period, periods, runtime.settings.prices, CLINIC_TIMEZONE.key
    )


@router.get("/api/usage/prices")
async def prices(_caller: Viewer, runtime: AppDep) -> dict[str, Any]:
    """The price table in use (TAINA_PRICE_*): the currency and each provider's list price."""
    return runtime.settings.prices.model_dump()
