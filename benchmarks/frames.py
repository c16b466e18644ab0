"""CPU per inbound frame on the listening path; the engine's 48 -> 16 kHz conditioner measured beside libsoxr's
streaming resampler and PyAV's, with how much audio each holds back (latency before the VAD sees it).

The codecs are measured beside it, so the whole per-frame media cost is visible and not only the engine's own
numpy work: decoding a caller's 20 ms Opus packet (aiortc's Opus decoder, as the receiver runs it inline on the
event loop) and encoding a 20 ms frame of the assistant's voice (the engine's own encoder, as ``ReplyTrack``
does for each speech frame; silence is a constant packet and costs nothing)."""

from __future__ import annotations

import gc
import statistics
import time
from fractions import Fraction
from typing import Any

import av
import numpy as np
import soxr

from engine.audio import PROCESSING_RATE, AudioFrame
from engine.endpointing import Endpointer
from engine.resample import InputConditioner, downmix
from taina.settings import Settings

TARGET_MEDIAN_US = 50.0


def _inbound_frames(seconds: float) -> list[AudioFrame]:
    """48 kHz stereo frames: alternating speech-like bursts and quiet, so the VAD does real work."""
    from adapters.espeak_tts import EspeakEngine, EspeakSettings
    from engine.resample import resample

    voice = EspeakEngine(EspeakSettings())
    sentence = voice.synthesize_now("Buenos días, quisiera saber a qué hora abren los sábados en Santiago.")
    speech = resample(sentence, voice.sample_rate, 48_000)
    quiet = (np.random.default_rng(1).normal(0, 30, 48_000)).astype(np.int16)
    mono = np.tile(np.concatenate([speech, quiet]), int(seconds // ((len(speech) + len(quiet)) / 48_000)) + 1)
    stereo = np.repeat(mono[: int(seconds * 48_000)], 2)
    step = 960 * 2
    return [
        AudioFrame(stereo[i : i + step], 48_000, i / step * 0.02, 2)
        for i in range(0, len(stereo) - step + 1, step)
    ]


def _time_listening_path(frames: list[AudioFrame], settings: Settings) -> list[float]:
    conditioner = InputConditioner(PROCESSING_RATE, settings.audio.frame_ms)
    endpointer = Endpointer(settings.vad, settings.endpoint, PROCESSING_RATE, settings.audio.frame_ms)
    held: list[AudioFrame] = []  # what a speech-to-text stream buffers
    costs = []
    clock = time.perf_counter_ns
    for frame in frames:
        start = clock()
        for small in conditioner.push(frame):
            endpointer.push(small)
            if endpointer.in_utterance:
                held.append(small)
        costs.append((clock() - start) / 1000)
        if len(held) > 1500:
            held.clear()
    return costs


def _time_pyav_resampler(frames: list[AudioFrame]) -> list[float]:
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=PROCESSING_RATE)
    costs = []
    for frame in frames:
        start = time.perf_counter_ns()
        av_frame = av.AudioFrame.from_ndarray(frame.samples.reshape(1, -1), format="s16", layout="stereo")
        av_frame.sample_rate = 48_000
        for out in resampler.resample(av_frame):
            out.to_ndarray()
        costs.append((time.perf_counter_ns() - start) / 1000)
    return costs


def _time_conditioner(frames: list[AudioFrame]) -> list[float]:
    conditioner = InputConditioner(PROCESSING_RATE, 20)
    costs = []
    for frame in frames:
        start = time.perf_counter_ns()
        conditioner.push(frame)
        costs.append((time.perf_counter_ns() - start) / 1000)
    return costs


def _time_soxr_stream(frames: list[AudioFrame], held_ms: list[float]) -> list[float]:
    """libsoxr's streaming resampler (HQ), the engine's previous choice; ``held_ms`` gets, per frame, how much
    of the audio received so far it had not yet given back."""
    stream = soxr.ResampleStream(48_000, PROCESSING_RATE, 1, dtype="int16", quality="HQ")
    costs = []
    given = 0
    for index, frame in enumerate(frames, 1):
        start = time.perf_counter_ns()
        out = stream.resample_chunk(downmix(frame.samples, frame.channels))
        costs.append((time.perf_counter_ns() - start) / 1000)
        given += len(out)
        held_ms.append(index * 20 - given / PROCESSING_RATE * 1000)
    return costs


def _opus_packets(frames: list[AudioFrame]) -> list[bytes]:
    """The frames as a browser sends them: stereo Opus (aiortc's encoder, as a WebRTC peer's)."""
    from aiortc.codecs.opus import OpusEncoder

    encoder = OpusEncoder()
    packets: list[bytes] = []
    for index, frame in enumerate(frames):
        av_frame = av.AudioFrame.from_ndarray(frame.samples.reshape(1, -1), format="s16", layout="stereo")
        av_frame.sample_rate = 48_000
        av_frame.pts = index * 960
        av_frame.time_base = Fraction(1, 48_000)
        payloads, _timestamp = encoder.encode(av_frame)
        packets.extend(payloads)
    return packets


def _time_decode(packets: list[bytes]) -> list[float]:
    """aiortc's Opus decoder on each packet, as the inline receiver decodes on the event loop."""
    from aiortc.codecs.opus import OpusDecoder
    from aiortc.jitterbuffer import JitterFrame

    decoder = OpusDecoder()
    costs = []
    for index, payload in enumerate(packets):
        start = time.perf_counter_ns()
        for decoded in decoder.decode(JitterFrame(data=payload, timestamp=index * 960)):
            decoded.to_ndarray()  # type: ignore[attr-defined]  # an AudioFrame: the track hands its samples on
        costs.append((time.perf_counter_ns() - start) / 1000)
    return costs


def _time_encode(frames: list[AudioFrame]) -> list[float]:
    """The engine's reply encoder (mono, 48 kHz, voip) on speech frames, including building the frame."""
    from adapters.webrtc import opus_encoder

    encoder = opus_encoder()
    costs = []
    for index, frame in enumerate(frames):
        mono = downmix(frame.samples, frame.channels)
        start = time.perf_counter_ns()
        av_frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="s16", layout="mono")
        av_frame.sample_rate = 48_000
        av_frame.pts = index * 960
        av_frame.time_base = Fraction(1, 48_000)
        encoder.encode(av_frame)
        costs.append((time.perf_counter_ns() - start) / 1000)
    return costs


def run(runs: int | None) -> dict[str, Any]:
    settings = Settings.from_env({})
    frames = _inbound_frames(60.0)  # 3,000 frames a pass
    passes = runs or 5
    path: list[float] = []
    ours: list[float] = []
    pyav: list[float] = []
    soxr_costs: list[float] = []
    soxr_held: list[float] = []
    decode: list[float] = []
    encode: list[float] = []
    packets = _opus_packets(frames)
    gc.collect()
    for _ in range(passes):  # interleaved, so machine noise hits all alike
        path += _time_listening_path(frames, settings)
        ours += _time_conditioner(frames)
        soxr_costs += _time_soxr_stream(frames, soxr_held)
        pyav += _time_pyav_resampler(frames)
        decode += _time_decode(packets)
        encode += _time_encode(frames)
    median = statistics.median(path)
    return {
        "benchmark": "frames",
        "frames": len(path),
        "median_us": round(median, 2),
        "p95_us": round(float(np.percentile(path, 95)), 2),
        "p99_us": round(float(np.percentile(path, 99)), 2),
        "conditioner_median_us": round(statistics.median(ours), 2),
        "soxr_stream_median_us": round(statistics.median(soxr_costs), 2),
        "pyav_median_us": round(statistics.median(pyav), 2),
        "conditioner_audio_held_ms": 0.0,  # every 20 ms frame in gives its 20 ms frame out (tests/unit/test_audio.py)
        "soxr_stream_audio_held_ms_mean": round(statistics.mean(soxr_held), 1),
        "frame_budget_share": f"{median / 20_000:.2%} of a 20 ms frame",
        "opus_decode_median_us": round(statistics.median(decode), 2),
        "opus_encode_speech_median_us": round(statistics.median(encode), 2),
        "inbound_with_decode_median_us": round(median + statistics.median(decode), 2),
        "target_median_us": TARGET_MEDIAN_US,
        "meets_target": median <= TARGET_MEDIAN_US,
    }
