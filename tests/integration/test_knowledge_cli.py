"""`taina ingest`, `taina search` and `taina documents` as a person runs them, on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "taina" / "sample_kb"


def taina(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "TAINA_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "taina.cli", *args],
        env=full_env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_ingest_search_list_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "seguros.html").write_bytes((SAMPLE / "seguros-aceptados.html").read_bytes())
    (docs / "precios.pdf").write_bytes((SAMPLE / "lista-de-precios.pdf").read_bytes())
    (docs / "notas.xyz").write_text("no soportado")

    ingested = taina(data, "ingest", str(docs), "--json")
    assert ingested.returncode == 1, ingested.stderr  # one document was refused
    lines = [json.loads(line) for line in ingested.stdout.splitlines()]
    by_name = {line["name"]: line for line in lines}
    assert set(by_name) == {"seguros.html", "precios.pdf", "notas.xyz"}
    assert by_name["precios.pdf"]["status"] == "ready" and by_name["precios.pdf"]["chunks"] > 0
    assert by_name["notas.xyz"]["status"] == "refused" and "unsupported type" in by_name["notas.xyz"]["error"]
    assert set(lines[0]) == {"id", "name", "title", "chunks", "status", "error"}

    found = taina(data, "search", "¿cuánto cuesta la consulta de cardiología?", "--k", "2", "--json")
    assert found.returncode == 0, found.stderr
    passages = json.loads(found.stdout)
    assert len(passages) == 2 and passages[0]["document_id"] == by_name["precios.pdf"]["id"]
    assert {"document_id", "title", "text", "score"} <= set(passages[0])
    assert "RD$3,000" in passages[0]["text"]

    listed = json.loads(taina(data, "documents", "list", "--json").stdout)
    assert {d["name"] for d in listed} == {"seguros.html", "precios.pdf"}

    assert taina(data, "documents", "delete", by_name["seguros.html"]["id"]).returncode == 0
    missing = taina(data, "documents", "delete", "nope")
    assert missing.returncode == 1 and "no document with id nope" in missing.stderr
    assert [d["name"] for d in json.loads(taina(data, "documents", "list", "--json").stdout)] == [
        "precios.pdf"
    ]


def test_unreachable_store_is_one_line(tmp_path: Path) -> None:
    result = taina(tmp_path, "documents", "list", env={"TAINA_STORAGE": f"file://{tmp_path}/f/x"})
    assert result.returncode == 0  # a folder that can be created is fine
    (tmp_path / "blocker").write_text("")
    result = taina(tmp_path, "documents", "list", env={"TAINA_STORAGE": f"file://{tmp_path}/blocker/objects"})
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1].startswith("taina: error: cannot write to the object folder")
    )


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    result = taina(tmp_path, "search", "hola", env={"TAINA_STORAGE": "ftp://x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "taina: error: TAINA_STORAGE must be file:///path or s3://bucket/prefix"
