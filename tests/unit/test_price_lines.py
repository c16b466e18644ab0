"""A price question answered by the price list's line whose label the caller named, in their own words."""

from __future__ import annotations

from adapters.policy.answers import compose_answer
from engine.ports.knowledge import Passage

PRICES = Passage(
    "precios",
    "Tarifas 2027",
    "Estudios",
    "Consulta de neurología: RD$3,200.\nConsulta de otorrinolaringología y audiología: RD$2,900.\n"
    "Ecografía renal: RD$2,100.\nEcografía mamaria: RD$2,400.\nRadiografía de columna: RD$1,900.\n"
    "Perfil hepático: RD$1,300.\nCultivo de orina: RD$800.",
    1.0,
    0.9,
)


def answer(question: str) -> str:
    found = compose_answer(question, [PRICES])
    return found.text if found else ""


def test_the_line_the_caller_named_among_their_story() -> None:
    said = answer(
        "mira e que me caí de la escalera y me duele la espalda, la radiografia de columna cuanto ta"
    )
    assert said == "Radiografía de columna: RD$1,900."


def test_a_specialist_names_the_specialty_and_one_part_of_a_joined_label_is_enough() -> None:
    assert "RD$3,200" in answer("klk cuanto me cobra el neurologo")
    assert "RD$2,900" in answer("y el otorrino cuanto cobra por la consulta")


def test_two_lines_named_alike_are_both_read() -> None:
    said = answer("cuanto sale una ecografia")
    assert "RD$2,100" in said and "RD$2,400" in said


def test_a_kind_the_list_does_not_price_gets_no_other_line() -> None:
    assert "RD$" not in answer("cuanto cuesta la ecografia de tiroides")  # not "Ecografía renal"
    assert "RD$" not in answer("cuanto cuesta la ecografia del higado")  # not "Perfil hepático" either


def test_the_lexicons_words_beside_a_head_word_do_not_qualify_it_otherwise() -> None:
    """ "hemograma" is followed by the lexicon's "análisis": the caller qualified nothing."""
    labs = Passage(
        "precios", "Tarifas", "Laboratorio", "Hemograma completo: RD$450.\nUrocultivo: RD$900.", 1.0, 0.9
    )
    found = compose_answer("oiga cuanto ta un hemograma", [labs])
    assert found is not None and found.text == "Hemograma completo: RD$450."


def test_a_generic_first_word_names_no_kind() -> None:
    labs = Passage(
        "precios",
        "Tarifas",
        "Laboratorio",
        "Glucosa en ayunas: RD$250.\nPrueba de esfuerzo: RD$6,500.",
        1.0,
        0.9,
    )
    found = compose_answer("el precio de la prueba de azucar en ayunas", [labs])
    assert found is not None and found.text == "Glucosa en ayunas: RD$250."


def test_a_part_of_the_body_is_the_same_study_unless_the_list_prices_it_by_part() -> None:
    """The list prices one "Perfil ..." line of a kind but two "Ecografía ..." lines and one "Radiografía de columna":
    an MRI of the knee is the MRI; a kidney scan asked as "ecografía del hígado" or an X-ray of the knee is not."""
    scans = Passage(
        "precios", "Tarifas 2027", "Imágenes", "Resonancia magnética: RD$15,000.\nEcografía renal: RD$2,100.\n"
        "Ecografía mamaria: RD$2,400.\nRadiografía de columna: RD$1,900.", 1.0, 0.9,
    )  # fmt: skip
    said = compose_answer("a mi primo le mandaron una resonancia de la rodilla, cuanto sale", [scans])
    assert said is not None and said.text == "Resonancia magnética: RD$15,000.", said
    for other in ("cuanto cuesta una ecografia del higado", "cuanto cuesta la radiografia de la rodilla"):
        found = compose_answer(other, [scans])
        assert found is None or "RD$" not in found.text, (other, found)


def test_two_things_asked_together_get_both_lines_and_a_lexicon_word_no_extra_one() -> None:
    lab = Passage(
        "precios", "Tarifas 2027", "Laboratorio", "Glucosa en ayunas: RD$250.\nPerfil lipídico: RD$900.\n"
        "Hemoglobina glicosilada: RD$1,100.\nPerfil tiroideo: RD$1,600.", 1.0, 0.9,
    )  # fmt: skip
    both = compose_answer("la glucosa y el perfil lipidico cuanto me sale", [lab])
    assert both is not None and both.text == "Glucosa en ayunas: RD$250. Perfil lipídico: RD$900.", both
    one = compose_answer("la glicosilada esa del azucar de tres meses cuanto ta", [lab])
    assert one is not None and one.text == "Hemoglobina glicosilada: RD$1,100.", one
