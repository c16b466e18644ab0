"""The pages: the voice page (/), the dashboard (/admin), and their files under /static."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"
router = APIRouter(include_in_schema=False)
static = StaticFiles(directory=WEB)  # mounted at /static by create_app (a router cannot carry a mount)


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/admin")
async def dashboard() -> FileResponse:
    return FileResponse(WEB / "admin.html", headers={"Cache-Control": "no-cache"})
