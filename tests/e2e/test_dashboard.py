"""The dashboard in headless Chromium: log in, upload a document and find it with the search box, open the
conversation a voice call made in this same test and play its recording, cancel an appointment; a viewer
sees no delete buttons and the API refuses the calls anyway."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.browser import QUESTION, chromium_flags
from tests.support.servers import start_server, stop_server
from tests.support.speech import speech_wav

pytestmark = pytest.mark.browser
PASSWORD = ACCOUNT_PASSWORD
HOURS = """# Horario de los domingos

El Centro Médico Taínos permanece cerrado los domingos y los días feriados.
"""


def log_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/admin")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login").click()
    page.wait_for_selector("#app:not([hidden])", timeout=15_000)


def test_the_dashboard_end_to_end(chromium: str, data_dir: Path, tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "TAINA_NOW": "2026-11-25T09:00:00"}
    create_account(data_dir, "jefa@clinica.do", "admin", env)
    create_account(data_dir, "lectura@clinica.do", "viewer", env)
    server = start_server(data_dir, env)
    microphone = speech_wav(tmp_path / "question.wav", QUESTION, tail_s=4.0)
    document = tmp_path / "domingos.md"
    document.write_text(HOURS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            # A voice call first: it becomes a conversation with a recording when it hangs up.
            call = browser.new_context().new_page()
            call.goto(f"{server.url}/?raw=1")
            call.get_by_test_id("talk").click()
            call.wait_for_selector('[data-role="assistant"]', timeout=45_000)
            time.sleep(1.0)
            call.get_by_test_id("talk").click()  # hang up
            call.close()

            page = browser.new_context().new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            log_in(page, server.url, "jefa@clinica.do")

            # Documents: upload, see it listed, find it with the search box.
            page.get_by_test_id("files").set_input_files(str(document))
            page.wait_for_selector("#upload-results li.status-ready", timeout=60_000)
            page.wait_for_selector("#documents tr:has-text('Horario de los domingos')", timeout=10_000)
            page.get_by_test_id("search").fill("¿Abren los domingos?")
            page.get_by_role("button", name="Buscar").click()
            page.wait_for_selector("#passages li:has-text('cerrado los domingos')", timeout=15_000)

            # Conversations: the call is listed; its recording loads with the call's length.
            page.get_by_role("button", name="Conversaciones").click()
            for _ in range(40):  # the call's recording is stored a moment after it hangs up
                rows = page.locator("#conversations tr")
                if rows.count():
                    break
                time.sleep(0.5)
                page.get_by_role("button", name="Conversaciones").click()
            page.locator("#conversations tr").first.click()
            page.wait_for_function(
                "() => { const a = document.querySelector('#recording'); return a.readyState >= 1 && isFinite(a.duration) && a.duration > 0 }",
                timeout=15_000,
            )
            duration = page.evaluate("document.querySelector('#recording').duration")
            expected = float(page.evaluate("document.querySelector('#recording').dataset.seconds"))
            assert abs(duration - expected) < 0.5, (duration, expected)
            assert page.locator("#turns li").count() >= 1
            assert page.locator("#turns .waterfall span").count() >= 3

            # Appointments: one booked through the API, cancelled from the page.
            token = httpx.post(f"{server.url}/api/auth/login",
                               json={"email": "jefa@clinica.do", "password": PASSWORD}).json()["access_token"]  # fmt: skip
            auth = {"Authorization": f"Bearer {token}"}
            catalogue = httpx.get(f"{server.url}/api/appointments/catalogue", headers=auth).json()
            slots = httpx.get(f"{server.url}/api/appointments/slots", headers=auth,
                              params={"service_id": catalogue["services"][0]["id"], "date": "2026-11-26"}).json()  # fmt: skip
            booking = {**slots["slots"][0], "patient_name": "Ana Pérez", "patient_phone": "8095551234"}
            made = httpx.post(f"{server.url}/api/appointments", json=booking,
                              headers={**auth, "Idempotency-Key": "dashboard-test-1"})  # fmt: skip
            assert made.status_code == 201, made.text
            page.get_by_role("button", name="Citas").click()
            row = page.locator("#appointments tr:has-text('Ana Pérez')")
            row.wait_for(timeout=10_000)
            row.get_by_role("button", name="Cancelar").click()
            row.wait_for(state="detached", timeout=10_000)
            assert (
                httpx.get(f"{server.url}/api/appointments/{made.json()['id']}", headers=auth).json()["status"]
                == "cancelled"
            )

            # Settings: a change is applied and shown; a bad value is refused with its reason.
            page.get_by_role("button", name="Ajustes").click()
            rate = page.locator("[name=TAINA_ESPEAK_RATE]")
            rate.wait_for(timeout=10_000)
            rate.fill("180")
            page.get_by_role("button", name="Guardar").click()
            page.wait_for_function("() => document.querySelector('[name=TAINA_ESPEAK_RATE]')?.dataset.original === '180'",
                                   timeout=10_000)  # fmt: skip
            page.locator("[name=TAINA_ENDPOINT_SILENCE_MS]").fill("5")
            page.get_by_role("button", name="Guardar").click()
            page.wait_for_selector(
                "#problem:not([hidden]):has-text('TAINA_ENDPOINT_SILENCE_MS')", timeout=10_000
            )

            # A viewer: no delete buttons, no users tab, and the API says no anyway.
            viewer = browser.new_context().new_page()
            log_in(viewer, server.url, "lectura@clinica.do")
            viewer.wait_for_selector("#documents tr:has-text('Horario de los domingos')", timeout=10_000)
            assert viewer.locator("#documents button:has-text('Eliminar')").count() == 0
            assert viewer.locator("#files").is_hidden()
            assert viewer.get_by_role("button", name="Usuarios").is_hidden()
            viewer_token = httpx.post(f"{server.url}/api/auth/login",
                                      json={"email": "lectura@clinica.do", "password": PASSWORD}).json()["access_token"]  # fmt: skip
            documents = httpx.get(
                f"{server.url}/api/documents", headers={"Authorization": f"Bearer {viewer_token}"}
            )
            document_id = documents.json()["documents"][0]["id"]
            refused = httpx.delete(f"{server.url}/api/documents/{document_id}",
                                   headers={"Authorization": f"Bearer {viewer_token}"})  # fmt: skip
            assert refused.status_code == 403
            browser.close()
    except Exception:
        print(server.logs()[-5000:])
        raise
    finally:
        stop_server(server)
