"""The capacity benchmark's own accounting: a caller process behind real time is caught (it sent less than was
due, so the level says nothing of the engine), the verdict names the limit, the engine's CPU per call is read
at the highest level the callers kept up with, and the callers' shortcut for hearing replies (the Opus
payload's size, not its decoded loudness) judges the engine's real packets as loudness does."""

from __future__ import annotations

import asyncio
import socket
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc.jitterbuffer import JitterFrame

from adapters.webrtc import OPUS_RATE, OPUS_SILENCE, opus_encoder
from benchmarks import callers
from benchmarks.callers import CallerTrack, ReplyEar, encode_loop, receive_queue_bytes, tally
from benchmarks.capacity import judge, summarise


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock that the callers' own sleeps advance (and nothing else, unless the test says so)."""
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return clock


def speech(seconds: float, loud_from: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * OPUS_RATE)) / OPUS_RATE
    tone = (0.2 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    tone[: int(loud_from * OPUS_RATE)] = 0
    return tone


def test_loop_is_encoded_once_as_one_packet_per_frame() -> None:
    loop = encode_loop(speech(1.0), question_end_sample=30_000)
    assert len(loop.packets) == 50
    assert loop.question_end == 32  # the frame holding sample 30 000 is the 32nd (frames 0-31)
    assert all(len(p) > len(OPUS_SILENCE) for p in loop.packets)


async def test_a_caller_on_time_keeps_up(clock: Clock) -> None:
    loop = encode_loop(speech(1.0), 0)
    track = CallerTrack(loop, offset=10, clock=clock)
    start = clock.now
    for _ in range(500):
        await track.recv()
    account = tally(
        1, clock.now - start + callers.FRAME_S, track.sent, len(track.questions), loop.seconds, 0.0
    )
    assert account.kept_up
    assert track.behind_s_max == 0.0
    assert len(track.questions) == 10  # every pass over the loop's start, from offset 10 on


async def test_a_caller_behind_real_time_is_caught(clock: Clock) -> None:
    """A caller process that needs 30 ms of its own for each 20 ms frame (a saturated core) sends two thirds
    of what was due: it sends late frames at once, but cannot make them up."""
    loop = encode_loop(speech(1.0), 0)
    track = CallerTrack(loop, offset=0, clock=clock)
    start = clock.now
    for _ in range(500):
        await track.recv()
        clock.now += 0.03
    account = tally(1, clock.now - start, track.sent, len(track.questions), loop.seconds, track.behind_s_max)
    assert not account.kept_up
    assert account.sent_share == pytest.approx(2 / 3, abs=0.01)
    assert account.frames_due == 750
    assert account.questions_due == pytest.approx(15.0) and account.questions_asked == 10
    assert account.behind_ms_max > 4_900  # 499 frames, 10 ms later each


async def test_a_caller_a_little_late_still_counts_as_kept_up(clock: Clock) -> None:
    """Late frames go out at once: one 60 ms hitch in a 10 s window is made up, and is not a miss."""
    loop = encode_loop(speech(1.0), 0)
    track = CallerTrack(loop, offset=0, clock=clock)
    start = clock.now
    for n in range(500):
        await track.recv()
        if n == 100:
            clock.now += 0.06
    account = tally(1, clock.now - start + callers.FRAME_S, track.sent, 0, loop.seconds, track.behind_s_max)
    assert account.kept_up
    assert account.behind_ms_max == pytest.approx(40.0, abs=0.1)  # the next frame was due 20 ms in


def level(sessions: int, **changes: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "sessions": sessions,
        "engine_sessions_running": sessions,
        "frames_missed": 0,
        "late_frame_share": 0.0,
        "sessions_failed": 0,
        "questions_asked": 10,
        "questions_answered": 10,
        "turns_completed": 12,
        "callers_kept_up": True,
        "callers_sent_share_of_due": 1.0,
        "callers_unread_kb_max": 0.8,
        "engine_frames_in_share_of_due": 1.0,
        "engine_cpu_ms_per_call_second": 20.0,
        "sessions_per_core": 50.0,
        "mb_per_session": 1.0,
    }
    figures.update(changes)
    figures.update(judge(figures))
    return figures


def test_callers_behind_fail_the_level_for_the_callers_not_the_engine() -> None:
    verdict = judge(level(30, callers_kept_up=False, engine_cpu_ms_per_call_second=12.0))
    assert verdict == {"engine_real_time": True, "real_time": False, "limit": "callers"}
    both = judge(level(30, callers_kept_up=False, questions_answered=0))
    assert both["limit"] == "callers" and not both["real_time"]


def test_the_engine_is_the_limit_when_the_callers_kept_up() -> None:
    assert judge(level(30, frames_missed=1))["limit"] == "engine"
    assert judge(level(30, questions_answered=9))["limit"] == "engine"
    assert judge(level(30, engine_frames_in_share_of_due=0.61))["limit"] == "engine"  # it fell behind reading
    assert judge(level(30, engine_frames_in_share_of_due=0.995, callers_sent_share_of_due=1.002))["real_time"]
    assert judge(level(30)) == {"engine_real_time": True, "real_time": True, "limit": None}


def test_cpu_per_call_is_read_where_the_callers_last_kept_up() -> None:
    levels = [
        level(8, engine_cpu_ms_per_call_second=26.0),
        level(16, engine_cpu_ms_per_call_second=24.0),
        level(20, callers_kept_up=False, engine_cpu_ms_per_call_second=15.0),
    ]
    summary = summarise({"levels": levels}, workers=1, levels=(8, 16, 20, 25))
    assert summary["highest_real_time_level"] == 16
    assert summary["engine_cpu_ms_per_call_second"] == 24.0
    assert summary["sessions_per_core_by_cpu"] == pytest.approx(41.7)
    assert summary["limit"] == "callers" and summary["limit_at_level"] == 20
    assert summary["limit_says"].startswith("the callers fell behind real time at 20 calls")
    assert not summary["capped"]
    every = summarise({"levels": levels[:2]}, workers=1, levels=(8, 16))
    assert every["limit"] == "levels" and every["capped"]


def engine_packets(reply_s: float, quiet_s: float) -> list[bytes]:
    """What the engine's ReplyTrack sends: its 3-byte silence, then a reply from a fresh encoder (as after
    silence), then silence again."""
    encoder = opus_encoder()
    reply = speech(reply_s)
    packets = [OPUS_SILENCE] * int(quiet_s / 0.02)
    for n in range(len(reply) // 960):
        frame = av.AudioFrame.from_ndarray(reply[n * 960 : (n + 1) * 960].reshape(1, -1), layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.time_base = Fraction(1, OPUS_RATE)
        frame.pts = n * 960
        (packet,) = encoder.encode(frame)
        packets.append(bytes(packet))
    return packets + [OPUS_SILENCE] * int(quiet_s / 0.02)


def test_reply_size_judges_the_engines_packets_as_loudness_does(clock: Clock) -> None:
    ear = ReplyEar(clock=clock, cross_check=True)
    for packet in engine_packets(0.6, 1.0) * 3:
        ear.put((callers.OPUS_CODEC, JitterFrame(packet, 0)))
        clock.now += 0.02
    assert len(ear.replies) == len(ear.replies_by_rms) == 3
    assert ear.heard == ear.checked == 3 * (50 + 30 + 50)
    # The decoder fades a reply in over its first packet and out over the first silent one: a frame each.
    assert ear.disagreed <= 2 * 3
    gap = ear.start_gap_ms_max()
    assert gap is not None and gap <= 20.0 + 1e-6


def test_the_ear_never_hands_frames_to_a_decoder_thread() -> None:
    ear = ReplyEar()
    assert ear.get() is None  # type: ignore[func-returns-value]  # aiortc's decoder thread ends at once
    ear.put(None)
    assert ear.heard == 0


def test_a_caller_that_does_not_read_its_socket_is_caught() -> None:
    """Replies the callers have not read yet wait in the kernel: the callers, not the engine, are late."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ear,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mouth,
    ):
        ear.bind(("127.0.0.1", 0))
        before = max(receive_queue_bytes(), default=0)
        for _ in range(100):  # two seconds of one call's reply packets
            mouth.sendto(b"\xfc" + bytes(120), ear.getsockname())
        unread = max(receive_queue_bytes())
        assert unread > callers.RECEIVE_QUEUE_MAX_BYTES > before
        assert not tally(1, 10.0, 500, 1, 6.0, 0.0, unread).kept_up
        assert tally(1, 10.0, 500, 1, 6.0, 0.0, before).kept_up
