"""Accounts and access: login, refresh, logout, roles on the API, and tokens that must be refused, over real
HTTP against the embedded PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import httpx
import jwt
import numpy as np
import pytest
from fastapi import FastAPI

from adapters.accounts_db import Accounts
from adapters.conversation_journal import Conversations, PostgresJournal
from adapters.file_store import FileStore
from adapters.recordings import Recordings
from engine.ports.records import TurnEntry
from taina.auth import Auth, AuthSettings, RateLimiter, Tokens, hash_password
from taina.backend import Backend
from taina.http import deps
from taina.http.admin import router as admin_router
from taina.http.appointments import router as appointments_router
from taina.http.auth import router as auth_router
from taina.http.errors import answer_errors_as_json
from taina.settings import Settings
from tests.support.servers import serving_here

KEY = "k" * 40
PASSWORD = "una-clave-larga-2026"


async def make_user(accounts: Accounts, email: str, role: str) -> None:
    await accounts.create_user(email, hash_password(PASSWORD), role)  # type: ignore[arg-type]


@pytest.fixture
async def api(backend: Backend, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Accounts]]:
    settings = AuthSettings(secret=KEY, login_attempts=3)
    accounts = backend.accounts
    auth = Auth(accounts, Tokens(KEY, settings), settings)
    app = FastAPI()
    answer_errors_as_json(app)
    database = backend.database
    recordings = Recordings(tmp_path / "spool", FileStore(tmp_path / "objects"), database)
    app.state.auth = auth
    app.state.appointments = backend.appointments
    app.state.conversations = Conversations(database)
    app.state.recordings = recordings
    app.dependency_overrides[deps.settings] = lambda: Settings.from_env({})  # no appointments API token
    for router in (auth_router, appointments_router, admin_router):
        app.include_router(router)
    for email, role in (
        ("admin@clinica.do", "admin"),
        ("editor@clinica.do", "editor"),
        ("viewer@clinica.do", "viewer"),
    ):
        await make_user(accounts, email, role)
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client, accounts


async def login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    answer = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    tokens: dict[str, str] = answer.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_refresh_and_logout(api: tuple[httpx.AsyncClient, Accounts]) -> None:
    client, accounts = api
    tokens = await login(client, "Editor@Clinica.do")  # e-mail case does not matter
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "editor@clinica.do" and me.json()["role"] == "editor"
    assert tokens["expires_in"] == 900 and tokens["token_type"] == "bearer"

    renewed = (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    assert "access_token" in renewed
    again = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401  # a refresh token works once

    out = await client.post(
        "/api/auth/logout",
        json={"refresh_token": renewed["refresh_token"]},
        headers=bearer(renewed["access_token"]),
    )
    assert out.status_code == 204
    revoked = await client.post("/api/auth/refresh", json={"refresh_token": renewed["refresh_token"]})
    assert revoked.status_code == 401 and "log in again" in revoked.json()["error"]
    actions = [entry["action"] for entry in await accounts.audit_entries()]
    assert actions[:2] == ["logout", "login"]


async def test_wrong_passwords_are_refused_then_rate_limited(api: tuple[httpx.AsyncClient, Accounts]) -> None:
    client, accounts = api
    for _ in range(3):
        wrong = await client.post(
            "/api/auth/login", json={"email": "viewer@clinica.do", "password": "nope-nope-nope"}
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "wrong e-mail or password"
    limited = await client.post("/api/auth/login", json={"email": "viewer@clinica.do", "password": PASSWORD})
    assert limited.status_code == 429 and "try again" in limited.json()["error"]
    unknown = await client.post("/api/auth/login", json={"email": "nadie@clinica.do", "password": PASSWORD})
    assert unknown.status_code == 429  # the same address is limited too
    entries = await accounts.audit_entries()
    assert sum(e["action"] == "login_failed" for e in entries) == 3


def forged(claims: dict[str, object], header: dict[str, str]) -> str:
    def part(value: dict[str, object] | dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


async def test_bad_tokens_get_401_and_low_roles_403(
    api: tuple[httpx.AsyncClient, Accounts], backend: Backend
) -> None:
    client, _accounts = api
    viewer = (await login(client, "viewer@clinica.do"))["access_token"]
    editor = (await login(client, "editor@clinica.do"))["access_token"]
    now = int(time.time())
    claims = {
        "sub": "x",
        "email": "admin@clinica.do",
        "role": "admin",
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    head, body, signature = editor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "admin"
    tampered = (
        f"{head}.{base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b'=').decode()}.{signature}"
    )
    bad = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {editor}"},
        "garbage": bearer("abc.def.ghi"),
        "alg none": bearer(forged(claims, {"alg": "none", "typ": "JWT"})),
        "tampered": bearer(tampered),
        "other key": bearer(jwt.encode(claims, "x" * 40, algorithm="HS256")),
        "expired": bearer(jwt.encode({**claims, "exp": now - 5}, KEY, algorithm="HS256")),
        "refresh as access": bearer((await login(client, "viewer@clinica.do"))["refresh_token"]),
    }
    for name, headers in bad.items():
        answer = await client.get("/api/appointments/catalogue", headers=headers)
        assert answer.status_code == 401, (name, answer.text)
        assert answer.json()["error"], name

    assert (await client.get("/api/appointments/catalogue", headers=bearer(viewer))).status_code == 200
    catalogue = (await client.get("/api/appointments/catalogue", headers=bearer(viewer))).json()
    service = catalogue["services"][0]["id"]
    slots = await client.get(
        "/api/appointments/slots", params={"service_id": service, "date": date(2026, 11, 26).isoformat()},
        headers=bearer(viewer),
    )  # fmt: skip
    slot = slots.json()["slots"][0]
    booking = {**slot, "patient_name": "Ana Pérez", "patient_phone": "8095551234"}
    refused = await client.post(
        "/api/appointments", json=booking, headers={**bearer(viewer), "Idempotency-Key": "k-123456"}
    )
    assert refused.status_code == 403 and "editor" in refused.json()["error"]
    assert await backend.appointments.find_by_patient("8095551234") == []  # nothing was written
    made = await client.post(
        "/api/appointments", json=booking, headers={**bearer(editor), "Idempotency-Key": "k-123456"}
    )
    assert made.status_code == 201, made.text
    upcoming = await client.get(
        "/api/appointments/upcoming", params={"site_id": slot["site_id"]}, headers=bearer(viewer)
    )
    assert [a["id"] for a in upcoming.json()["appointments"]] == [made.json()["id"]]
    cancel = await client.delete(f"/api/appointments/{made.json()['id']}", headers=bearer(viewer))
    assert cancel.status_code == 403
    assert len(await backend.appointments.find_by_patient("8095551234")) == 1


def test_the_rate_limiter_forgets_after_its_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window_s=60, clock=lambda: now[0])
    limiter.hit("a")
    limiter.hit("a")
    assert limiter.retry_after("a") == pytest.approx(60) and limiter.retry_after("b") == 0
    now[0] = 61
    assert limiter.retry_after("a") == 0


def test_admin_create_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "TAINA_DATA_DIR": str(tmp_path)}

    def create(email: str, password: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "taina.cli", "admin", "create", "--email", email, *extra],
            input=password + "\n", capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    made = create("jefa@clinica.do", PASSWORD, "--password-stdin")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created admin jefa@clinica.do")
    twice = create("Jefa@clinica.do", PASSWORD, "--password-stdin")
    assert twice.returncode == 1 and "already an account" in twice.stderr.strip().splitlines()[-1]
    short = create("otra@clinica.do", "corta", "--password-stdin")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    no_stdin = create("otra@clinica.do", PASSWORD)
    assert no_stdin.returncode == 2 and "--password-stdin" in no_stdin.stderr
    bad_email = create("not-an-email", PASSWORD, "--password-stdin")
    assert bad_email.returncode == 2 and "is not an e-mail address" in bad_email.stderr


async def test_accounts_are_managed_by_admins_only(api: tuple[httpx.AsyncClient, Accounts]) -> None:
    client, accounts = api
    admin = bearer((await login(client, "admin@clinica.do"))["access_token"])
    viewer = bearer((await login(client, "viewer@clinica.do"))["access_token"])
    assert (await client.get("/api/users", headers=viewer)).status_code == 403
    listed = (await client.get("/api/users", headers=admin)).json()["users"]
    assert sorted(u["role"] for u in listed) == ["admin", "editor", "viewer"]
    assert all("password" not in json.dumps(u) for u in listed)

    new = {"email": "nueva@clinica.do", "password": PASSWORD, "role": "editor"}
    assert (await client.post("/api/users", json=new, headers=viewer)).status_code == 403
    made = await client.post("/api/users", json=new, headers=admin)
    assert made.status_code == 201 and made.json()["role"] == "editor"
    assert (await client.post("/api/users", json=new, headers=admin)).status_code == 409
    for bad in ({**new, "email": "no-es-correo"}, {**new, "password": "corta"}, {**new, "role": "root"}):
        answer = await client.post("/api/users", json=bad, headers=admin)
        assert answer.status_code == 400, answer.text
    assert len(await accounts.users()) == 4  # the refused ones changed nothing

    editor = await login(client, "editor@clinica.do")
    editor_id = next(u["id"] for u in listed if u["role"] == "editor")
    admin_id = next(u["id"] for u in listed if u["role"] == "admin")
    off = await client.patch(f"/api/users/{editor_id}", json={"disabled": True}, headers=admin)
    assert off.status_code == 200 and off.json()["disabled"]
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": editor["refresh_token"]})
    ).status_code == 401
    wrong = await client.post("/api/auth/login", json={"email": "editor@clinica.do", "password": PASSWORD})
    assert wrong.status_code == 401
    assert (
        await client.patch(f"/api/users/{admin_id}", json={"disabled": True}, headers=admin)
    ).status_code == 400
    assert (
        await client.patch("/api/users/nobody", json={"role": "viewer"}, headers=admin)
    ).status_code == 404
    assert (await client.patch("/api/users/..%2F..%2Fetc", json={}, headers=admin)).status_code in (400, 404)

    audit = await client.get("/api/audit", headers=admin)
    actions = [e["action"] for e in audit.json()["entries"]]
    assert "user_created" in actions and "user_changed" in actions
    assert (await client.get("/api/audit", headers=viewer)).status_code == 403


async def test_conversations_with_their_turns(
    api: tuple[httpx.AsyncClient, Accounts], backend: Backend, tmp_path: Path
) -> None:
    client, accounts = api
    recordings = Recordings(tmp_path / "spool", FileStore(tmp_path / "objects"), backend.database)
    journal = PostgresJournal(backend.database)
    journal.started("call-1", "whisper", "policy", "espeak-ng")
    journal.turn("call-1", TurnEntry(1, "¿Cuánto cuesta?", "RD$1,500.", False, {"first_audio": 640.0}))
    booked = {"tool": "book_appointment", "arguments": {}, "result": {"booked": {"id": "a1"}}}
    journal.turn("call-1", TurnEntry(2, "Sí, resérvela.", "Listo.", False, {"first_audio": 700.0}, [booked]))
    journal.ended("call-1", 2, False)
    journal.started("call-3", "whisper", "policy", "espeak-ng")
    handoff = {
        "tool": "hand_off_to_staff",
        "arguments": {"reason": "una persona"},
        "result": {"handed_off": True},
    }
    journal.turn("call-3", TurnEntry(1, "Quiero hablar con una persona", "Puede llamar a recepción.", False,
                                     {"first_audio": 650.0}, [handoff]))  # fmt: skip
    journal.started("call-2", "whisper", "policy", "espeak-ng")
    journal.turn("call-2", TurnEntry(1, "Hola", "Hola, ¿en qué", True, {"first_audio": 600.0}))
    journal.ended("call-2", 1, False)
    await journal.aclose()

    viewer = bearer((await login(client, "viewer@clinica.do"))["access_token"])
    assert (await client.get("/api/conversations")).status_code == 401
    listed = (await client.get("/api/conversations", headers=viewer)).json()["conversations"]
    assert {c["id"]: c["outcome"] for c in listed} == {
        "call-1": "booked",
        "call-2": "answered",
        "call-3": "handed_off",
    }
    assert all(c["turns"] >= 1 and c["seconds"] >= 0 for c in listed)
    one = (await client.get("/api/conversations/call-1", headers=viewer)).json()
    assert [t["turn"] for t in one["turns"]] == [1, 2]
    assert one["turns"][0]["timings_ms"] == {"first_audio": 640.0}
    interrupted = (await client.get("/api/conversations/call-2", headers=viewer)).json()["turns"][0]
    assert interrupted["interrupted"] and interrupted["reply"] == "Hola, ¿en qué"
    assert (await client.get("/api/conversations/nope", headers=viewer)).status_code == 404

    # call-1 has a recording: viewers can listen to it and download it, and both are audited.
    spool = recordings.open("call-1")
    spool.write(np.zeros(16_000 * 2 * 2, np.int16).tobytes())  # one second of stereo silence
    spool.close()
    assert await recordings.finish("call-1") == "recordings/call-1.ogg"
    heard = await client.get("/api/conversations/call-1/recording", headers=viewer)
    assert heard.status_code == 200 and heard.headers["content-type"] == "audio/ogg"
    assert heard.content[:4] == b"OggS"
    saved = await client.get("/api/conversations/call-1/recording", params={"download": 1}, headers=viewer)
    assert "attachment" in saved.headers["content-disposition"]
    assert (await client.get("/api/conversations/call-2/recording", headers=viewer)).status_code == 404
    assert (await client.get("/api/conversations/call-1/recording")).status_code == 401
    entries = await accounts.audit_entries()
    assert [(e["action"], e["target"]) for e in entries[:2]] == [
        ("downloaded", "call-1"),
        ("listened", "call-1"),
    ]
    assert (await client.get("/api/conversations", params={"limit": 0}, headers=viewer)).status_code == 400


async def test_settings_are_changed_checked_and_applied_by_admins(backend: Backend, tmp_path: Path) -> None:
    from dataclasses import replace

    from taina.app import App
    from taina.http.settings import router as settings_router
    from taina.settings import Settings
    from taina.settings_api import StoredSettings

    class FakeAssistant:
        language_model = "policy"

        def __init__(self) -> None:
            self.configured: list[Settings] = []

        def configure(self, settings: Settings) -> None:
            self.configured.append(settings)

    class Voice:
        name = "espeak-ng"

    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path)})
    assistant = FakeAssistant()
    runtime = App(settings, assistant)  # type: ignore[arg-type]
    runtime.speech_to_text = lambda: Voice()  # type: ignore[method-assign,assignment,return-value]
    runtime.text_to_speech = lambda: Voice()  # type: ignore[method-assign,assignment,return-value]
    auth_settings = AuthSettings(secret=KEY)
    accounts = backend.accounts
    auth = Auth(accounts, Tokens(KEY, auth_settings), auth_settings)
    stored = StoredSettings(backend.database)
    app = FastAPI()
    answer_errors_as_json(app)
    app.state.auth = auth
    app.state.runtime = runtime
    app.state.stored_settings = stored
    app.include_router(auth_router)
    app.include_router(settings_router)
    await make_user(accounts, "admin@clinica.do", "admin")
    await make_user(accounts, "editor@clinica.do", "editor")
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        admin = bearer((await login(client, "admin@clinica.do"))["access_token"])
        editor = bearer((await login(client, "editor@clinica.do"))["access_token"])
        assert (await client.get("/api/settings", headers=editor)).status_code == 403
        listed = (await client.get("/api/settings", headers=admin)).json()
        rows = {s["name"]: s for s in listed["settings"]}
        assert (
            rows["TAINA_TURN_MIN_INTERRUPTION_MS"]["value"] == "500"
            and listed["providers"]["language_model"] == "policy"
        )

        change = {
            "values": {"TAINA_TURN_MIN_INTERRUPTION_MS": "700", "TAINA_DIALOGUE_ORGANISATION": "Clínica Sur"}
        }
        changed = await client.put("/api/settings", json=change, headers=admin)
        assert changed.status_code == 200, changed.text
        assert runtime.settings.turn.min_interruption_ms == 700 and runtime.settings.data_dir == tmp_path
        assert assistant.configured[-1].dialogue.organisation == "Clínica Sur"
        assert await stored.load() == {
            "TAINA_TURN_MIN_INTERRUPTION_MS": "700",
            "TAINA_DIALOGUE_ORGANISATION": "Clínica Sur",
        }

        for bad, message in (  # the reason in Spanish, and the field it is about
            ({"TAINA_ENDPOINT_SILENCE_MS": "5"}, "Debe estar entre 100 y 5000 ms."),
            ({"TAINA_TURN_INTERRUPTIBLE": "quizás"}, "Debe ser sí o no."),
            ({"TAINA_ENDPOINT_SILENCE_COMPLETE_MS": "4000"}, "«Silencio que cierra el turno»"),
            ({"DATABASE_URL": "postgres://elsewhere"}, "no se puede cambiar aquí"),
        ):
            refused = await client.put("/api/settings", json={"values": bad}, headers=admin)
            assert refused.status_code == 400 and message in refused.json()["error"], refused.text
            assert refused.json()["field"] == next(iter(bad)), refused.text
        assert runtime.settings.turn.min_interruption_ms == 700  # nothing changed by the refused ones

        back = await client.put(
            "/api/settings", json={"values": {"TAINA_TURN_MIN_INTERRUPTION_MS": None}}, headers=admin
        )
        assert back.status_code == 200 and runtime.settings.turn.min_interruption_ms == 500
        assert replace(runtime.settings, dialogue=settings.dialogue).turn == settings.turn
    assert "settings_changed" in [e["action"] for e in await accounts.audit_entries()]


def test_the_language_model_choice_is_checked_when_it_changes(tmp_path: Path) -> None:
    from engine.options import SettingsError
    from taina.assistant import Assistant
    from taina.settings import Settings

    assistant = Assistant(Settings.from_env({"TAINA_DATA_DIR": str(tmp_path)}))
    with pytest.raises(SettingsError, match="needs OPENAI_API_KEY"):
        assistant.configure(
            Settings.from_env({"TAINA_DATA_DIR": str(tmp_path), "TAINA_DIALOGUE_LANGUAGE_MODEL": "openai"})
        )
    assert assistant.language_model == "echo"  # unchanged


async def test_the_whole_app_makes_the_next_call_with_the_dashboards_settings(
    backend: Backend, tmp_path: Path
) -> None:
    """create_app as served: an admin's PUT /api/settings reaches the next call the runtime makes."""
    from taina.app import App
    from taina.assistant import Assistant
    from taina.server import create_app

    class Voice:
        name = "espeak-ng"

    class Voices:  # the speech models, without loading any
        turn_model = None  # the end-of-turn model: the word rules decide

        def speech_to_text(self) -> Voice:
            return Voice()

        text_to_speech = speech_to_text

        def prepare(self, _settings: Settings) -> Callable[[], None]:
            return lambda: None

    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path), "TAINA_AUTH_SECRET": KEY})
    runtime = App(settings, Assistant(settings, backend), backend, Voices())  # type: ignore[arg-type]
    app = create_app(runtime)
    await make_user(backend.accounts, "admin@clinica.do", "admin")
    greeting = "Clínica Sur, buenos días. ¿En qué le ayudo?"
    change = {"values": {"TAINA_DIALOGUE_ORGANISATION": "Clínica Sur", "TAINA_DIALOGUE_GREETING": greeting}}
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        admin = bearer((await login(client, "admin@clinica.do"))["access_token"])
        changed = await client.put("/api/settings", json=change, headers=admin)
        assert changed.status_code == 200, changed.text
        assert (await client.get("/healthz")).json() == {"status": "ok", "sessions": 0, "capacity": 50}
    call = runtime.new_session(None)  # type: ignore[arg-type]
    assert "Clínica Sur" in call.dialogue.system_prompt
    assert runtime.settings.dialogue.greeting == greeting and runtime.settings.data_dir == tmp_path
