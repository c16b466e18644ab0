"""LiveKit as a transport, with the official SDK (``livekit`` 1.2.1, pinned) on both ends of the test server
(tests/support/livekit_server.py) inside a veth network namespace: the engine, as the product's embedded default,
is dispatched into rooms and serves callers there. One run of tests/support/livekit_scenario.py (the engine's
start-up, with the sample documents, is its slow part) is asserted on by the tests below.

This is also the contract test to run on every upgrade of the SDK: the library inside its wheel moves ahead of
its public sources. What the test server does not prove (a real livekit-server, resume, single-PC mode, TURN) is
in its docstring and the README.
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

from engine.handoff import NO_TRANSFER, TRANSFERRING
from tests.support.netns import veth_namespace
from tests.support.servers import REPO

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2 for a network namespace"
)


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def told(heard: list[str]) -> str:
    """What the caller heard as one text (the transcript comes clause by clause)."""
    return " ".join(plain(line) for line in heard)


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("livekit") / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    with veth_namespace() as namespace:
        # An outer timeout: a panic in the SDK's native library hangs the process instead of ending it.
        result = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                namespace,
                sys.executable,
                "-m",
                "tests.support.livekit_scenario",
                str(data),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=540,
        )
    try:
        from tests.support.servers import stop_database_left

        stop_database_left(data)
    finally:
        lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
        if result.returncode != 0 or not lines:
            pytest.fail(
                f"the scenario failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
            )
    found: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return found


@pytest.mark.timeout(600)
def test_a_caller_in_a_room_is_answered_from_the_documents(seen: dict[str, Any]) -> None:
    call = seen["call"]
    assert call["replied"], call["lines"]
    users = [
        line
        for line in call["lines"]
        if line["taina.role"] == "user" and line["lk.transcription_final"] == "true"
    ]
    assert users and "precios" in plain(users[0]["text"]), call["lines"]
    # The reply comes from the sample centre's price list, as LiveKit transcription lines tied to the tracks.
    said = " ".join(line["text"] for line in call["lines"] if line["taina.role"] == "assistant")
    assert "pesos dominicanos" in said
    assert all(line["lk.transcribed_track_id"].startswith("TR_") for line in call["lines"])
    (agent,) = call["caller_heard"]  # the caller hears only the engine (the supervisor does not publish)
    assert call["caller_heard"][agent] > 300, "the reply reached the caller as sound"
    assert {"state", "transcript"} <= set(call["events"])


@pytest.mark.timeout(600)
def test_a_supervisor_hears_both_sides_and_is_never_answered(seen: dict[str, Any]) -> None:
    call = seen["call"]
    heard = call["supervisor_heard"]
    assert heard["caller-1"] > 300 and max(v for k, v in heard.items() if k != "caller-1") > 300, heard
    assert call["supervisor_lines"] >= 2  # the transcripts reach the supervisor too
    assert len(call["turns"]) == 1, call["turns"]  # one caller, one question: only the caller was answered


@pytest.mark.timeout(600)
def test_the_caller_leaving_ends_the_session_and_keeps_the_recording(seen: dict[str, Any]) -> None:
    call = seen["call"]
    assert call["session_error"] is None
    assert call["recording"] and call["conversation"]


@pytest.mark.timeout(600)
def test_a_sip_callers_number_reaches_the_dialogue(seen: dict[str, Any]) -> None:
    sip = seen["sip"]
    assert sip["caller"] == "+18095550123"
    assert sip["likely_phone"] == "+18095550123"
    assert sip["policy_phone"] == "8095550123"  # the embedded policy starts a booking with it


@pytest.mark.timeout(600)
def test_a_phone_caller_who_asks_for_a_person_is_transferred_to_staff(seen: dict[str, Any]) -> None:
    sip = seen["sip"]
    assert sip["handoff"] == "transferred", sip
    assert sip["transfers"] == [["taina-sip-1", "sip_+18095550123", "tel:+18095550000"]]
    # One coherent hand-off: the transfer line exactly once (the reply itself, said before the transfer), never
    # the "cannot pass you to a person" line.
    assert told(sip["heard"]).count(plain(TRANSFERRING)) == 1, sip["heard"]
    assert "todavia no puedo" not in told(sip["heard"]), sip["heard"]
    assert sip["ended_by_transfer"] and sip["session_error"] is None, sip


@pytest.mark.timeout(600)
def test_a_refused_transfer_is_told_to_the_caller_and_the_call_goes_on(seen: dict[str, Any]) -> None:
    refused = seen["sip_refused"]
    assert refused["handoff"].startswith("refused") and "Busy Here" in refused["handoff"], refused
    assert refused["refused"] == ["failed_precondition"] and refused["new_transfers"] == 0
    assert refused["told"] and refused["still_in_call_after_refusal"], refused["heard"]
    heard = told(refused["heard"])
    assert heard.count(plain(TRANSFERRING)) == 1 and "todavia no puedo" not in heard, refused["heard"]
    assert heard.index(plain(TRANSFERRING)) < heard.index("no pude pasarle"), refused[
        "heard"
    ]  # then the refusal
    assert refused["ended"] != "stuck" and refused["session_error"] is None, refused


@pytest.mark.timeout(600)
def test_a_browser_caller_who_asks_for_a_person_hears_the_hand_off_and_is_not_transferred(
    seen: dict[str, Any],
) -> None:
    browser = seen["browser_handoff"]
    assert browser["handoff"] == "not transferred: not a phone caller", browser
    assert browser["transfer_attempts"] == 0
    assert told(browser["heard"]).count(plain(NO_TRANSFER)) == 1, browser["heard"]
    assert "le paso" not in told(browser["heard"]), browser["heard"]


@pytest.mark.timeout(600)
def test_bad_and_expired_tokens_are_refused(seen: dict[str, Any]) -> None:
    for name, outcome in seen["bad_tokens"].items():
        assert outcome.startswith("refused") and "401" in outcome, (name, outcome)


@pytest.mark.timeout(600)
def test_a_job_for_a_room_that_does_not_exist_is_refused(seen: dict[str, Any]) -> None:
    no_room = seen["no_room"]
    assert no_room["join"].startswith("NoSuchRoom"), no_room
    assert no_room["assigned"] and no_room["job_status"] == "JS_FAILED" and "no room" in no_room["job_error"]


@pytest.mark.timeout(600)
def test_two_engine_workers_share_the_calls_and_one_drains(seen: dict[str, Any]) -> None:
    workers = seen["workers"]
    assert workers["published_first"] == [True, True], (
        workers
    )  # each engine joined a caller already publishing
    assert workers["hearing_caller"] == [True, True], workers  # ... and was sent their track once it asked
    assert sorted(workers["assigned"]) == ["first", "second"], workers  # each took one (the least loaded)
    assert workers["drain_seen"] and workers["call_in_progress_while_draining"], workers
    assert workers["asked_while_draining"] == ["first"], workers  # the draining one is not asked
    assert workers["drained"] and workers["unregistered"], workers
    assert workers["job_statuses"] == ["JS_SUCCESS", "JS_SUCCESS"], workers


@pytest.mark.timeout(600)
def test_the_server_going_away_mid_call_ends_the_session_cleanly(seen: dict[str, Any]) -> None:
    gone = seen["server_gone"]
    assert gone["ended"] != "stuck" and gone["seconds"] < 45, gone
    assert gone["session_error"] is None
    assert gone["recording"], gone  # what was said before the drop is kept
