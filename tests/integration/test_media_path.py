"""The leaner media path, over a real aiortc call on 127.0.0.1: the reply is Opus-encoded as it leaves the
playout (no thread pool) and heard by the caller, the silence between replies sent as the silent Opus frame; the caller's audio is decoded on the event loop (no decoder
thread) and reaches inbound(); a call that stops sending audio ends after the media timeout."""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from adapters import library_patches
from adapters.webrtc import WebRtcTransport
from engine.audio import AudioFrame
from taina.settings import Settings


class Tone(AudioStreamTrack):
    """A caller's microphone: a 440 Hz tone at 48 kHz, for ``seconds``, then nothing at all."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.left = int(seconds * 50)
        self.sent = 0
        self.start = 0.0

    async def recv(self) -> av.AudioFrame:
        if self.sent == 0:
            self.start = time.monotonic()
        if self.sent >= self.left:
            await asyncio.sleep(3600)  # silent, but still connected
        await asyncio.sleep(max(0.0, self.start + self.sent * 0.02 - time.monotonic()))
        t = (np.arange(960) + self.sent * 960) / 48_000
        samples = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self.sent * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        self.sent += 1
        return frame


async def _connect(
    seconds: float, media_timeout_s: float
) -> tuple[RTCPeerConnection, WebRtcTransport, list[Any]]:
    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": "/nonexistent",
            "TAINA_WEBRTC_ICE_ADDRESSES": "127.0.0.1",
            "TAINA_WEBRTC_MEDIA_TIMEOUT_S": str(media_timeout_s),
        }
    )
    library_patches.apply(settings.webrtc.ice_addresses)
    caller = RTCPeerConnection()
    caller.addTrack(Tone(seconds))
    heard: list[Any] = []

    async def listen(track: Any) -> None:
        try:
            while True:
                heard.append((await track.recv()).to_ndarray())
        except MediaStreamError:
            pass

    caller.on("track", lambda track: asyncio.ensure_future(listen(track)))
    await caller.setLocalDescription(await caller.createOffer())
    transport, answer = await WebRtcTransport.answer(
        caller.localDescription.sdp, settings.audio, settings.webrtc
    )
    await caller.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return caller, transport, heard


async def test_the_reply_is_encoded_inline_and_the_caller_decoded_on_the_loop() -> None:
    caller, transport, heard = await _connect(seconds=3.0, media_timeout_s=10)
    try:
        receiver = next(t.receiver for t in transport.pc.getTransceivers() if t.kind == "audio")
        assert isinstance(receiver._RTCRtpReceiver__decoder_queue, library_patches.InlineDecoding)  # type: ignore[attr-defined]
        received: list[AudioFrame] = []

        async def take() -> None:
            async for frame in transport.inbound():
                received.append(frame)
                if len(received) >= 50:
                    return

        async with asyncio.timeout(20):
            await take()
        assert not [t for t in threading.enumerate() if t.name == "audio-decoder" and t.is_alive()]
        loud = [f for f in received if np.abs(f.samples).max() > 4000]
        assert len(loud) >= 25, [int(np.abs(f.samples).max()) for f in received]  # the tone, decoded

        assert heard and all(not np.any(samples) for samples in heard)  # silence fill: the silent Opus frame
        reply = (6000 * np.sin(2 * np.pi * 220 * np.arange(960) / 48_000)).astype(np.int16)
        for _ in range(50):  # one second of reply
            await transport.play(AudioFrame(reply, 48_000, 0.0, 1))
        await asyncio.wait_for(transport.drained(), 10)
        await asyncio.sleep(0.5)
        levels = [int(np.abs(samples).max()) for samples in heard]
        assert sum(level > 3000 for level in levels) >= 40, levels  # the caller heard the reply, encoded here
        # Twice: speech again after silence starts from a fresh encoder, and is heard as well.
        before = len(heard)
        for _ in range(25):
            await transport.play(AudioFrame(reply, 48_000, 0.0, 1))
        await asyncio.wait_for(transport.drained(), 10)
        await asyncio.sleep(0.5)
        again = [int(np.abs(samples).max()) for samples in heard[before:]]
        assert sum(level > 3000 for level in again) >= 20, again
    finally:
        await transport.aclose()
        await caller.close()


async def test_a_caller_who_stops_sending_is_hung_up_after_the_media_timeout() -> None:
    caller, transport, _heard = await _connect(seconds=1.0, media_timeout_s=2)
    try:
        started = time.monotonic()
        frames = 0
        async with asyncio.timeout(20):
            async for _frame in transport.inbound():
                frames += 1
        waited = time.monotonic() - started
        assert frames >= 25  # the second of tone arrived
        assert 2.5 <= waited <= 8, waited  # then 2 s of nothing (checked once a second) ended it
    finally:
        await transport.aclose()
        await caller.close()
