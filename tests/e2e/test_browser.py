"""The whole path in a real browser: headless Chromium's fake microphone -> WebRTC -> the assistant -> back."""

from __future__ import annotations

import json
import socket
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.browser import QUESTION, WATCH_STATUS, chromium_flags
from tests.support.servers import Server, start_server, stop_server
from tests.support.speech import speech_wav

pytestmark = pytest.mark.browser


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    microphone = speech_wav(tmp_path / "question.wav", QUESTION, tail_s=4.0)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, headless=True, args=chromium_flags(microphone))
        yield launched
        launched.close()


def open_page(browser: Browser, server: Server) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/?raw=1")
    return page


@pytest.fixture
def server_with_documents(data_dir: Path) -> Iterator[Server]:
    srv = start_server(data_dir, {"TAINA_INGEST_SAMPLE_KB": "true"})
    yield srv
    stop_server(srv)


def test_spoken_question_gets_a_spoken_reply(browser: Browser, server_with_documents: Server) -> None:
    server = server_with_documents
    page = open_page(browser, server)
    assert "Pulsa" in page.get_by_test_id("status").inner_text()
    page.get_by_test_id("talk").click()
    try:
        final = '[data-role="user"]:not([data-interim])'  # the turn's transcript, not the words heard so far
        page.wait_for_selector(final, timeout=45_000)
        heard = plain(page.locator(final).first.inner_text())
        assert "informacion" in heard and "precios" in heard, heard
        # The answer comes from the sample centre's price list (its clauses join into one line).
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-role=assistant]')]"
            ".some((line) => line.textContent.includes('pesos dominicanos'))",
            timeout=20_000,
        )
        # The reply reached the page as sound: WebAudio measured real energy in the received track.
        page.wait_for_function("() => window.tainaAudio.loudFrames >= 5", timeout=20_000)
        assert page.evaluate("window.tainaAudio.peakRms") > 0.02
    except Exception:
        print(server.logs())
        raise
    page.get_by_test_id("talk").click()
    assert page.get_by_test_id("talk").get_attribute("aria-pressed") == "false"


OVER_QUESTION = "Buenos días, necesito información sobre los precios de las consultas."
INTERRUPTION = "Espere, mejor quiero una cita con la pediatra."


def test_talking_over_the_assistant_stops_its_reply(
    chromium: str, server_with_documents: Server, tmp_path: Path
) -> None:
    """The fake microphone asks, and while the answer plays, talks over it: the reply stops and the
    interruption is answered as the next turn."""
    import numpy as np

    from adapters.wavfile import write_wav
    from tests.support.speech import silence, speech

    server = server_with_documents
    rate = 22_050
    audio = np.concatenate([silence(0.5, rate), speech(OVER_QUESTION, rate), silence(2.2, rate),
                            speech(INTERRUPTION, rate), silence(8.0, rate)])  # fmt: skip
    microphone = tmp_path / "over.wav"
    write_wav(microphone, audio, rate)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=chromium_flags(microphone))
        try:
            page = open_page(browser, server)
            page.get_by_test_id("talk").click()
            page.wait_for_function("() => window.tainaInterruptions >= 1", timeout=60_000)
            stopped_at = page.evaluate("window.tainaInterruptedAt")
            # The reply's line is marked as interrupted, and the interruption becomes the next turn.
            page.wait_for_selector('[data-role="assistant"][data-interrupted="true"]', timeout=5_000)
            page.wait_for_function(
                "() => document.querySelectorAll('[data-role=assistant]').length >= 2", timeout=45_000
            )
            # The reply went quiet at once: nothing loud from shortly after the interruption until the caller
            # had finished and the next answer began.
            loud = page.evaluate("window.tainaAudio.loudAt")
            heard_before = [t for t in loud if t < stopped_at]
            heard_after = [t for t in loud if stopped_at + 300 < t < stopped_at + 1_200]
            assert heard_before, "the first reply was heard before the interruption"
            assert heard_after == [], heard_after
        except Exception:
            print(server.logs())
            raise
        finally:
            browser.close()
    logs = server.logs()
    assert '"turn.barge_in"' in logs and '"turn.interrupted"' in logs


def test_a_killed_engine_keeps_the_recording_up_to_the_kill(
    chromium: str, data_dir: Path, tmp_path: Path, database_url: str
) -> None:
    """SIGKILL during a browser call; on restart the spooled recording is stored and listed with its call."""
    import signal

    import httpx

    env = {"DATABASE_URL": database_url}
    server = start_server(data_dir, env)
    microphone = speech_wav(tmp_path / "question.wav", QUESTION, tail_s=6.0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            page = open_page(browser, server)
            page.get_by_test_id("talk").click()
            clicked = time.monotonic()
            page.wait_for_selector('[data-role="assistant"]', timeout=45_000)  # a whole turn, then more audio
            time.sleep(1.5)
            lasted = time.monotonic() - clicked
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)
            browser.close()
    except Exception:
        print(server.logs())
        raise
    spools = list((data_dir / "recordings").glob("*.pcm"))
    assert len(spools) == 1, "the call's spool is on disk after the kill"
    conversation_id = spools[0].stem

    create_account(data_dir, "jefa@clinica.do", env=env)
    restarted = start_server(data_dir, env)
    try:
        assert (data_dir / "objects" / "recordings" / f"{conversation_id}.ogg").is_file()
        assert list((data_dir / "recordings").glob("*.pcm")) == []
        assert '"recording.recovered"' in restarted.logs()
        login = httpx.post(f"{restarted.url}/api/auth/login",
                           json={"email": "jefa@clinica.do", "password": ACCOUNT_PASSWORD})  # fmt: skip
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        calls = httpx.get(f"{restarted.url}/api/conversations", headers=headers).json()["conversations"]
        (call,) = [c for c in calls if c["id"] == conversation_id]
        # Everything up to the kill, less the connection's set-up and the last instants not yet written.
        assert call["recording_seconds"] >= lasted - 2.5, (call, lasted)
        audio = httpx.get(f"{restarted.url}/api/conversations/{conversation_id}/recording", headers=headers)
        assert audio.status_code == 200 and audio.content[:4] == b"OggS"
    except Exception:
        print(restarted.logs())
        raise
    finally:
        stop_server(restarted)


def test_refused_microphone_is_explained(chromium: str, server: Server) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--disable-gpu", "--no-first-run"]
        )
        try:
            context = browser.new_context()  # no fake media UI: the permission prompt is denied
            page = context.new_page()
            page.goto(f"{server.url}/")
            page.get_by_test_id("talk").click()
            error = page.get_by_role("alert")
            error.wait_for(state="visible", timeout=10_000)
            assert "micrófono" in error.inner_text()
        finally:
            browser.close()


def test_the_page_says_it_listens_only_once_audio_flows_both_ways(browser: Browser, server: Server) -> None:
    page = browser.new_context().new_page()
    page.add_init_script(WATCH_STATUS)
    page.goto(f"{server.url}/?raw=1")
    # The page fills in its mode once it has asked the server (GET /api/voice/modes): wait for that first.
    page.wait_for_function("() => document.querySelector('[data-testid=mode]').dataset.mode", timeout=10_000)
    assert page.get_by_test_id("mode").inner_text().startswith("Conexión directa")
    page.get_by_test_id("talk").click()
    try:
        page.wait_for_function(
            "() => window.testAtListening !== null && window.testAtListening.at > 0", timeout=20_000
        )
    except Exception:
        print(server.logs())
        raise
    seen = page.evaluate("window.testAtListening")
    statuses = [s["text"] for s in page.evaluate("window.testStatuses")]
    # When the page first said "Te escucho", the connection was up and audio had gone both ways already.
    assert seen["states"] == ["connected"], seen
    assert seen["sent"] > 0 and seen["received"] > 0, seen
    assert "Conectando…" in statuses and statuses.index("Conectando…") < next(
        i for i, text in enumerate(statuses) if "Te escucho" in text
    ), statuses
    assert page.get_by_role("alert").is_hidden()
    page.get_by_test_id("talk").click()


def screened(sdp: str, port: int) -> str:
    """``sdp`` with every UDP ICE candidate moved to 127.0.0.1:``port`` (where the test reads and never answers)
    and the others dropped: the connectivity checks of that side land nowhere, as behind a firewall that drops
    UDP."""
    kept = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            if fields[2].lower() != "udp":
                continue
            fields[4], fields[5] = "127.0.0.1", str(port)
            line = " ".join(fields)
        kept.append(line)
    return "\r\n".join(kept)


def udp_hole() -> socket.socket:
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    hole.setblocking(False)
    return hole


def datagrams(hole: socket.socket) -> int:
    count = 0
    while True:
        try:
            hole.recv(2048)
        except BlockingIOError:
            return count
        count += 1


CONNECT_LIMIT_S = 8  # taina/web/flow.js CONNECT_LIMIT_MS


def test_the_page_says_so_when_ice_never_connects(browser: Browser, server: Server) -> None:
    """Both sides' ICE candidates are screened (rewritten on the way to the engine and back to a UDP port that
    never answers): the page must not say it is listening, and must say what to check within the bound."""
    engine_checks, browser_checks = udp_hole(), udp_hole()  # where each side's connectivity checks go

    def screen(route: Route) -> None:
        offer = json.loads(route.request.post_data or "{}")
        offer["sdp"] = screened(offer["sdp"], engine_checks.getsockname()[1])
        response = route.fetch(post_data=json.dumps(offer))
        answer = response.json()
        if response.ok:
            answer["sdp"] = screened(answer["sdp"], browser_checks.getsockname()[1])
        route.fulfill(response=response, json=answer)

    page = browser.new_context().new_page()
    page.add_init_script(WATCH_STATUS)
    page.route("**/api/rtc/offer", screen)
    page.goto(f"{server.url}/?raw=1")
    try:
        clicked = time.monotonic()
        page.get_by_test_id("talk").click()
        alert = page.get_by_role("alert")
        alert.wait_for(state="visible", timeout=(CONNECT_LIMIT_S + 7) * 1000)
        took = time.monotonic() - clicked
        said = alert.inner_text()
        statuses = page.evaluate("window.testStatuses")
    finally:
        sent_by_engine, sent_by_browser = datagrams(engine_checks), datagrams(browser_checks)
        engine_checks.close()
        browser_checks.close()
    print(f"failure shown {took:.1f} s after the click")
    assert took < CONNECT_LIMIT_S + 5, took  # the bound, and the signalling before it on a busy machine
    assert "No se pudo establecer la conexión de audio" in said, said
    for check in ("UDP", "TURN", "micrófono"):
        assert check in said, said
    assert [s for s in statuses if "Te escucho" in s["text"]] == [], statuses
    assert page.get_by_test_id("status").get_attribute("data-state") == "no_audio"
    assert page.get_by_test_id("talk").get_attribute("aria-pressed") == "false"
    # ICE really was tried, both ways, and went nowhere.
    assert sent_by_engine > 0 and sent_by_browser > 0, (sent_by_engine, sent_by_browser)


def test_a_server_that_is_gone_is_explained(browser: Browser, server: Server) -> None:
    page = open_page(browser, server)
    server.process.kill()
    server.process.wait(timeout=10)
    page.get_by_test_id("talk").click()
    error = page.get_by_role("alert")
    error.wait_for(state="visible", timeout=15_000)
    assert "No se pudo conectar con el asistente" in error.inner_text()
    assert page.get_by_test_id("talk").get_attribute("aria-pressed") == "false"


# (Deepgram fault, ElevenLabs fault) for each turn of one call: every turn must be answered.
CLOUD_TURNS = [
    ("", ""), ("close_mid_utterance", ""), ("stall", ""), ("malformed", ""), ("refuse", ""),
    ("", "close_mid_sentence"), ("", "stall"), ("", "malformed"), ("", "odd_audio"), ("", "refuse"), ("", ""),
]  # fmt: skip


THANKS = "Gracias, muy amable."


@pytest.mark.timeout(900)  # eleven turns of a real-time call, each allowed 45 s: more than the default 300 s
def test_a_call_on_the_cloud_providers_survives_their_faults(
    chromium: str, data_dir: Path, tmp_path: Path
) -> None:
    from tests.support.cloud_fakes import Fakes

    fakes = Fakes()
    # The turns Deepgram cannot finish fall over to Whisper, which hears the espeak voice through Opus; "muy amable"
    # survives the onset it sometimes clips ("Muchas gracias" then came out as "Chaslas y hasta la humor").
    fakes.reset(THANKS)
    server = start_server(data_dir, fakes.env())
    microphone = speech_wav(tmp_path / "gracias.wav", THANKS, tail_s=4.0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            page = open_page(browser, server)
            page.get_by_test_id("talk").click()
            answers = page.locator('[data-role="assistant"]')
            for turn, (deepgram_fault, elevenlabs_fault) in enumerate(CLOUD_TURNS, 1):
                fakes.reset(THANKS, deepgram_fault, elevenlabs_fault)
                # Each reply is two sentences, joined into one line as they come.
                page.wait_for_function("() => [...document.querySelectorAll('[data-role=assistant]')]"
                                       f".filter((line) => line.textContent.includes('algo más')).length >= {turn}",
                                       timeout=45_000)  # fmt: skip
                said = answers.nth(turn - 1).inner_text()
                assert said == "¡Con mucho gusto! ¿Le ayudo con algo más?", (turn, said)
            page.wait_for_function("() => window.tainaAudio.loudFrames >= 5", timeout=20_000)
            assert page.evaluate("window.tainaInterims || 0") > 0  # Deepgram's interim transcripts were shown
            users = page.locator('[data-role="user"]:not([data-interim])')
            assert users.count() >= len(CLOUD_TURNS)
            browser.close()
        logs = server.logs()
        assert '"stt.failover"' in logs and '"tts.failover"' in logs
        import httpx

        metrics = ""
        for _ in range(60):  # the last turn is counted once its audio has all left, a moment after the page
            metrics = httpx.get(f"{server.url}/metrics").text
            if f'taina_turn_stage_seconds_count{{stage="first_audio"}} {len(CLOUD_TURNS)}' in metrics:
                break
            time.sleep(0.25)
        counts = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                  for line in metrics.splitlines() if line.startswith("taina_provider_failovers_total{")}  # fmt: skip
        assert counts['port="speech_to_text",provider="deepgram"'] >= 1
        assert counts['port="text_to_speech",provider="elevenlabs"'] >= 1
        # Every turn's waterfall is in the histograms, and the event loop is watched.
        first_audio = [line for line in metrics.splitlines()
                       if line.startswith('taina_turn_stage_seconds_count{stage="first_audio"}')]  # fmt: skip
        assert first_audio and float(first_audio[0].rsplit(" ", 1)[1]) >= len(CLOUD_TURNS)
        assert "taina_event_loop_lag_seconds " in metrics
        assert fakes.deepgram.violations == [] and fakes.elevenlabs.violations == []
    except Exception:
        print(server.logs())
        raise
    finally:
        stop_server(server)
        fakes.close()
