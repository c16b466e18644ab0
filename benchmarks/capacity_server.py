"""The engine's WebRTC side for the capacity benchmark, in a process of its own: the real transport (aiortc,
Opus, the paced playout) and sessions answered by the scripted providers of ``benchmarks.profile``.

    python -m benchmarks.capacity_server PORT

POST /offer answers an SDP offer; GET /stats tells the process's CPU time, resident memory, how many sessions
run, how many reply frames left later than a frame after they were due (a missed deadline), and, for the soak
benchmark, how many asyncio tasks the event loop holds (a debug figure only this benchmark server exposes).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from typing import Any

from fastapi import FastAPI, Request

from adapters import library_patches
from adapters.webrtc import WebRtcTransport
from benchmarks.profile import LatencyProfile, ProfiledModel, ProfiledSpeechToText, ProfiledTextToSpeech
from engine import playout
from engine.dialogue import Dialogue
from engine.session import Session
from taina.settings import Settings

_late = {"frames": 0, "late": 0}
_original_next_frame = playout.PacedPlayout.next_frame


async def _counted_next_frame(self: playout.PacedPlayout) -> tuple[Any, float, bool]:
    """The playout's own next_frame, counting frames handed out a whole frame after they were due."""
    result = await _original_next_frame(self)
    _late["frames"] += 1
    if time.monotonic() - result[1] > self._frame_s:
        _late["late"] += 1
    return result


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def create_app() -> FastAPI:
    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": "/nonexistent",
            "TAINA_WEBRTC_ICE_ADDRESSES": "127.0.0.1",
            "TAINA_WEBRTC_MAX_SESSIONS": "500",
        }
    )
    library_patches.apply(settings.webrtc.ice_addresses)  # as the app does
    profile = LatencyProfile(seconds_per_clause=1.0)
    tasks: set[asyncio.Task[None]] = set()
    app = FastAPI()

    @app.post("/offer")
    async def offer(request: Request) -> dict[str, str]:
        body = await request.json()
        transport, answer = await WebRtcTransport.answer(body["sdp"], settings.audio, settings.webrtc)
        session = Session(
            f"cap-{len(tasks)}",
            transport,
            ProfiledSpeechToText(profile),
            Dialogue(ProfiledModel(profile)),
            ProfiledTextToSpeech(profile),
            settings.session(),
        )
        task = asyncio.create_task(session.run())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return {"sdp": answer, "type": "answer"}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_bytes": rss_bytes(),
            "sessions": len(tasks),
            "frames_out": _late["frames"],
            "frames_late": _late["late"],
            "monotonic": time.monotonic(),
            "asyncio_tasks": len(asyncio.all_tasks()),
        }

    return app


def main() -> None:
    import logging

    import structlog
    import uvicorn

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    playout.PacedPlayout.next_frame = _counted_next_frame  # type: ignore[method-assign]
    port = int(sys.argv[1])
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
