"""The dashboard in headless Chromium, as a clinic's manager uses it. First every page empty, each saying what
to do next; then a voice call made in this same test, a document uploaded and found, an appointment booked and
cancelled, a real backup taken: the overview's charts, the call's page with its recording, usage, accounts,
and the settings form (a switch, a list, a slider) changed and refused with the reason beside the field. A
viewer sees no delete buttons and the API refuses the calls anyway.

Each page is photographed (PNG) into the test's folder and into /tmp/shots-dashboard/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.browser import QUESTION, chromium_flags
from tests.support.servers import REPO, Server, start_server, stop_server
from tests.support.speech import speech_wav

pytestmark = pytest.mark.browser
PASSWORD = ACCOUNT_PASSWORD
HOURS = """# Horario de los domingos

El Centro Médico Taínos permanece cerrado los domingos y los días feriados.
"""
LOOKED_AT = Path("/tmp/shots-dashboard")  # copies kept for a person to look at


class Camera:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        LOOKED_AT.mkdir(parents=True, exist_ok=True)

    def shoot(self, page: Page, name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of a full-page picture
        page.wait_for_timeout(150)  # the last paint
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, f"{name}: the screenshot is nearly empty"
        shutil.copy(path, LOOKED_AT / path.name)


def log_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/admin")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login").click()
    page.wait_for_selector("#app:not([hidden])", timeout=15_000)


def tab(page: Page, name: str) -> None:
    page.locator("#tabs").get_by_role("button", name=name, exact=True).click()


def token(server: Server, email: str) -> dict[str, str]:
    login = httpx.post(f"{server.url}/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def empty_pages(page: Page, camera: Camera) -> None:
    """Before any call, document or appointment: each page says what to do next instead of bare headers."""
    page.wait_for_selector("#overview-cards .card", timeout=15_000)  # the landing page
    assert page.locator("#overview-cards .card-value").first.inner_text() == "0"
    page.wait_for_selector("#calls-chart .chart-empty:has-text('Aún no hay llamadas')")
    assert "primera respuesta" in page.locator("#latency-chart").inner_text()
    assert "todo corre en esta máquina" in page.locator("#cost-chart").inner_text()
    backup = page.get_by_test_id("backup-state")
    assert (
        "Aún no hay copias de seguridad" in backup.inner_text()
        and "taina backup create" in backup.inner_text()
    )
    health = page.get_by_test_id("providers-health").inner_text()
    assert "whisper (local, sin coste)" in health and "Base de datos: responde" in health, health
    camera.shoot(page, "overview-empty")

    for name, empty, words in (
        ("Conversaciones", "conversations-empty", "Haz la primera llamada"),
        ("Documentos", "documents-empty", "Subir documentos"),
        ("Citas", "appointments-empty", "No hay citas próximas"),
        ("Uso y coste", "usage-empty", "Aún no hay uso registrado"),
    ):
        tab(page, name)
        box = page.get_by_test_id(empty)
        box.wait_for(state="visible", timeout=10_000)
        assert words in box.inner_text()
        assert page.locator(f"#{empty.removesuffix('-empty')}-table").is_hidden(), (
            f"{name}: bare table headers"
        )
        camera.shoot(page, f"{empty.removesuffix('-empty')}-empty")


def make_a_call(browser: object, server: Server) -> None:
    call = browser.new_context().new_page()  # type: ignore[attr-defined]
    call.goto(f"{server.url}/?raw=1")
    call.get_by_test_id("talk").click()
    call.wait_for_selector('[data-role="assistant"]', timeout=45_000)
    time.sleep(1.0)
    call.get_by_test_id("talk").click()  # hang up
    call.close()


def take_a_backup(server: Server, data_dir: Path, env: dict[str, str]) -> None:
    """`taina backup create` while the server runs, as an operator would."""
    made = subprocess.run(
        [sys.executable, "-m", "taina.cli", "backup", "create", "--json"], cwd=REPO, capture_output=True,
        text=True, timeout=300, env={**os.environ, "TAINA_DATA_DIR": str(data_dir), **env},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr


def test_the_dashboard_end_to_end(chromium: str, data_dir: Path, tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "TAINA_NOW": "2026-11-25T09:00:00"}
    create_account(data_dir, "jefa@clinica.do", "admin", env)
    create_account(data_dir, "lectura@clinica.do", "viewer", env)
    server = start_server(data_dir, env)
    microphone = speech_wav(tmp_path / "question.wav", QUESTION, tail_s=4.0)
    document = tmp_path / "domingos.md"
    document.write_text(HOURS)
    camera = Camera(tmp_path / "screenshots")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, headless=True, args=chromium_flags(microphone)
            )
            page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-DO").new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            script_errors: list[str] = []
            page.on("pageerror", lambda exc: script_errors.append(str(exc)))
            page.on("console", lambda m: script_errors.append(m.text) if m.type == "error" else None)
            log_in(page, server.url, "jefa@clinica.do")
            try:
                empty_pages(page, camera)
            finally:
                print("script errors:", script_errors, "problem:", page.locator("#problem").inner_text())

            # A voice call: it becomes a conversation with a recording when it hangs up. And a backup.
            make_a_call(browser, server)
            take_a_backup(server, data_dir, env)

            # Documents: upload, see it listed, find it with the search box.
            tab(page, "Documentos")
            page.get_by_test_id("files").set_input_files(str(document))
            page.wait_for_selector("#upload-results li.status-ready", timeout=60_000)
            page.wait_for_selector("#documents tr:has-text('Horario de los domingos')", timeout=10_000)
            assert page.get_by_test_id("documents-empty").is_hidden()
            page.get_by_test_id("search").fill("¿Abren los domingos?")
            page.get_by_role("button", name="Buscar").click()
            page.wait_for_selector("#passages li:has-text('cerrado los domingos')", timeout=15_000)
            camera.shoot(page, "documents")

            # Conversations: the call is listed; its page plays the recording with the call's length.
            for _ in range(40):  # the call's recording is stored a moment after it hangs up
                tab(page, "Conversaciones")
                page.wait_for_timeout(300)
                if page.locator("#conversations tr").count():
                    break
                time.sleep(0.5)
            assert page.get_by_test_id("conversations-empty").is_hidden()
            camera.shoot(page, "conversations")
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
            page.wait_for_selector(
                "#call-cost:has-text('Coste: 0 (todo corre en esta máquina)')", timeout=10_000
            )
            camera.shoot(page, "call")

            # The overview with data: the call counted and charted, the latency plotted, the backup shown.
            tab(page, "Resumen")
            page.wait_for_selector("#calls-chart svg rect.bar", timeout=10_000)
            assert page.locator("#overview-cards .card-value").first.inner_text() == "1"
            assert page.locator("#latency-chart svg circle.dot").count() >= 1
            assert page.locator("#latency-chart svg .reference").count() == 1  # the week's p95
            backup = page.get_by_test_id("backup-state").inner_text()
            assert "correcta" in backup and "Hay 1 copia en el destino" in backup, backup
            camera.shoot(page, "overview")
            page.set_viewport_size({"width": 390, "height": 844})  # a phone: the charts drawn at its width
            tab(page, "Resumen")
            page.wait_for_selector("#calls-chart svg rect.bar", timeout=10_000)
            width = page.evaluate("document.querySelector('#calls-chart svg').getBoundingClientRect().right")
            assert width <= 390, f"the chart runs off a phone's screen ({width} px)"
            wide = page.evaluate("document.documentElement.scrollWidth")
            offenders = page.evaluate(
                "[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391)"
                ".slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className)"
            )
            assert wide <= 390, f"the page is {wide} px wide on a 390 px phone: {offenders}"
            camera.shoot(page, "overview-phone")
            page.set_viewport_size({"width": 1280, "height": 900})

            # Appointments: one booked through the API, shown, cancelled from the page.
            admin = token(server, "jefa@clinica.do")
            catalogue = httpx.get(f"{server.url}/api/appointments/catalogue", headers=admin).json()
            slots = httpx.get(f"{server.url}/api/appointments/slots", headers=admin,
                              params={"service_id": catalogue["services"][0]["id"], "date": "2026-11-26"}).json()  # fmt: skip
            booking = {**slots["slots"][0], "patient_name": "Ana Pérez", "patient_phone": "8095551234"}
            made = httpx.post(f"{server.url}/api/appointments", json=booking,
                              headers={**admin, "Idempotency-Key": "dashboard-test-1"})  # fmt: skip
            assert made.status_code == 201, made.text
            tab(page, "Citas")
            row = page.locator("#appointments tr:has-text('Ana Pérez')")
            row.wait_for(timeout=10_000)
            camera.shoot(page, "appointments")
            row.get_by_role("button", name="Cancelar").click()
            row.wait_for(state="detached", timeout=10_000)
            page.get_by_test_id("appointments-empty").wait_for(state="visible", timeout=10_000)
            assert (
                httpx.get(f"{server.url}/api/appointments/{made.json()['id']}", headers=admin).json()[
                    "status"
                ]
                == "cancelled"
            )

            # Usage: today's row with the call's audio, at no cost on the embedded default.
            tab(page, "Uso y coste")
            page.wait_for_selector("#usage tr", timeout=10_000)
            assert "0 (local)" in page.locator("#usage tr").first.inner_text()
            assert "corren en esta máquina" in page.locator("#usage-note").inner_text()
            assert (
                "Deepgram, por minuto de audio reconocido: 0.0048 USD"
                in page.locator("#price-list").inner_text()
            )
            camera.shoot(page, "usage")

            # Accounts: both listed; a refused password is explained in Spanish beside the form.
            tab(page, "Usuarios")
            page.wait_for_selector("#users tr:has-text('lectura@clinica.do')", timeout=10_000)
            form = page.locator("#user-form")
            form.locator("[name=email]").fill("recepcion@clinica.do")
            form.locator("[name=password]").fill("aaaaaaaaaaaa")
            form.get_by_role("button", name="Crear cuenta").click()
            page.wait_for_selector(
                "#user-form-error:not([hidden]):has-text('La contraseña no sirve')", timeout=10_000
            )
            camera.shoot(page, "accounts")

            settings_page(page, server, camera)
            viewer_cannot_delete(browser, server)
            browser.close()
    except Exception:
        print(server.logs()[-5000:])
        raise
    finally:
        stop_server(server)


def settings_page(page: Page, server: Server, camera: Camera) -> None:
    """A switch, a list and a slider change settings; a bad value is stopped in the page, and one only the
    server can judge comes back with its reason under the field."""
    admin = token(server, "jefa@clinica.do")
    tab(page, "Ajustes")
    page.wait_for_selector("#settings-form fieldset", timeout=10_000)
    assert page.locator("#settings-form legend").all_inner_texts() == [
        "Asistente",
        "Voz",
        "Turnos de palabra",
        "Precios",
    ]
    # No yes/no or choice as free text: a switch, a list, a slider with its number box and unit.
    free_text_booleans = page.evaluate(
        "[...document.querySelectorAll('#settings-form input[type=text], #settings-form input:not([type])')]"
        ".filter((i) => /^(true|false)$/i.test(i.value)).length"
    )
    assert free_text_booleans == 0
    interruptible = page.locator("[name=TAINA_TURN_INTERRUPTIBLE]")
    assert interruptible.get_attribute("role") == "switch" and interruptible.is_checked()
    model = page.locator("select[name=TAINA_DIALOGUE_LANGUAGE_MODEL]")
    assert model.locator("option").all_inner_texts() == ["Automático", "Política local (sin coste)", "OpenAI"]
    slider = page.locator("input[type=range][data-for=TAINA_ESPEAK_RATE]")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("80", "450")
    rate_row = page.locator("[data-setting=TAINA_ESPEAK_RATE]")
    assert "palabras/min" in rate_row.inner_text()
    camera.shoot(page, "settings")

    interruptible.click()
    model.select_option("policy")
    slider.fill("180")
    assert page.locator("[name=TAINA_ESPEAK_RATE]").input_value() == "180"  # the box follows the slider
    page.get_by_role("button", name="Guardar cambios").click()
    page.wait_for_selector("#settings-status:has-text('Guardado')", timeout=10_000)
    page.wait_for_selector("#settings-form .badge", timeout=10_000)
    stored = {s["name"]: s for s in httpx.get(f"{server.url}/api/settings", headers=admin).json()["settings"]}
    assert stored["TAINA_TURN_INTERRUPTIBLE"]["value"] == "false"
    assert stored["TAINA_DIALOGUE_LANGUAGE_MODEL"]["value"] == "policy"
    assert stored["TAINA_ESPEAK_RATE"]["value"] == "180"
    assert not page.locator("[name=TAINA_TURN_INTERRUPTIBLE]").is_checked()
    assert page.locator("#settings-form .badge").count() == 3

    # Out of bounds: stopped in the page, nothing sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "PUT" else None)
    page.locator("[name=TAINA_ENDPOINT_SILENCE_MS]").fill("5")
    page.get_by_role("button", name="Guardar cambios").click()
    page.wait_for_selector(
        "#error-TAINA_ENDPOINT_SILENCE_MS:not([hidden]):has-text('Debe estar entre 100 y 5000 ms.')"
    )
    assert sent == []
    page.locator("[name=TAINA_ENDPOINT_SILENCE_MS]").fill(stored["TAINA_ENDPOINT_SILENCE_MS"]["value"])

    # Within its own bounds but against the other silences: only the server knows; its reason, beside it.
    page.locator("[name=TAINA_ENDPOINT_SILENCE_COMPLETE_MS]").fill("4000")
    page.get_by_role("button", name="Guardar cambios").click()
    error = page.locator("#error-TAINA_ENDPOINT_SILENCE_COMPLETE_MS")
    error.wait_for(state="visible", timeout=10_000)
    assert "como mucho «Silencio que cierra el turno»" in error.inner_text(), error.inner_text()
    assert len(sent) == 1  # this one went to the server
    assert page.locator("#problem").is_hidden()
    camera.shoot(page, "settings-refused")

    # Back to the default, from the page.
    page.locator("[data-setting=TAINA_TURN_INTERRUPTIBLE]").get_by_role(
        "button", name="Volver al predeterminado"
    ).click()
    page.wait_for_function("() => document.querySelector('[name=TAINA_TURN_INTERRUPTIBLE]')?.checked === true",
                           timeout=10_000)  # fmt: skip


def viewer_cannot_delete(browser: object, server: Server) -> None:
    viewer = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(viewer, server.url, "lectura@clinica.do")
    viewer.wait_for_selector("#overview-cards .card", timeout=10_000)
    assert viewer.get_by_role("button", name="Usuarios").is_hidden()
    assert viewer.get_by_role("button", name="Ajustes").is_hidden()
    tab(viewer, "Documentos")
    viewer.wait_for_selector("#documents tr:has-text('Horario de los domingos')", timeout=10_000)
    assert viewer.locator("#documents button:has-text('Eliminar')").count() == 0
    assert viewer.locator("#files").is_hidden()
    headers = token(server, "lectura@clinica.do")
    document_id = httpx.get(f"{server.url}/api/documents", headers=headers).json()["documents"][0]["id"]
    refused = httpx.delete(f"{server.url}/api/documents/{document_id}", headers=headers)
    assert refused.status_code == 403
