from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from engine.playout import PacedPlayout


async def test_frames_leave_one_per_period_with_silence_between() -> None:
    playout = PacedPlayout(16_000, 20, 1_000)
    sent: list[float] = []
    await playout.put(np.ones(320, np.int16), sent.append)
    first = await playout.next_frame()
    second = await playout.next_frame()
    assert not first[2] and second[2]  # the queued frame, then silence fill
    assert second[1] - first[1] == pytest.approx(0.02)
    assert sent == [first[1]]


async def test_pacing_follows_the_wall_clock() -> None:
    playout = PacedPlayout(16_000, 20, 1_000)
    start = time.monotonic()
    for _ in range(10):
        await playout.next_frame()
    assert time.monotonic() - start >= 0.17  # nine periods after the first frame


async def test_clear_drops_queued_audio_and_wakes_waiters() -> None:
    playout = PacedPlayout(16_000, 20, 1_000)  # 50 frames at most
    for _ in range(50):
        await playout.put(np.ones(320, np.int16))
    blocked = asyncio.create_task(playout.put(np.ones(320, np.int16)))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert playout.clear() == 50
    await asyncio.wait_for(blocked, 1)
    assert playout.queued == 1


async def test_wrong_frame_size_is_refused() -> None:
    with pytest.raises(ValueError, match="320 samples"):
        await PacedPlayout(16_000, 20, 1_000).put(np.ones(100, np.int16))
