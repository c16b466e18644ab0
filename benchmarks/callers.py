"""The capacity and soak benchmarks' callers: aiortc peers on 127.0.0.1 that speak a looped recording in real
time and listen for the replies, made cheap enough to run beside the engine on the same machine.

- Speaking: the looped recording is Opus-encoded once (``SpeechLoop``), shared by every caller, each starting
  at its own offset; a caller's track hands aiortc the encoded packets (aiortc 1.16.0's RTCRtpSender only packs
  a packet it is given, where a raw frame costs a resampling to stereo, a pass over the samples for the audio
  level, and an Opus encode on its thread pool, per frame per call). Each caller counts the frames it sent
  and how far behind the wall clock it ever was: a caller process that cannot keep up sends less than is due.
- Listening: a reply is heard when audio follows at least 300 ms of quiet. What comes back is told apart by the
  Opus payload's size, not decoded: the engine sends its silence as one 3-byte Opus frame and its voice (the
  scripted providers' tone, encoded at 48 kb/s) as frames of 118-133 bytes (237 for a reply's first). Each
  packet is judged where it arrives (``ReplyEar`` stands in for aiortc's decoder queue, so nothing is queued to
  a thread and decoded). Checked against decoding on the engine's real packets: the same reply starts, each
  one frame earlier by size (the decoder fades a reply's first packet in, and plays the last one's tail over
  the next silent packet: two frames per reply judged differently). The first caller on each worker decodes
  as well (``cross_check``), so every result carries its own check of the shortcut.
- Keeping up: a caller process is late when it sends less than was due, or when it does not read what
  arrives as it arrives (``receive_queue_bytes``: replies left waiting in the kernel are heard late).
  The caller speaks mono Opus, as browsers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import get_decoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from adapters.webrtc import OPUS_RATE, opus_encoder

FRAME_S = 0.02
FRAME_SAMPLES = OPUS_RATE // 50
REPLY_RMS = 500.0  # a decoded frame this loud is reply audio (the scripted voice: a 220 Hz tone, -14 dBFS)
REPLY_MIN_BYTES = 8  # an Opus payload this long is reply audio (the engine's silence is 3 bytes)
QUIET_BEFORE_REPLY = 15  # frames (300 ms) of quiet before loud audio starts a reply
OPUS_CODEC = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=OPUS_RATE, channels=2)
KEPT_UP_SHARE = 0.99  # callers that sent less of what was due than this could not keep real time
# Callers whose sockets hold more than this unread (about 40 loopback datagrams of reply audio, 0.8 s of one
# call) hear replies late: the replies were on time, the callers were not.
RECEIVE_QUEUE_MAX_BYTES = 32 * 1024


@dataclass(frozen=True)
class SpeechLoop:
    """A recording Opus-encoded once as 20 ms packets, looped by every caller: ``question_end`` is the
    packet after which the question has been asked whole."""

    packets: tuple[bytes, ...]
    question_end: int

    @property
    def seconds(self) -> float:
        return len(self.packets) * FRAME_S


def encode_loop(audio: np.ndarray, question_end_sample: int = 0) -> SpeechLoop:
    """``audio`` (48 kHz mono 16-bit, a whole number of 20 ms frames) as Opus packets, mono at 48 kb/s as
    the engine's own voice (an "opus/48000/2" stream may carry mono packets, RFC 7587)."""
    frames = len(audio) // FRAME_SAMPLES
    if frames == 0:
        raise ValueError("the recording is shorter than one 20 ms frame")
    encoder = opus_encoder()
    packets: list[bytes] = []
    for n in range(frames):
        frame = av.AudioFrame.from_ndarray(
            audio[n * FRAME_SAMPLES : (n + 1) * FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = OPUS_RATE
        frame.time_base = Fraction(1, OPUS_RATE)
        frame.pts = n * FRAME_SAMPLES
        packets.extend(bytes(p) for p in encoder.encode(frame))
    packets.extend(bytes(p) for p in encoder.encode(None))  # the encoder's look-ahead
    return SpeechLoop(tuple(packets[:frames]), -(-question_end_sample // FRAME_SAMPLES))


class CallerTrack(MediaStreamTrack):
    """A caller's microphone: the loop's packets from ``offset``, one every 20 ms by the wall clock since the
    first. A caller late for a packet sends it at once (it catches up if it can); ``sent`` counts the packets
    handed out and ``behind_s_max`` the furthest behind its clock it ever handed one out."""

    kind = "audio"

    def __init__(self, loop: SpeechLoop, offset: int, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._speech = loop
        self._position = offset % len(loop.packets)
        self._clock = clock
        self._start: float | None = None
        self._time_base = Fraction(1, OPUS_RATE)
        self.sent = 0
        self.behind_s_max = 0.0
        self.questions: list[float] = []  # when each question was asked whole

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self.sent * FRAME_S
        if due > now:
            await asyncio.sleep(due - now)
            now = self._clock()
        self.behind_s_max = max(self.behind_s_max, now - due)
        packet = av.Packet(self._speech.packets[self._position])
        packet.pts = self.sent * FRAME_SAMPLES
        packet.time_base = self._time_base
        self._position = (self._position + 1) % len(self._speech.packets)
        if self._position == self._speech.question_end:
            self.questions.append(now)
        self.sent += 1
        return packet


class ReplyEar:
    """Stands in for the caller's audio RTCRtpReceiver decoder queue (aiortc 1.16.0: ``put((codec, frame))``
    per encoded frame, ``put(None)`` at the end, ``get`` by its decoder thread): judges each packet by its
    size where it arrives and keeps when each reply started. Its ``get`` ends aiortc's decoder thread at once
    (and with it the receiver's track, which nobody reads). With ``cross_check``, every packet is decoded too
    and the frames where loudness (RMS over ``REPLY_RMS``) and size disagree are counted, as are the reply
    starts the loudness alone would have found."""

    def __init__(self, clock: Any = time.monotonic, cross_check: bool = False) -> None:
        self._clock = clock
        self.replies: list[float] = []
        self.heard = 0
        self._quiet = QUIET_BEFORE_REPLY
        self._decoder: Any = get_decoder(OPUS_CODEC) if cross_check else None
        self._loud_quiet = QUIET_BEFORE_REPLY
        self.checked = 0
        self.disagreed = 0
        self.replies_by_rms: list[float] = []

    def get(self) -> None:
        return None

    def put(self, task: Any) -> None:
        if task is None:
            return
        _codec, encoded = task
        now = self._clock()
        self.heard += 1
        loud = len(encoded.data) >= REPLY_MIN_BYTES
        if loud and self._quiet >= QUIET_BEFORE_REPLY:
            self.replies.append(now)
        self._quiet = 0 if loud else self._quiet + 1
        if self._decoder is not None:
            self._check(encoded, loud, now)

    def start_gap_ms_max(self) -> float | None:
        """The furthest a reply start heard by loudness lies from the nearest heard by size (None if either
        heard none): the shortcut may be trusted for timing replies when this is a frame or so."""
        if not self.replies or not self.replies_by_rms:
            return None
        size = np.array(self.replies)
        return round(max(float(np.min(np.abs(size - r))) for r in self.replies_by_rms) * 1000, 1)

    def _check(self, encoded: Any, loud_by_size: bool, now: float) -> None:
        for frame in self._decoder.decode(encoded):
            samples = frame.to_ndarray().astype(np.float32)
            loud = float(np.sqrt(np.mean(samples**2))) > REPLY_RMS
            self.checked += 1
            self.disagreed += loud != loud_by_size
            if loud and self._loud_quiet >= QUIET_BEFORE_REPLY:
                self.replies_by_rms.append(now)
            self._loud_quiet = 0 if loud else self._loud_quiet + 1


@dataclass
class Caller:
    pc: RTCPeerConnection
    microphone: CallerTrack
    ear: ReplyEar

    @property
    def replies(self) -> list[float]:
        return self.ear.replies


def new_caller(loop: SpeechLoop, offset: int = 0, cross_check: bool = False) -> Caller:
    """A peer connection speaking ``loop`` from packet ``offset`` and listening by size, with the engine's
    "events" channel, before its offer."""
    pc = RTCPeerConnection()
    caller = Caller(pc, CallerTrack(loop, offset), ReplyEar(cross_check=cross_check))
    pc.addTrack(caller.microphone)
    (transceiver,) = pc.getTransceivers()
    transceiver.receiver._RTCRtpReceiver__decoder_queue = caller.ear  # type: ignore[attr-defined]
    pc.createDataChannel("events")
    return caller


async def open_caller(
    client: httpx.AsyncClient, loop: SpeechLoop, offset: int, cross_check: bool = False
) -> Caller:
    """A call to the engine server behind ``client``, speaking ``loop`` from packet ``offset``."""
    caller = new_caller(loop, offset, cross_check)
    pc = caller.pc
    await pc.setLocalDescription(await pc.createOffer())
    answer = (await client.post("/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"})).json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return caller


@dataclass(frozen=True)
class CallerTally:
    """The callers' own account of a window: what they sent and asked against what was due."""

    frames_sent: int
    frames_due: int
    questions_asked: int
    questions_due: float
    behind_ms_max: float
    receive_queue_bytes_max: int = 0

    @property
    def sent_share(self) -> float:
        return self.frames_sent / self.frames_due if self.frames_due else 1.0

    @property
    def kept_up(self) -> bool:
        """Sent at least 99% of what was due, and read what came back as it came."""
        return self.sent_share >= KEPT_UP_SHARE and self.receive_queue_bytes_max <= RECEIVE_QUEUE_MAX_BYTES


def tally(
    calls: int,
    window_s: float,
    frames_sent: int,
    questions_asked: int,
    loop_s: float,
    behind_s_max: float,
    receive_queue_bytes_max: int = 0,
) -> CallerTally:
    """``calls`` callers over ``window_s``: a frame is due from each every 20 ms, a question every loop."""
    return CallerTally(
        frames_sent=frames_sent,
        frames_due=round(calls * window_s / FRAME_S),
        questions_asked=questions_asked,
        questions_due=round(calls * window_s / loop_s, 1),
        behind_ms_max=round(behind_s_max * 1000, 1),
        receive_queue_bytes_max=receive_queue_bytes_max,
    )


def receive_queue_bytes() -> list[int]:
    """The bytes received and not yet read in each of this process's UDP sockets (Linux: /proc/net/udp's
    rx_queue for the sockets among /proc/self/fd). A saturated asyncio loop reads one datagram per ready socket
    per turn: below 50 turns a second each call's socket falls behind its 50 packets a second, and the kernel
    holds what the caller has not yet heard, up to the socket's buffer (seconds of audio)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # a descriptor closed since listed
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    queued = []
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)  # the header
            for row in rows:
                fields = row.split()
                if fields[9] in inodes:
                    queued.append(int(fields[4].split(":")[1], 16))
    return queued
