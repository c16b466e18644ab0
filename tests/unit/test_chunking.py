from __future__ import annotations

from engine.chunking import ClauseChunker, sentences


def chunk(deltas: list[str]) -> list[str]:
    chunker = ClauseChunker()
    out = [s for d in deltas for s in chunker.push(d)]
    rest = chunker.flush()
    return out + ([rest] if rest else [])


def test_sentences_leave_as_soon_as_they_end() -> None:
    chunker = ClauseChunker()
    assert chunker.push("Hola. ¿En qué") == ["Hola."]
    assert chunker.push(" te ayudo? ¡Claro") == ["¿En qué te ayudo?"]
    assert chunker.flush() == "¡Claro"


def test_numbers_and_abbreviations_do_not_end_sentences() -> None:
    assert chunk(["La consulta cuesta RD$1.500 con la Dra. Peña. Son 2.5 horas."]) == [
        "La consulta cuesta RD$1.500 con la Dra. Peña.",
        "Son 2.5 horas.",
    ]


def test_a_full_stop_at_the_end_of_a_delta_waits_for_what_follows() -> None:
    chunker = ClauseChunker()
    assert chunker.push("Cuesta 3.") == []
    assert chunker.push("5 pesos. Gracias") == ["Cuesta 3.5 pesos."]


def test_a_word_ending_a_sentence_at_the_end_of_a_delta_leaves_at_once() -> None:
    """Models stream the space before a word: after "ayudo." the next delta is " Los..." a token's gap later.
    After a letter the full stop cannot be a decimal point, so the sentence leaves without that wait."""
    chunker = ClauseChunker()
    assert chunker.push("Claro, con gusto le ayudo.") == ["Claro, con gusto le ayudo."]
    assert chunker.push(" ¿Es para usted?") == ["¿Es para usted?"]
    assert chunker.push(" Con mucho gusto le ayudo,") == []  # not the first piece: waits for its sentence
    first = ClauseChunker()
    assert first.push("Con mucho gusto le ayudo,") == ["Con mucho gusto le ayudo,"]
    assert first.push(" el lunes") == []


def test_what_may_go_on_after_a_full_stop_still_waits() -> None:
    for delta in (
        "Le atiende la Dra.",
        "Abrimos a las 8 a.",
        "Escriba a www.caribesalud.",
        "Son RD$3,",
        "Bueno...",
    ):
        chunker = ClauseChunker()
        assert chunker.push(delta) == [], delta
    chunker = ClauseChunker()
    assert chunker.push("Le atiende la Dra.") == []
    assert chunker.push(" Peña. Gracias") == ["Le atiende la Dra. Peña."]


def test_ellipsis_and_quotes() -> None:
    assert chunk(["Pues… ", "«Entendí». Bien"]) == ["Pues…", "«Entendí».", "Bien"]


def test_the_first_clause_leaves_early_and_later_ones_wait_for_the_sentence() -> None:
    chunker = ClauseChunker()
    assert chunker.push("Con mucho gusto le ayudo, ") == ["Con mucho gusto le ayudo,"]
    assert chunker.push("el horario es de lunes, martes") == []
    assert chunker.push(" y miércoles. Gracias") == ["el horario es de lunes, martes y miércoles."]


def test_a_short_opening_is_not_cut_at_its_comma() -> None:
    assert chunk(["Sí, claro, la consulta cuesta RD$1,500.00 pesos. Bien."]) == [
        "Sí, claro, la consulta cuesta RD$1,500.00 pesos.",
        "Bien.",
    ]


def test_spanish_punctuation_numbers_and_times_stay_whole() -> None:
    assert chunk(
        ["¿Le sirve el lunes a las 10:30 a. m.? ", "¡Perfecto! La dosis es 2,5 ml; ", "tómela."]
    ) == [
        "¿Le sirve el lunes a las 10:30 a. m.?",
        "¡Perfecto!",
        "La dosis es 2,5 ml; tómela.",
    ]


def test_ellipsis_and_abbreviations_in_a_streamed_reply() -> None:
    assert chunk(["Bueno... ", "déjeme ver. La Dra. ", "Peña atiende en la Av. ", "Duarte No. 5."]) == [
        "Bueno...",
        "déjeme ver.",
        "La Dra. Peña atiende en la Av. Duarte No. 5.",
    ]


def test_a_very_long_sentence_is_cut_at_its_clauses() -> None:
    long = ", ".join(f"la opción número {n} del menú" for n in range(1, 12)) + "."
    pieces = chunk(["Le cuento: ", long])
    assert "".join(p + " " for p in pieces).split() == ("Le cuento: " + long).split()
    assert all(len(p) <= 170 for p in pieces) and len(pieces) > 2


def test_no_is_a_number_sign_only_before_a_number() -> None:
    assert chunk(["Claro que no. Gracias por llamar. ", "Adiós"]) == [
        "Claro que no.",
        "Gracias por llamar.",
        "Adiós",
    ]
    assert chunk(["Queda en la calle No. 25 del ensanche. Bien"]) == [
        "Queda en la calle No. 25 del ensanche.",
        "Bien",
    ]
    assert sentences("Claro que no. Gracias. Calle No. 25. Fin") == [
        "Claro que no.",
        "Gracias.",
        "Calle No. 25.",
        "Fin",
    ]


def test_dominican_abbreviations_at_the_end_of_a_delta_wait() -> None:
    for delta in ("Queda en Sto.", "Marque la Ext.", "La Licda.", "Es en la Urb."):
        assert ClauseChunker().push(delta) == [], delta
