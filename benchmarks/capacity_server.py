"""The engine's WebRTC side for the capacity benchmark, in a process of its own (one per worker): the real
transport (aiortc, Opus, the paced playout) and sessions answered by the scripted providers of
``benchmarks.profile``, with the conversation journal (PostgreSQL) and the call recordings (spooled, then Opus in
Ogg in a file object store) on, as in production.

    python -m benchmarks.capacity_server PORT DATABASE_URL DATA_DIR

POST /offer answers an SDP offer; GET /stats tells the process's CPU time, resident memory, how many sessions
run, the callers' frames the sessions took in (``frames_in``), the reply frames handed out, the frames missed
(frames due by the wall clock since each call's first frame, less the frames handed out: a stall of any length
counts, however the playout restarts its own clock), the frames handed out more than a frame late, the turns
completed, and, for the soak benchmark, how many asyncio tasks the event loop holds (a debug figure only this
benchmark server exposes).
"""

from __future__ import annotations

import asyncio
import math
import resource
import sys
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from adapters import library_patches
from adapters.conversation_journal import PostgresJournal
from adapters.file_store import FileStore
from adapters.postgres import Database
from adapters.recordings import Recordings
from adapters.webrtc import WebRtcTransport
from benchmarks.profile import LatencyProfile, ProfiledModel, ProfiledSpeechToText, ProfiledTextToSpeech
from engine import playout
from engine.audio import AudioFrame
from engine.dialogue import Dialogue
from engine.session import Session, TurnRecord
from taina.settings import Settings

_counts = {"frames": 0, "late": 0, "frames_in": 0, "turns": 0, "interrupted": 0, "failed": 0}
_streams: weakref.WeakKeyDictionary[playout.PacedPlayout, list[float]] = weakref.WeakKeyDictionary()
_original_next_frame = playout.PacedPlayout.next_frame
_original_inbound = WebRtcTransport.inbound


async def _counted_inbound(self: WebRtcTransport) -> AsyncIterator[AudioFrame]:
    """The transport's own inbound audio, counting the frames the session took: what the engine handled of
    what the callers sent."""
    async for frame in _original_inbound(self):
        _counts["frames_in"] += 1
        yield frame


async def _counted_next_frame(self: playout.PacedPlayout) -> tuple[Any, float, bool]:
    """The playout's own next_frame, counting frames handed out, those a whole frame after they were due, and
    per stream the most frames it has fallen behind the wall clock since its first frame (frame k is due
    k frames after the first, and may leave up to a frame after that), whatever the playout's own clock did
    (its restarts after a stall of over 100 ms hide the frames that stall cost)."""
    result = await _original_next_frame(self)
    now = time.monotonic()
    _counts["frames"] += 1
    if now - result[1] > self._frame_s:
        _counts["late"] += 1
    stream = _streams.get(self)
    if stream is None:
        _streams[self] = [now, 1.0, 0.0]  # first frame's time, frames handed out, most frames behind
    else:
        behind = math.floor((now - stream[0]) / self._frame_s) - stream[1]
        if now < stream[0] + stream[1] * self._frame_s:
            # Early (a reply's first frame leaves at once, the playout's clock restarting from it): the grid
            # follows it, so frames sent early never make up for frames missed later.
            stream[0] = now - stream[1] * self._frame_s
        stream[1] += 1
        stream[2] = max(stream[2], behind)
    return result


def frames_missed() -> int:
    """Over the live streams: the frames each fell behind the wall clock, at its worst so far."""
    return int(sum(stream[2] for stream in list(_streams.values())))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def create_app(database_url: str, data_dir: Path) -> FastAPI:
    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": str(data_dir),
            "TAINA_WEBRTC_ICE_ADDRESSES": "127.0.0.1",
            "TAINA_WEBRTC_MAX_SESSIONS": "500",
            "DATABASE_URL": database_url,
        }
    )
    library_patches.apply(settings.webrtc.ice_addresses)  # as the app does
    profile = LatencyProfile(seconds_per_clause=0.6)
    tasks: set[asyncio.Task[None]] = set()
    parts: dict[str, Any] = {}

    async def lifespan(_app: FastAPI) -> Any:
        database = await Database.open(settings.database, data_dir)
        parts["journal"] = PostgresJournal(database)
        parts["recordings"] = Recordings(data_dir / "recordings", FileStore(data_dir / "objects"), database)
        yield
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await parts["journal"].aclose()
        await database.aclose()

    app = FastAPI(lifespan=lifespan)

    def turned(record: TurnRecord) -> None:
        _counts["turns"] += 1
        if record.interrupted:
            _counts["interrupted"] += 1

    @app.post("/offer")
    async def offer(request: Request) -> dict[str, str]:
        body = await request.json()
        transport, answer = await WebRtcTransport.answer(body["sdp"], settings.audio, settings.webrtc)
        session = Session(
            f"cap{time.monotonic_ns()}",
            transport,
            ProfiledSpeechToText(profile),
            Dialogue(ProfiledModel(profile)),
            ProfiledTextToSpeech(profile),
            settings.session(),
            turned,
            parts["journal"],
            parts["recordings"],
        )
        task = asyncio.create_task(session.run())
        tasks.add(task)

        def ended(done: asyncio.Task[None]) -> None:
            tasks.discard(done)
            if session.error is not None:
                _counts["failed"] += 1

        task.add_done_callback(ended)
        return {"sdp": answer, "type": "answer"}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = time.monotonic()
        return {
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_bytes": rss_bytes(),
            "sessions": len(tasks),
            "frames_out": _counts["frames"],
            "frames_late": _counts["late"],
            "frames_missed": frames_missed(),
            "frames_in": _counts["frames_in"],
            "turns": _counts["turns"],
            "turns_interrupted": _counts["interrupted"],
            "sessions_failed": _counts["failed"],
            "monotonic": now,
            "asyncio_tasks": len(asyncio.all_tasks()),
        }

    return app


def main() -> None:
    import logging

    import structlog
    import uvicorn

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    playout.PacedPlayout.next_frame = _counted_next_frame  # type: ignore[method-assign]
    WebRtcTransport.inbound = _counted_inbound  # type: ignore[method-assign]
    port, database_url, data_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    app = create_app(database_url, data_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
