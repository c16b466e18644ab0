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


async def test_an_idle_playout_sends_a_new_frame_at_once_and_paces_from_it() -> None:
    playout = PacedPlayout(16_000, 200, 1_000)  # long frames: the next slot is far off
    await playout.next_frame()  # the clock starts: silence now, the next slot 200 ms later
    waiting = asyncio.create_task(playout.next_frame())
    await asyncio.sleep(0.01)
    queued_at = time.monotonic()
    await playout.put(np.ones(3_200, np.int16))
    await playout.put(np.ones(3_200, np.int16))
    samples, due, silence = await waiting
    assert not silence and samples[0] == 1
    assert queued_at <= due < queued_at + 0.15  # not at the old slot
    second = await playout.next_frame()
    assert second[1] == pytest.approx(due + 0.2)  # then one per period from the new start


async def test_a_paused_playout_sends_silence_and_resumes_where_it_stopped() -> None:
    playout = PacedPlayout(16_000, 20, 1_000)
    for value in (1, 2, 3):
        await playout.put(np.full(320, value, np.int16))
    assert (await playout.next_frame())[0][0] == 1
    playout.pause()
    assert (await playout.next_frame())[2] and playout.queued == 2
    playout.resume()
    assert (await playout.next_frame())[0][0] == 2
    assert playout.clear() == 1 and playout.queued == 0
