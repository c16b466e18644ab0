"""`taina eval` leaves the agenda as it found it: what a run books or moves is deleted at its end (also when it
stops on an exception or is cancelled, as Ctrl-C does), so the same suite run twice gives the same results; and
an external appointments system is written to only with --live-appointments."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.appointments_db import BuiltInAppointments
from taina.app import App
from taina.backend import Backend
from taina.eval import run
from taina.eval.appointments import RunAppointments
from taina.eval.run import run_suite
from taina.eval.suite import parse_suite
from tests.integration.test_appointments_contract import TOKEN, Faults, api
from tests.integration.test_chat_cli import taina
from tests.support.clock import TEST_NOW
from tests.support.servers import serving_here

BOOK = ["Buenos días", "Quiero una cita con la doctora Rosario el lunes a las nueve", "Sí, me sirve",
        "Me llamo Carlos Féliz", "Mi número es 829 555 3030", "Sí"]  # fmt: skip
BOOK_ROSARIO = {
    "id": "book-rosario",
    "turns": BOOK,
    "expect_tools": ["list_available_slots", "book_appointment"],
    "expect_appointment": {
        "doctor_id": "rosario",
        "starts_at": "2026-11-30T09:00",
    },  # taken on a rerun if kept
}
BOOK_POLANCO = ["Quiero una cita con el Dr. Polanco el jueves que viene en la tarde", "Sí", "Pedro Almánzar",
                "809 555 4444", "Sí"]  # fmt: skip
MOVE = [
    "Quiero cambiar mi cita",
    "809-555-4444",
    "Pedro Almánzar",
    "Para el viernes 4 de diciembre a las 9",
    "Sí",
]
MOVE_POLANCO = {  # an appointment made by the suite's own earlier call (before:), moved
    "id": "move-polanco",
    "before": BOOK_POLANCO,
    "turns": MOVE,
    "expect_tools": ["find_appointments", "reschedule_appointment"],
    "expect_appointment": {"doctor_id": "polanco", "starts_at": "2026-12-04T09:00"},
}


async def rows(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        found: list[asyncpg.Record] = await connection.fetch(
            "SELECT id, patient_name, status FROM appointments"
        )
        return found
    finally:
        await connection.close()


async def test_the_same_suite_twice_gives_the_same_results_and_leaves_nothing(
    tmp_path: Path, database_url: str
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps({"name": "twice", "conversations": [BOOK_ROSARIO, MOVE_POLANCO]}))
    reports = []
    for attempt in (1, 2):
        out = tmp_path / f"report{attempt}.json"
        result = taina(
            tmp_path / "data", database_url, "eval", str(suite), "--model", "policy", "--json", str(out)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "appointments made by this run: 2, removed: 2" in result.stdout
        reports.append(json.loads(out.read_text()))
        assert await rows(database_url) == []  # deleted, not merely cancelled
    first, second = reports
    assert first["ok"] and second["ok"]
    assert first["appointments"] == {"made": 2, "removed": 2, "how": "deleted", "left": []}
    assert [(c["id"], c["passed"], [t["reply"] for t in c["turns"]]) for c in first["cases"]] == [
        (c["id"], c["passed"], [t["reply"] for t in c["turns"]]) for c in second["cases"]
    ]


@pytest.mark.parametrize("stop", ["exception", "cancelled"])
async def test_a_run_stopped_midway_still_removes_what_it_booked(
    backend: Backend, database_url: str, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    built_in = backend.appointments
    assert isinstance(built_in, BuiltInAppointments)
    suite = parse_suite({"conversations": [{**BOOK_ROSARIO, "turns": [*BOOK, "Gracias, adiós"]}]})
    booked_then_stopped = asyncio.Event()
    real_turn = run._text_turn

    async def turn(app: App, dialogue: Any, said: str, said_so_far: list[str]) -> run.Turn:
        if said == "Gracias, adiós":  # the booking is made by now
            assert len(await built_in.upcoming()) == 1
            booked_then_stopped.set()
            if stop == "exception":
                raise RuntimeError("the language model fell over")
            await asyncio.sleep(3600)  # until cancelled
        return await real_turn(app, dialogue, said, said_so_far)

    monkeypatch.setattr(run, "_text_turn", turn)
    async with App.open(backend.settings, backend=backend) as app:
        task = asyncio.create_task(run_suite(app, suite))
        await asyncio.wait_for(booked_then_stopped.wait(), 60)
        if stop == "cancelled":
            task.cancel()  # what asyncio.run does to its main task on Ctrl-C
        with pytest.raises(asyncio.CancelledError if stop == "cancelled" else RuntimeError):
            await task
    assert await rows(database_url) == []
    assert backend.appointments is built_in  # the recorder is out of the way again


def test_conversations_against_an_external_system_are_refused_without_live_appointments(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps({"conversations": [BOOK_ROSARIO]}))
    env = {**os.environ, "TAINA_DATA_DIR": str(tmp_path / "data"), "TAINA_NOW": TEST_NOW,
           "DATABASE_URL": "postgresql://unused@127.0.0.1:1/none",
           "APPOINTMENTS_URL": "http://127.0.0.1:1"}  # fmt: skip  # nothing listens: refused before any use
    result = subprocess.run(
        [sys.executable, "-m", "taina.cli", "eval", str(suite), "--model", "policy"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--live-appointments" in result.stderr


async def eval_over_http(
    tmp_path: Path, database_url: str, url: str, suite: Path, *flags: str
) -> tuple[int, str]:
    """`taina eval` in a child process, against the external system served in this test's event loop."""
    env = {**os.environ, "TAINA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
           "TAINA_NOW": TEST_NOW, "TAINA_INGEST_SAMPLE_KB": "false", "APPOINTMENTS_URL": url,
           "APPOINTMENTS_TOKEN": TOKEN}  # fmt: skip
    env.pop("OPENAI_API_KEY", None)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "taina.cli", "eval", str(suite), "--model", "policy", *flags,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 180)
    assert child.returncode is not None
    return child.returncode, out.decode() + err.decode()


async def test_live_appointments_cancels_the_bookings_in_the_external_system(
    tmp_path: Path, backend: Backend, database_url: str
) -> None:
    built_in = backend.appointments
    assert isinstance(built_in, BuiltInAppointments)
    writing, asking = tmp_path / "writing.yaml", tmp_path / "asking.yaml"
    writing.write_text(json.dumps({"conversations": [BOOK_ROSARIO]}))
    asking.write_text(json.dumps({"questions": [{"id": "hello", "ask": "Buenos días", "expect": ["."]}]}))
    async with serving_here(api(built_in, Faults())) as url:
        code, output = await eval_over_http(tmp_path, database_url, url, writing, "--live-appointments")
        assert code == 0, output
        assert "appointments made by this run: 1, removed: 1; cancelled in the external system" in output
        [row] = await rows(database_url)
        assert (row["patient_name"], row["status"]) == ("Carlos Féliz", "cancelled")
        assert await built_in.upcoming() == []

        code, output = await eval_over_http(
            tmp_path, database_url, url, asking
        )  # questions only: no flag needed
        assert code != 2, output
        assert "appointments made by this run: 0, removed: 0" in output


async def test_an_appointment_from_before_the_run_is_never_changed(
    backend: Backend, database_url: str
) -> None:
    """In the agenda before the run (a real patient's, if a suite ever used a real name and phone): the run's
    move is refused and the appointment stays exactly as it was."""
    built_in = backend.appointments
    assert isinstance(built_in, BuiltInAppointments)
    [slot] = await built_in.list_available_slots(
        "medicina-interna", date(2026, 11, 26), doctor_id="polanco", limit=1
    )
    earlier = await built_in.book(slot, "Pedro Almánzar", "809 555 4444")
    suite = parse_suite({"conversations": [{**MOVE_POLANCO, "before": []}]})
    async with App.open(backend.settings, backend=backend) as app:
        report = await run_suite(app, suite)
    assert not report.cases[0].passed  # the move could not be made
    assert report.appointments is not None
    assert (report.appointments.made, report.appointments.removed) == (0, 0)
    kept = await built_in.get(earlier.id)
    assert (kept.status, kept.starts_at) == (earlier.status, earlier.starts_at)


async def test_a_booking_whose_answer_never_came_is_found_by_its_key(
    backend: Backend, database_url: str
) -> None:
    """Ctrl-C while the INSERT is in flight: the row is written but its id never reached the run."""
    built_in = backend.appointments
    assert isinstance(built_in, BuiltInAppointments)

    class AnswerLost(BuiltInAppointments):
        async def book(self, *args: Any, **kwargs: Any) -> Any:
            await super().book(*args, **kwargs)
            raise asyncio.CancelledError

    recorder = RunAppointments(AnswerLost(built_in.db, built_in._now, built_in._timezone))
    [slot] = await built_in.list_available_slots(
        "pediatria", date(2026, 11, 30), doctor_id="rosario", limit=1
    )
    with pytest.raises(asyncio.CancelledError):
        await recorder.book(slot, "Carlos Féliz", "829 555 3030")
    assert len(await rows(database_url)) == 1 and recorder.made == []
    cleanup = await recorder.undo()
    assert (cleanup.made, cleanup.removed, cleanup.left) == (1, 1, [])
    assert await rows(database_url) == []
