"""What the LiveKit transport says when the caller's microphone never comes: a timeout is a warning with its
length; a call that ended first (the caller left before publishing) is no timeout and says so."""

from __future__ import annotations

import asyncio

import structlog
from livekit import rtc

from adapters.livekit_transport import LiveKitTransport
from engine.audio import AudioSettings


async def _frames(transport: LiveKitTransport) -> int:
    return len([frame async for frame in transport.inbound()])


async def test_no_caller_microphone_within_the_media_timeout_is_a_warning() -> None:
    transport = LiveKitTransport(rtc.Room(), AudioSettings(), media_timeout_s=0.2)
    transport.room_name = "taina-quiet"
    with structlog.testing.capture_logs() as logs:
        assert await asyncio.wait_for(_frames(transport), 5) == 0
    events = [e for e in logs if e["event"].startswith("livekit.")]
    assert events == [
        {"event": "livekit.no_caller_audio", "log_level": "warning", "seconds": 0.2, "room": "taina-quiet"}
    ]


async def test_a_call_that_ends_before_the_microphone_comes_is_no_timeout() -> None:
    transport = LiveKitTransport(rtc.Room(), AudioSettings(), media_timeout_s=30)
    transport.room_name = "taina-left"
    with structlog.testing.capture_logs() as logs:
        waiting = asyncio.ensure_future(_frames(transport))
        await asyncio.sleep(0.05)
        transport._ended.set()  # what the caller leaving does (see _participant_disconnected)
        assert await asyncio.wait_for(waiting, 5) == 0  # at once, not after the 30 s timeout
    events = [e for e in logs if e["event"].startswith("livekit.")]
    assert events == [
        {"event": "livekit.ended_before_caller_audio", "log_level": "info", "room": "taina-left"}
    ]
