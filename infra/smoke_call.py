"""A caller for infra/container-smoke.sh: drains with a call in progress, against `taina serve` in a container.

    python infra/smoke_call.py URL CONTAINER

Opens a WebRTC call (a silent microphone) to URL, sends the container SIGTERM (`podman kill`), then checks what a
cluster relies on while the call goes on: new offers get 503 with Retry-After, /readyz 503 (draining), /healthz
still alive with the call counted. Then it hangs up, which lets the drain end before its limit. Prints one JSON
line; exits 1 with a message when a check fails. Runs with the project's venv (aiortc, httpx)."""

from __future__ import annotations

import asyncio
import fractions
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.library_patches import offer_ice_addresses

RATE = 16_000
PTIME = 0.02


class Silence(AudioStreamTrack):
    """A microphone that says nothing, in real time."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = int(PTIME * RATE)
        if self.started is None:
            self.started = time.time()
        else:
            await asyncio.sleep(self.started + (self.sent + n) / RATE - time.time())
            self.sent += n
        frame = AudioFrame.from_ndarray(np.zeros((1, n), dtype=np.int16), format="s16", layout="mono")
        frame.pts = self.sent
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"smoke_call: {what}")


async def main(url: str, container: str) -> dict[str, object]:
    offer_ice_addresses(("127.0.0.1",))
    pc = RTCPeerConnection()
    pc.addTrack(Silence())
    channel = pc.createDataChannel("events")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        await pc.setLocalDescription(await pc.createOffer())
        answer = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": pc.localDescription.sdp})
        check(answer.status_code == 200, f"the offer was answered {answer.status_code}: {answer.text[:200]}")
        await pc.setRemoteDescription(RTCSessionDescription(answer.json()["sdp"], "answer"))
        await asyncio.wait_for(opened.wait(), 30)
        check("taina_sessions_active 1.0" in (await client.get("/metrics")).text, "the call is not counted")

        kill = await asyncio.create_subprocess_exec(
            "podman", "kill", "--signal", "TERM", container, stdout=subprocess.DEVNULL
        )
        check(await kill.wait() == 0, f"podman kill {container} failed")
        terminated = time.monotonic()
        await asyncio.sleep(1.0)
        refused = await client.post("/api/rtc/offer", json={"type": "offer", "sdp": "v=0"})
        check(refused.status_code == 503 and "retry-after" in refused.headers, f"a new offer got {refused}")
        ready = await client.get("/readyz")
        check(
            ready.status_code == 503 and ready.json()["checks"]["draining"] == "yes", f"/readyz {ready.text}"
        )
        health = (await client.get("/healthz")).json()
        check(health["sessions"] == 1, f"the call did not go on during the drain: {health}")
        await asyncio.sleep(2.0)  # still draining while the call lasts
        check((await client.get("/healthz")).status_code == 200, "the server stopped before the call ended")
    await pc.close()  # the caller hangs up: the drain can end
    return {
        "refused_while_draining": refused.status_code,
        "readyz_while_draining": ready.status_code,
        "call_kept_s": round(time.monotonic() - terminated, 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
