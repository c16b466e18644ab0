from __future__ import annotations

from engine.chunking import SentenceChunker


def chunk(deltas: list[str]) -> list[str]:
    chunker = SentenceChunker()
    out = [s for d in deltas for s in chunker.push(d)]
    rest = chunker.flush()
    return out + ([rest] if rest else [])


def test_sentences_leave_as_soon_as_they_end() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Hola. ¿En qué") == ["Hola."]
    assert chunker.push(" te ayudo? ¡Claro") == ["¿En qué te ayudo?"]
    assert chunker.flush() == "¡Claro"


def test_numbers_and_abbreviations_do_not_end_sentences() -> None:
    assert chunk(["La consulta cuesta RD$1.500 con la Dra. Peña. Son 2.5 horas."]) == [
        "La consulta cuesta RD$1.500 con la Dra. Peña.",
        "Son 2.5 horas.",
    ]


def test_a_full_stop_at_the_end_of_a_delta_waits_for_what_follows() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Cuesta 3.") == []
    assert chunker.push("5 pesos. Gracias") == ["Cuesta 3.5 pesos."]


def test_ellipsis_and_quotes() -> None:
    assert chunk(["Pues… ", "«Entendí». Bien"]) == ["Pues…", "«Entendí».", "Bien"]
