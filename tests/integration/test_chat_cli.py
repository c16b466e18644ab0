"""`taina chat` and `taina appointments` as a person runs them: whole conversations on standard input, one JSON
line per turn, checked in the database afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.support.clock import TEST_NOW


def taina(
    data_dir: Path, database_url: str, *args: str, stdin: str = "", sample_kb: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAINA_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "TAINA_NOW": TEST_NOW,
           "TAINA_INGEST_SAMPLE_KB": "true" if sample_kb else "false"}  # fmt: skip
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "taina.cli", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


BOOK_MOVE_CANCEL = """Buenos días
Quiero una cita con la doctora Rosario el lunes a las nueve
Sí, me sirve
Me llamo Carlos Féliz
Mi número es 829 555 3030
Sí
Ahora quiero cambiarla para el martes a las diez
Sí
Gracias, adiós
"""


async def test_book_then_move_through_taina_chat(tmp_path: Path, database_url: str) -> None:
    result = taina(tmp_path, database_url, "chat", "--json", stdin=BOOK_MOVE_CANCEL)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(turns) == 9 and all(set(t) == {"reply", "actions", "sources"} for t in turns)
    assert turns[0]["reply"].startswith("¡Hola!") and turns[0]["actions"] == []
    listed = turns[1]["actions"][0]
    assert listed["tool"] == "list_available_slots" and listed["arguments"]["service_id"] == "pediatria"
    assert listed["arguments"]["date"] == "2026-11-30" and listed["result"]["slots"]
    booked = turns[5]["actions"][0]
    assert booked["tool"] == "book_appointment" and booked["arguments"]["patient_name"] == "Carlos Féliz"
    assert "quedó reservada" in turns[5]["reply"]
    assert [a["tool"] for a in turns[6]["actions"]] == ["find_appointments", "list_available_slots"]
    assert "¿Está bien?" in turns[6]["reply"]  # the asked time is free: straight to the read-back
    assert [a["tool"] for a in turns[7]["actions"]] == ["reschedule_appointment"]
    assert turns[8]["reply"].startswith("Gracias por llamar")

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT doctor_id, patient_name, patient_phone, starts_at, status FROM appointments"
        )
    finally:
        await connection.close()
    [row] = rows
    assert (row["patient_name"], row["patient_phone"], row["status"]) == (
        "Carlos Féliz",
        "8295553030",
        "booked",
    )
    assert (
        row["starts_at"].isoformat() == "2026-12-01T14:00:00+00:00"
    )  # Tuesday 1 December, 10:00 in Santo Domingo

    listing = taina(tmp_path, database_url, "appointments", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    [appointment] = json.loads(listing.stdout)
    assert (
        appointment["patient_phone"] == "8295553030"
        and appointment["starts_at"] == "2026-12-01T14:00:00+00:00"
    )
    text = taina(tmp_path, database_url, "appointments", "list", "--phone", "829-555-3030")
    assert "el martes 1 de diciembre a las 10:00 a. m." in text.stdout and "Carlos Féliz" in text.stdout
    bad = taina(tmp_path, database_url, "appointments", "list", "--phone", "123")
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "taina: error: '123' is not a phone number (10 to 15 digits)"
    )


def test_plain_chat_and_a_cancellation(tmp_path: Path, database_url: str) -> None:
    script = "Quiero cancelar mi cita\n809 555 1212\nAna Pérez\n"  # the phone, then the patient's name
    result = taina(tmp_path, database_url, "chat", stdin=script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("TAINA: ") for line in lines)
    assert "No encuentro citas próximas con el número 809-555-1212" in lines[2]


def test_a_bad_clock_setting_is_one_line(tmp_path: Path, database_url: str) -> None:
    env_bad = {**os.environ, "TAINA_DATA_DIR": str(tmp_path), "TAINA_NOW": "ayer"}
    result = subprocess.run([sys.executable, "-m", "taina.cli", "chat"], env=env_bad, input="", capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "taina: error: TAINA_NOW must be an ISO 8601 date and time, got 'ayer'"
