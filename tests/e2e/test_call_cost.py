"""A real voice call's usage, end to end: the call is made in headless Chromium over WebRTC, its turns keep what
speech-to-text and text-to-speech used, and the call's page in the dashboard shows it, at no cost on the embedded
default."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.test_dashboard import log_in
from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.browser import QUESTION, chromium_flags
from tests.support.servers import start_server, stop_server
from tests.support.speech import speech_wav

pytestmark = pytest.mark.browser


def test_a_calls_page_shows_its_usage_and_cost(
    chromium: str, data_dir: Path, tmp_path: Path, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "TAINA_NOW": "2026-11-25T09:00:00"}
    create_account(data_dir, "jefa@clinica.do", "admin", env)
    server = start_server(data_dir, env)
    microphone = speech_wav(tmp_path / "question.wav", QUESTION, tail_s=4.0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            call = browser.new_context().new_page()
            call.goto(f"{server.url}/?raw=1")
            call.get_by_test_id("talk").click()
            call.wait_for_selector('[data-role="assistant"]', timeout=45_000)
            time.sleep(1.0)
            call.get_by_test_id("talk").click()  # hang up
            call.close()

            page = browser.new_context().new_page()
            log_in(page, server.url, "jefa@clinica.do")
            page.get_by_role("button", name="Conversaciones").click()
            for _ in range(40):
                if page.locator("#conversations tr").count():
                    break
                time.sleep(0.25)
                page.get_by_role("button", name="Conversaciones").click()
            page.locator("#conversations tr").first.click()
            page.wait_for_selector("#call-cost:has-text('Coste')", timeout=15_000)
            shown = page.get_by_test_id("call-cost").inner_text()
            browser.close()
        assert shown.startswith("Coste: 0 (todo corre en esta máquina)")
        seconds = float(re.search(r"whisper: ([\d.]+) s de audio", shown).group(1))  # type: ignore[union-attr]
        characters = int(re.search(r"espeak-ng: (\d+) caracteres", shown).group(1))  # type: ignore[union-attr]
        assert 1.0 < seconds < 10.0 and characters > 20  # the question's audio; the answer's characters
        login = httpx.post(
            f"{server.url}/api/auth/login", json={"email": "jefa@clinica.do", "password": ACCOUNT_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        (today,) = httpx.get(f"{server.url}/api/usage", headers=headers).json()
        assert today["calls"] == 1 and today["cost"]["total"] == 0
        assert today["usage"]["speech_to_text"]["whisper"] == pytest.approx(seconds, abs=0.01)
    finally:
        stop_server(server)
