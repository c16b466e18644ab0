from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.audio import AudioFrame, FrameRing, Reframer, rms_dbfs
from engine.resample import Decimator, InputConditioner, OutputConditioner, downmix, resample
from tests.support.frames import dominant_frequency, frames_of
from tests.support.speech import noise, tone


def test_reframer_cuts_exact_frames_and_keeps_the_rest() -> None:
    reframer = Reframer(320)
    out = reframer.push(np.arange(700, dtype=np.int16))
    assert [len(f) for f in out] == [320, 320]
    assert out[1][0] == 320
    assert reframer.push(np.arange(700, 1000, dtype=np.int16))[0][:60].tolist() == list(range(640, 700))
    tail = reframer.flush()
    assert tail is not None and len(tail) == 320 and tail[-1] == 0
    assert reframer.flush() is None


def test_frame_ring_keeps_the_latest_frames_in_order() -> None:
    ring = FrameRing(3)
    for i in range(5):
        ring.append(AudioFrame(np.full(4, i, np.int16), 16_000, float(i)))
    assert [f.timestamp for f in ring.drain()] == [2.0, 3.0, 4.0]
    assert len(ring) == 0
    assert FrameRing(0).drain() == []


def test_downmix_averages_interleaved_channels() -> None:
    stereo = np.array([100, 300, -100, -300, 32767, 32767], dtype=np.int16)
    assert downmix(stereo, 2).tolist() == [200, -200, 32767]


@pytest.mark.parametrize(
    ("rate", "channels"), [(48_000, 2), (44_100, 1), (22_050, 2), (8_000, 1), (16_000, 1)]
)
def test_conditioner_turns_any_input_into_16k_mono_20ms_frames(rate: int, channels: int) -> None:
    signal = tone(2.0, freq=1000.0, rate=rate)
    interleaved = np.repeat(signal, channels)
    conditioner = InputConditioner(16_000, 20)
    out: list[AudioFrame] = []
    # Odd-sized chunks, as a jittery transport would deliver them.
    for frame in frames_of(interleaved, rate=rate, frame_ms=10, channels=channels):
        out += conditioner.push(frame)
    assert all(len(f.samples) == 320 and f.sample_rate == 16_000 for f in out)
    assert abs(len(out) - 100) <= 4  # 2 s of audio, less what the resampler still holds
    joined = np.concatenate([f.samples for f in out])[1600:]
    assert dominant_frequency(joined, 16_000) == pytest.approx(1000.0, abs=5)
    assert rms_dbfs(joined) == pytest.approx(rms_dbfs(signal), abs=1.0)
    times = [f.timestamp for f in out]
    assert all(b > a for a, b in itertools.pairwise(times))


def test_resampling_filters_what_the_new_rate_cannot_carry() -> None:
    # 10 kHz is above 16 kHz's Nyquist limit: naive decimation folds it down to 6 kHz at full strength,
    # a real resampler filters it out.
    high = tone(1.0, freq=10_000.0, rate=48_000)
    assert rms_dbfs(high[::3]) > -15
    assert rms_dbfs(resample(high, 48_000, 16_000)[800:-800]) < -50


def test_output_conditioner_makes_paced_frames_from_synthesized_chunks() -> None:
    out = OutputConditioner(48_000, 20)
    frames = (
        out.push(noise(0.5, rate=22_050), 22_050) + out.push(tone(0.3, rate=24_000), 24_000) + out.flush()
    )
    assert all(len(f) == 960 for f in frames)
    assert abs(len(frames) - 40) <= 2
    assert rms_dbfs(np.concatenate(frames)) > -20


def test_the_48k_listening_path_answers_each_frame_at_once_and_filters_aliases() -> None:
    conditioner = InputConditioner(16_000, 20)
    speechband = tone(1.0, freq=1000.0, rate=48_000)
    counts = [len(conditioner.push(f)) for f in frames_of(np.repeat(speechband, 2), rate=48_000, channels=2)]
    assert counts == [1] * 50  # every 20 ms inbound frame gives its engine frame, none held back
    decimator = Decimator(3)
    whole = decimator.push(speechband)
    chunked = Decimator(3)
    pieces = np.concatenate([chunked.push(speechband[i : i + 777]) for i in range(0, 48_000, 777)])
    assert np.array_equal(whole, pieces)  # the same stream however it is cut
    assert rms_dbfs(whole[400:]) == pytest.approx(rms_dbfs(speechband), abs=0.2)
    assert rms_dbfs(Decimator(3).push(tone(1.0, freq=10_000.0, rate=48_000))[400:]) < -70
