"""Calls through LiveKit (the official SDK, through the LiveKit test server) against calls over the direct aiortc
path, one after the other in one run, into the same engine process.

The engine runs in a process of its own (``python -m benchmarks.livekit engine``): the real App (embedded
PostgreSQL, object store, conversation journal and recordings on), sessions answered by the scripted providers
of ``benchmarks.profile`` so that what differs is the transport: aiortc (Opus, SRTP and pacing in Python) or the
LiveKit SDK (its native library does them). The driver (``python -m benchmarks.livekit drive``) holds the
callers and the LiveKit test server; both run inside a veth network namespace (the SDK's WebRTC ignores
loopback), so nothing leaves the machine.

Each path: ``CALLS`` calls at once, each ``TURNS`` times the same spoken question (espeak) with room for the
reply, then a hang-up. Read from the engine process: CPU seconds over the calls (setup and hang-up included) per
call and per second of call audio, resident memory per call (the rise over the process before the calls, at
the busiest moment), engine-added latency per turn as in ``benchmarks.latency`` (end of speech to first reply
frame handed to the transport, less the endpointing silence and what the scripted providers took), and calls
per core (the calls over the process's CPU share of one core while they ran).

Caveats: the LiveKit path's figures include the SDK's native threads (they are in the process's CPU time);
the test server re-encodes media (a real SFU forwards packets), which costs the driver, not the engine.
Needs root and iproute2. Bounded: about two minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.latency import gap_s, percentile, spoken_question
from benchmarks.profile import (
    LatencyProfile,
    ProfiledModel,
    ProfiledSpeechToText,
    ProfiledTextToSpeech,
    ProviderClock,
)

ROOT = Path(__file__).resolve().parent.parent
CALLS = 4
TURNS = 3
KEY, SECRET = "bench-key", "a-benchmark-secret-of-at-least-32-characters"
LIVEKIT_PORT, ENGINE_PORT = 7890, 8790
PROFILE = LatencyProfile()


def call_audio(question: np.ndarray[Any, Any], gap: float) -> np.ndarray[Any, Any]:
    """48 kHz mono: TURNS times (a pause, the question, room for the reply), then a second of silence."""
    pause, room = np.zeros(int(0.4 * 48_000), np.int16), np.zeros(int(gap * 48_000), np.int16)
    parts = [np.zeros(int(0.5 * 48_000), np.int16)]
    for _ in range(TURNS):
        parts += [pause, question, room]
    return np.concatenate([*parts, np.zeros(48_000, np.int16)])


# -- the engine process ------------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def engine(data_dir: Path) -> None:
    """The engine's side: POST /offer (direct), POST /join (LiveKit), GET /stats, GET /turns?path=..."""
    from aiohttp import web

    from adapters.livekit_transport import LiveKitTransport
    from adapters.webrtc import WebRtcTransport
    from engine.dialogue import Dialogue
    from engine.session import Session, TurnRecord
    from taina.app import App
    from taina.settings import Settings
    from tests.support.netns import SERVER_IP

    settings = Settings.from_env(
        {
            "TAINA_DATA_DIR": str(data_dir),
            "TAINA_WEBRTC_ICE_ADDRESSES": SERVER_IP,
            "TAINA_WEBRTC_ALLOWED_CANDIDATE_NETWORKS": "10.213.0.0/24",  # the callers' end of the veth pair
            "TAINA_WEBRTC_MAX_SESSIONS": "100",
            "LIVEKIT_URL": f"ws://{SERVER_IP}:{LIVEKIT_PORT}",
            "LIVEKIT_API_KEY": KEY,
            "LIVEKIT_API_SECRET": SECRET,
            "TAINA_INGEST_SAMPLE_KB": "false",
            "TAINA_DIALOGUE_GREETING": "",
        }
    )
    from adapters import library_patches

    library_patches.apply(settings.webrtc.ice_addresses)
    added: dict[str, list[float]] = {"direct": [], "livekit": []}
    running: set[asyncio.Task[None]] = set()
    async with App.open(settings) as app:

        def session(path: str, transport: Any) -> None:
            clock = ProviderClock()
            records: list[TurnRecord] = []
            made = Session(
                f"{path}-{len(running)}-{int(time.time() * 1000) % 10**6}",
                transport,
                ProfiledSpeechToText(PROFILE, clock),
                Dialogue(ProfiledModel(PROFILE, clock)),
                ProfiledTextToSpeech(PROFILE, clock),
                settings.session(),
                records.append,
                app.journal,
                app.recordings,
            )

            async def run() -> None:
                await made.run()
                for turn, record in enumerate(records):
                    spent = clock.total_ms(turn)
                    if spent is not None and "first_audio" in record.timings_ms:
                        added[path].append(
                            record.timings_ms["first_audio"] - settings.endpoint.silence_ms - spent
                        )

            task = asyncio.create_task(run())
            running.add(task)
            task.add_done_callback(running.discard)

        async def offer(request: web.Request) -> web.Response:
            body = await request.json()
            transport, answer = await WebRtcTransport.answer(body["sdp"], settings.audio, settings.webrtc)
            session("direct", transport)
            return web.json_response({"sdp": answer, "type": "answer"})

        async def join(request: web.Request) -> web.Response:
            room = (await request.json())["room"]
            transport = await LiveKitTransport.join(settings.livekit, settings.audio, room, 10.0)

            async def when_caller_comes() -> None:
                await transport.wait_for_caller(30)
                session("livekit", transport)

            task = asyncio.create_task(when_caller_comes())
            running.add(task)
            task.add_done_callback(running.discard)
            return web.json_response({"room": room})

        async def stats(_request: web.Request) -> web.Response:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return web.json_response(
                {
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                    "rss_bytes": rss_bytes(),
                    "running": len(running),
                    "monotonic": time.monotonic(),
                }
            )

        async def turns(request: web.Request) -> web.Response:
            return web.json_response(added[request.query["path"]])

        web_app = web.Application()
        web_app.router.add_post("/offer", offer)
        web_app.router.add_post("/join", join)
        web_app.router.add_get("/stats", stats)
        web_app.router.add_get("/turns", turns)
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.TCPSite(runner, SERVER_IP, ENGINE_PORT).start()
        try:
            await asyncio.Event().wait()  # until terminated
        finally:
            await runner.cleanup()


# -- the driver (callers and the LiveKit test server) ------------------------------------------------------------


async def direct_call(http: Any, url: str, audio: np.ndarray[Any, Any]) -> None:
    from aiortc import RTCSessionDescription

    from benchmarks.callers import encode_loop, new_caller

    pc = new_caller(encode_loop(audio)).pc  # replies are judged by size as they arrive, not decoded
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(f"{url}/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"}) as answer:
        body = await answer.json()
    await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "answer"))
    await asyncio.sleep(len(audio) / 48_000)
    await pc.close()


async def livekit_call(http: Any, url: str, server_url: str, room: str, audio: np.ndarray[Any, Any]) -> None:
    from livekit import api, rtc

    caller = rtc.Room()
    heard: list[asyncio.Task[None]] = []

    def subscribed(track: rtc.Track, *_: Any) -> None:
        async def read() -> None:
            async for _event in rtc.AudioStream(track, sample_rate=48_000, num_channels=1):
                pass

        heard.append(asyncio.ensure_future(read()))

    caller.on("track_subscribed", subscribed)
    token = (
        api.AccessToken(KEY, SECRET)
        .with_identity(f"caller-{room}")
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )
    await caller.connect(server_url, token)
    async with http.post(f"{url}/join", json={"room": room}) as joined:
        joined.raise_for_status()
    source = rtc.AudioSource(48_000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    await caller.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    for at in range(0, len(audio) - 480 + 1, 480):
        await source.capture_frame(rtc.AudioFrame(audio[at : at + 480].tobytes(), 48_000, 1, 480))
    await caller.disconnect()
    for task in heard:
        task.cancel()


async def measure(path: str, http: Any, url: str, calls: list[Any], audio_s: float) -> dict[str, Any]:
    async def stats() -> dict[str, Any]:
        async with http.get(f"{url}/stats") as answer:
            found: dict[str, Any] = await answer.json()
            return found

    before = await stats()
    peak = before["rss_bytes"]

    async def sample() -> None:
        nonlocal peak
        while True:
            await asyncio.sleep(1.0)
            peak = max(peak, (await stats())["rss_bytes"])

    sampler = asyncio.create_task(sample())
    async with asyncio.timeout(audio_s + 120):
        await asyncio.gather(*calls)
        while True:  # until the sessions have ended (journal and recording stored)
            if not (await stats())["running"]:
                break
            await asyncio.sleep(0.2)
    sampler.cancel()
    after = await stats()
    async with http.get(f"{url}/turns", params={"path": path}) as answer:
        added: list[float] = await answer.json()
    cpu = after["cpu_s"] - before["cpu_s"]
    wall = after["monotonic"] - before["monotonic"]
    share = cpu / wall
    return {
        "calls": CALLS,
        "turns": len(added),
        "cpu_s_per_call": round(cpu / CALLS, 3),
        "cpu_ms_per_audio_second": round(cpu * 1000 / (CALLS * audio_s), 2),
        "cpu_share_of_one_core": round(share, 3),
        "calls_per_core": round(CALLS / share, 1) if share else None,
        "mb_per_call": round((peak - before["rss_bytes"]) / CALLS / 2**20, 2),
        "engine_added_ms": {
            "p50": round(statistics.median(added), 1) if added else None,
            "p95": round(percentile(added, 95), 1) if added else None,
        },
    }


async def drive(data_dir: Path) -> dict[str, Any]:
    import aiohttp

    from adapters.library_patches import offer_ice_addresses
    from taina.settings import Settings
    from tests.support.livekit_server import LiveKitTestServer
    from tests.support.netns import PEER_IP, SERVER_IP

    settings = Settings.from_env({"TAINA_DATA_DIR": str(data_dir)})
    audio = call_audio(spoken_question(), gap_s(settings, PROFILE))
    audio_s = len(audio) / 48_000
    server = LiveKitTestServer(SERVER_IP, LIVEKIT_PORT, KEY, SECRET)
    await server.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.livekit", "engine", str(data_dir), cwd=ROOT, env=env
    )
    url = f"http://{SERVER_IP}:{ENGINE_PORT}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/stats") as answer:
                        if answer.status == 200:
                            break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the engine process did not start")
                await asyncio.sleep(0.5)
            idle = (await (await http.get(f"{url}/stats")).json())["rss_bytes"]
            offer_ice_addresses((PEER_IP,))
            direct = await measure(
                "direct", http, url, [direct_call(http, url, audio) for _ in range(CALLS)], audio_s
            )
            print(f"livekit benchmark, direct: {direct}", file=sys.stderr, flush=True)
            through = await measure(
                "livekit",
                http,
                url,
                [livekit_call(http, url, server.url, f"bench-{n}", audio) for n in range(CALLS)],
                audio_s,
            )
            print(f"livekit benchmark, livekit: {through}", file=sys.stderr, flush=True)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        await server.stop()
    return {
        "call_audio_s": round(audio_s, 1),
        "profile": PROFILE.as_json(),
        "engine_idle_rss_mb": round(idle / 2**20, 1),
        "direct": direct,
        "livekit": through,
        "livekit_vs_direct_cpu": round(through["cpu_s_per_call"] / direct["cpu_s_per_call"], 2)
        if direct["cpu_s_per_call"]
        else None,
        "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run(runs: int | None = None) -> dict[str, Any]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise SystemExit("the livekit benchmark needs root and iproute2 (it runs in a network namespace)")
    from tests.support.netns import veth_namespace

    with tempfile.TemporaryDirectory(prefix="taina-lk-bench-") as tmp:
        data = Path(tmp) / "data"  # no speech models: the providers are scripted
        data.mkdir()
        out = Path(tmp) / "result.json"
        try:
            with veth_namespace() as namespace:
                subprocess.run(
                    ["ip", "netns", "exec", namespace, sys.executable, "-m", "benchmarks.livekit", "drive",
                     str(data), str(out)],
                    cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=600,
                )  # fmt: skip
        finally:
            from adapters.postgres import running_postmaster, stop_postmaster

            pid = running_postmaster(data / "postgres")
            if pid is not None:
                stop_postmaster(pid)
        result: dict[str, Any] = json.loads(out.read_text())
    return result


def main() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    mode, data = sys.argv[1], Path(sys.argv[2])
    if mode == "engine":
        asyncio.run(engine(data))
    elif mode == "drive":
        result = asyncio.run(asyncio.wait_for(drive(data), 540))
        Path(sys.argv[3]).write_text(json.dumps(result))
    else:
        raise SystemExit(f"unknown mode {mode!r}: engine or drive")


if __name__ == "__main__":
    main()
