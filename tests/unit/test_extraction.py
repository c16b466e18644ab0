from __future__ import annotations

from pathlib import Path

import pytest

from engine.chunking import sentences
from taina.knowledge.extract import ExtractionError, Section, check_name, extract
from taina.knowledge.passages import split_passages
from taina.knowledge.tables import spoken_row, unwrap

SAMPLE = Path(__file__).resolve().parents[2] / "taina" / "sample_kb"
LIMIT = 200_000_000


def test_markdown_headings_tables_and_links() -> None:
    text = "# Precios\n\nIntro con [enlace](http://x).\n\n## Consultas\n\n| Servicio | Precio |\n|---|---|\n| General | RD$1,500 |\n"
    doc = extract("p.md", text.encode(), LIMIT)
    assert doc.title == "Precios"
    assert [s.heading for s in doc.sections] == ["Precios", "Consultas"]
    assert doc.sections[0].text == "Intro con enlace."
    assert "General: precio, RD$1,500." in doc.sections[1].text  # the header names the column
    assert "Servicio" not in doc.sections[1].text


def test_html_sections_and_table_rows() -> None:
    doc = extract("seguros.html", (SAMPLE / "seguros-aceptados.html").read_bytes(), LIMIT)
    assert doc.title == "Seguros médicos (ARS) aceptados"
    joined = "\n".join(s.text for s in doc.sections)
    assert "ARS Humano: sí en consultas y en laboratorio e imágenes." in joined
    assert "ARS Palic: sí en consultas; laboratorio e imágenes, solo laboratorio." in joined
    assert "— Sí" not in joined and "ARS — Consultas" not in joined
    assert any(s.heading == "Copago y autorizaciones" for s in doc.sections)


def test_pdf_pages_title_and_headings() -> None:
    doc = extract("precios.pdf", (SAMPLE / "lista-de-precios.pdf").read_bytes(), LIMIT)
    assert doc.title == "Lista de precios 2026" and doc.pages == 1
    assert {"Consultas", "Laboratorio", "Formas de pago"} <= {s.heading for s in doc.sections}
    consultas = next(s for s in doc.sections if s.heading == "Consultas")
    # the line the page wrapped is one sentence again
    assert "Con seguro, el paciente paga solo el copago de su plan." in sentences(consultas.text)


def test_spoken_rows_and_unwrapped_lines() -> None:
    header = ["Servicio", "Sin seguro", "Con seguro"]
    assert spoken_row(["Consulta de cardiología", "RD$3,000", "Copago"], header) == (
        "Consulta de cardiología: sin seguro, RD$3,000; con seguro, copago."
    )
    assert (
        spoken_row(["ARS X", "No", "Sí"], ["ARS", "Consultas", "Imágenes"])
        == "ARS X: sí en imágenes; no en consultas."
    )
    assert spoken_row(["Laboratorio", "lunes a sábado"]) == "Laboratorio: lunes a sábado."
    assert spoken_row(["Sólo", ""], ["A", "B"]) == "Sólo."
    assert unwrap(["Venga en ayunas. Puede tomar", "agua.", "Traiga su cédula", "Y su carnet."]) == [
        "Venga en ayunas. Puede tomar agua.", "Traiga su cédula", "Y su carnet."
    ]  # fmt: skip


def test_docx_headings_and_tables() -> None:
    doc = extract("horarios.docx", (SAMPLE / "horarios-por-sede.docx").read_bytes(), LIMIT)
    assert doc.title == "Horarios por sede"
    santiago = next(s for s in doc.sections if s.heading.startswith("Sede Santiago"))
    assert "Consultas: lunes a viernes de 7:30 a. m." in santiago.text


@pytest.mark.parametrize("name", ["../x.md", "a/b.md", "a\\b.md", ".oculto.md", "x\x00.md", "x\u202e.md", ""])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ExtractionError):
        check_name(name)


def test_sentences_and_chunks_respect_headings_with_overlap() -> None:
    assert sentences("Hola. ¿Qué tal? Bien.\nOtra línea") == ["Hola.", "¿Qué tal?", "Bien.", "Otra línea"]
    assert sentences("Con el Dr. Peña a las 7:00 a. m. Luego, Av. Duarte núm. 5. Fin.") == [
        "Con el Dr. Peña a las 7:00 a. m. Luego, Av. Duarte núm. 5.", "Fin."
    ]  # fmt: skip
    long_text = " ".join(f"Esta es la oración número {i} del texto." for i in range(30))
    chunks = split_passages("Doc", [Section("Uno", [long_text]), Section("Dos", ["Corta."])], 30, 1)
    headings = [c.heading for c in chunks]
    assert headings[-1] == "Doc — Dos" and chunks[-1].text == "Corta."
    first, second = chunks[0].text, chunks[1].text
    assert second.splitlines()[0] == first.splitlines()[-1]  # the last sentence is repeated
    assert all(len(c.text.split()) <= 60 for c in chunks)
