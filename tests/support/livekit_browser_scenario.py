"""The voice page in LiveKit mode, in headless Chromium, against the engine (`taina serve`, the embedded default with
the sample centre's documents) and the LiveKit test server, all inside one veth network namespace: run by
tests/e2e/test_livekit_browser.py with ``ip netns exec`` (WebRTC there must not use loopback). Prints one JSON
object of what the page, the engine and the test server saw.

    python -m tests.support.livekit_browser_scenario DATA_DIR CHROMIUM

The page is opened on 127.0.0.1 (a secure context, so it may ask for the microphone); it fetches a caller token
from the engine (POST /api/livekit/token, which sends the engine into a new room), joins that room on the test
server at 10.213.0.1 with livekit-client, publishes the fake microphone (a recorded Spanish question) and shows
the engine's transcripts and state as LiveKit carries them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

from tests.support.browser import QUESTION, WATCH_STATUS, chromium_flags
from tests.support.livekit_server import LiveKitTestServer
from tests.support.netns import SERVER_IP
from tests.support.servers import REPO, free_port
from tests.support.speech import speech_wav

KEY, SECRET = "taina-test-key", "a-test-secret-of-at-least-32-characters!"
LIVEKIT_PORT = 7880
WORKERS = 2  # `taina serve`'s worker processes: each registers with the test server as a LiveKit agent worker


def start_engine(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TAINA_DATA_DIR": str(data_dir),
        "TAINA_HTTP_HOST": "127.0.0.1",
        "TAINA_HTTP_PORT": str(port),
        "TAINA_LOG_FORMAT": "json",
        "TAINA_INGEST_SAMPLE_KB": "true",
        "TAINA_DIALOGUE_GREETING": "",
        "LIVEKIT_URL": f"ws://{SERVER_IP}:{LIVEKIT_PORT}",
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "TAINA_HTTP_WORKERS": str(WORKERS),
    }
    log = (data_dir / "server.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "taina.cli", "serve"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )


async def wait_ready(
    url: str, engine: subprocess.Popen[bytes], server: LiveKitTestServer, within_s: float
) -> None:
    """The engine answers /healthz (it loads the sample documents first: slow on a busy machine) and every one of
    its worker processes is up (registered with the test server): the first answers while the others still load
    their speech models, which would otherwise take the machine's cores during the call."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if engine.poll() is not None:
                raise RuntimeError(f"the engine exited ({engine.returncode})")
            try:
                healthy = (await http.get(f"{url}/healthz")).status_code == 200
            except httpx.TransportError:
                healthy = False
            if healthy and len(server.workers) >= WORKERS:
                return
            await asyncio.sleep(0.3)
    raise RuntimeError(
        f"the engine did not come up in {within_s:.0f} s ({len(server.workers)} of {WORKERS} workers registered)"
    )


async def waited(page: Page, what: str, script: str, timeout_s: float, errors: list[str]) -> bool:
    try:
        await page.wait_for_function(script, timeout=timeout_s * 1000)
        return True
    except Exception as exc:
        errors.append(f"{what}: {exc.__class__.__name__}")
        return False


def room_view(server: LiveKitTestServer) -> list[dict[str, Any]]:
    return [
        {
            "room": name,
            "participants": {p.info.identity: int(p.info.kind) for p in room.participants.values()},
            "tracks": len(room.tracks),
        }
        for name, room in server.rooms.items()
    ]


async def run(data_dir: Path, chromium: str) -> dict[str, Any]:
    server = LiveKitTestServer(SERVER_IP, LIVEKIT_PORT, KEY, SECRET)
    await server.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    engine = start_engine(data_dir, port)
    microphone = speech_wav(data_dir / "question.wav", QUESTION, tail_s=4.0)
    out: dict[str, Any] = {"errors": []}
    errors: list[str] = out["errors"]
    try:
        await wait_ready(url, engine, server, 300)
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            page = await (await browser.new_context()).new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300]))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"[:300]))
            await page.add_init_script(WATCH_STATUS)
            await page.goto(f"{url}/?raw=1")  # LiveKit is this engine's default mode
            await page.wait_for_function("() => document.querySelector('[data-testid=mode]').dataset.mode")
            out["mode"] = await page.get_by_test_id("mode").get_attribute("data-mode")
            out["mode_text"] = await page.get_by_test_id("mode").inner_text()
            clicked = time.monotonic()
            await page.get_by_test_id("talk").click()
            await waited(
                page, "listening", "() => window.testAtListening && window.testAtListening.at > 0", 30, errors
            )
            out["listening_after_s"] = round(time.monotonic() - clicked, 2)
            out["rooms_in_call"] = room_view(server)
            final = "[data-role=user]:not([data-interim])"
            await waited(page, "user line", f"() => document.querySelector('{final}')", 60, errors)
            await waited(
                page,
                "reply line",
                "() => [...document.querySelectorAll('[data-role=assistant]')]"
                ".some((line) => line.textContent.includes('pesos dominicanos'))",
                40,
                errors,
            )
            await waited(page, "reply heard", "() => window.tainaAudio.loudFrames >= 5", 20, errors)
            out["lines"] = await page.evaluate(
                "() => [...document.querySelectorAll('#transcript li')].map((li) => "
                "({role: li.dataset.role, interim: li.dataset.interim === 'true', text: li.textContent}))"
            )
            out["audio"] = await page.evaluate("() => ({peakRms: window.tainaAudio.peakRms, "
                                               "loudFrames: window.tainaAudio.loudFrames})")  # fmt: skip
            out["at_listening"] = await page.evaluate("window.testAtListening")
            out["statuses"] = [s["state"] for s in await page.evaluate("window.testStatuses")]
            out["alert"] = (await page.locator("#error").text_content()) or ""
            out["call"] = await page.evaluate("window.tainaCall")
            if errors:  # what the browser's connections went through
                out["peers"] = await page.evaluate("window.testPeersAtStall || window.testPeers()")
                out["peer_events"] = await page.evaluate("window.testPeerEvents")
            await page.get_by_test_id("talk").click()  # hang up
            out["ended_status"] = await page.get_by_test_id("status").get_attribute("data-state")
            out["console"] = console[-40:]
            await browser.close()
        for _ in range(
            100
        ):  # the engine's session ends once it sees the caller leave (asserted from the log)
            if '"session.ended"' in (data_dir / "server.log").read_text():
                break
            await asyncio.sleep(0.3)
    except Exception as exc:
        errors.append(f"scenario: {exc.__class__.__name__}: {exc}")
    finally:
        engine.terminate()
        try:
            engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait(timeout=15)
        await server.stop()
    logs = (data_dir / "server.log").read_text(errors="replace")
    out["session_ended"] = '"session.ended"' in logs
    out["engine_log_tail"] = logs[-3000:]
    return out


def main() -> None:
    result = asyncio.run(asyncio.wait_for(run(Path(sys.argv[1]), sys.argv[2]), 540))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
