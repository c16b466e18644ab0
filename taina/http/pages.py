"""The pages: the voice page (/), the dashboard (/admin), their files under /static, and which ways the voice page
may connect (``GET /api/voice/modes``).

The voice page connects in one of two modes: ``direct`` (WebRTC to the engine itself, always there: the embedded
default) and ``livekit`` (through a LiveKit room, when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are set
and LiveKit's browser SDK was built by ``make install`` into ``web/vendor``). With both, LiveKit is the default and
``/?mode=direct`` or ``/?mode=livekit`` chooses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from taina.http.deps import SettingsDep

WEB = Path(__file__).resolve().parent.parent / "web"
LIVEKIT_CLIENT = WEB / "vendor" / "livekit-client.umd.js"  # copied there by `make install` (npm ci)
router = APIRouter()
static = StaticFiles(directory=WEB)  # mounted at /static by create_app (a router cannot carry a mount)

Mode = Literal["direct", "livekit"]


class VoiceModes(BaseModel):
    modes: list[Mode]  # the ones this engine serves now, the default first
    default: Mode
    livekit_client: str | None  # where the page loads LiveKit's browser SDK from, in LiveKit mode
    livekit_missing: str | None  # why LiveKit mode is not offered, when it is not


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/admin", include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(WEB / "admin.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/voice/modes")
async def voice_modes(settings: SettingsDep) -> VoiceModes:
    """How the voice page may connect: ``direct`` always; ``livekit`` when LiveKit is configured and its browser
    SDK is installed (then it is the default)."""
    missing = None
    if not settings.livekit.enabled:
        missing = "LiveKit is not configured (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)"
    elif not LIVEKIT_CLIENT.is_file():
        missing = "LiveKit's browser SDK is not installed: run `make install` (npm ci)"
    if missing is not None:
        return VoiceModes(modes=["direct"], default="direct", livekit_client=None, livekit_missing=missing)
    return VoiceModes(
        modes=["livekit", "direct"],
        default="livekit",
        livekit_client=f"/static/vendor/{LIVEKIT_CLIENT.name}",
        livekit_missing=None,
    )
