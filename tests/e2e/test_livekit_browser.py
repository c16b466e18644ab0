"""The voice page in LiveKit mode, end to end: headless Chromium with LiveKit's browser SDK (livekit-client, as
`make install` builds it) gets a caller token from the engine's token endpoint, joins the room the engine was sent
into on the LiveKit test server, asks a recorded Spanish question, hears the answer, and shows the transcripts and
the agent's state as LiveKit carries them. Chromium, the engine and the test server all run inside one veth network
namespace (tests/support/livekit_browser_scenario.py), because WebRTC there must not use loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from taina.http.pages import LIVEKIT_CLIENT
from tests.support.netns import veth_namespace
from tests.support.servers import REPO, stop_database_left

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and iproute2 for a network namespace",
    ),
]

STANDARD, AGENT = 0, 4  # livekit.protocol.models.ParticipantInfo.Kind


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory, shared_models: Path, chromium: str) -> dict[str, Any]:
    assert LIVEKIT_CLIENT.is_file(), "LiveKit's browser SDK is not built: run `make install` (npm ci)"
    data = tmp_path_factory.mktemp("livekit-browser") / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    with veth_namespace() as namespace:
        # An outer timeout: a stuck browser or a panic in a native library must not hang the run.
        result = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.support.livekit_browser_scenario",
             str(data), chromium],
            cwd=REPO, capture_output=True, text=True, timeout=560,
        )  # fmt: skip
    stop_database_left(data)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"the scenario failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    found: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    if found["errors"]:
        pytest.fail(f"{found['errors']}\n{json.dumps(found, ensure_ascii=False, indent=1)[-8000:]}")
    return found


@pytest.mark.timeout(600)
def test_the_page_talks_to_the_engine_through_a_livekit_room(seen: dict[str, Any]) -> None:
    assert seen["mode"] == "livekit", seen["mode_text"]  # LiveKit is the default when the engine has it
    # The engine named the room (its prefix) and is in it as an agent, with the page as the one caller.
    (room,) = seen["rooms_in_call"]
    assert room["room"].startswith("taina-")
    kinds = sorted(room["participants"].values())
    assert kinds == [STANDARD, AGENT], room
    assert any(who.startswith("caller-") for who in room["participants"]), room
    users = [line for line in seen["lines"] if line["role"] == "user" and not line["interim"]]
    assert any("precios" in plain(line["text"]) for line in users), seen["lines"]
    said = " ".join(line["text"] for line in seen["lines"] if line["role"] == "assistant")
    assert "pesos dominicanos" in said, seen["lines"]  # from the sample centre's price list
    # The reply reached the page as sound (WebAudio measured it on the agent's track).
    assert seen["audio"]["loudFrames"] >= 5 and seen["audio"]["peakRms"] > 0.02, seen["audio"]
    # The agent's state (its lk.agent.state attribute) drove the status line.
    assert {"thinking", "assistant_speaking"} <= set(seen["statuses"]), seen["statuses"]
    assert seen["alert"] == ""
    assert not [line for line in seen["console"] if "Content Security Policy" in line], seen["console"]


@pytest.mark.timeout(600)
def test_in_livekit_mode_the_page_says_it_listens_only_once_audio_flows(seen: dict[str, Any]) -> None:
    at = seen["at_listening"]
    assert at is not None, seen["statuses"]
    # At the first "Te escucho" every live peer connection was up and audio had gone both ways.
    assert [state for state in at["states"] if state != "closed"] == ["connected", "connected"], at
    assert at["sent"] > 0 and at["received"] > 0, at
    statuses = seen["statuses"]
    assert statuses.index("connecting") < statuses.index("listening"), statuses
    print(f"'Te escucho' {seen['listening_after_s']} s after the click (LiveKit mode)")


@pytest.mark.timeout(600)
def test_hanging_up_ends_the_engines_session(seen: dict[str, Any]) -> None:
    assert seen["ended_status"] == "ended"
    assert seen["session_ended"], seen["engine_log_tail"]
