"""The caller's words in the documents' words, for search: a specialist finds the page that names the specialty."""

from __future__ import annotations

from adapters.lexicon import expanded, specialty_forms


def test_a_specialist_and_the_specialty_find_each_other() -> None:
    assert specialty_forms("urologo") == ["urologia"]
    assert specialty_forms("neurologas") == ["neurologia"]
    assert specialty_forms("cardiologia") == ["cardiologo"]
    assert specialty_forms("pediatra") == ["pediatria"] and specialty_forms("pediatria") == ["pediatra"]
    assert specialty_forms("ortopeda") == ["ortopedia"]
    assert specialty_forms("consulta") == []
    assert expanded("¿Dónde puedo ver un urólogo?").endswith(" urologia")
    assert expanded("tienen guasap") == "tienen guasap whatsapp"


def test_what_the_caller_sets_aside_is_not_searched() -> None:
    assert "capital" not in expanded("el numero de la de santiago, no el de la capital")
    assert "capital" in expanded("el numero de la sede de la capital")


def test_the_documents_words_come_for_plurals_too() -> None:
    assert "imagenes" in expanded("en que horario hacen sonografias")
    assert "radiografia" in expanded("hasta que hora me hacen lo rayo x")  # a plural said without its s


def test_where_the_car_is_left_is_the_parking() -> None:
    assert "parqueo" in expanded("y en santiago donde uno deja el carro")
    assert "parqueo" in expanded("donde se estaciona uno")


def test_older_people_are_the_documents_envejecientes() -> None:
    assert "envejecientes" in expanded("ustedes atienden a personas mayores")


def test_taking_someone_to_the_visit_is_going_with_them() -> None:
    assert "acompanar" in expanded("soy la tia de un muchacho de 16 años, puedo llevarlo yo a la consulta")
    assert "acompanar" not in expanded("que tengo que llevar a la consulta")


def test_an_infinitive_said_without_its_r_is_the_infinitive() -> None:
    from adapters.lexicon import with_infinitives

    assert (
        with_infinitives("pa vacuna al nino se puede llega sin cita")
        == "pa vacunar al nino se puede llegar sin cita"
    )
    assert (
        with_infinitives("pa una consulta, que hora llega el doctor")
        == "pa una consulta, que hora llega el doctor"
    )
    assert "conducir" in expanded("despue de la colonoscopia puedo maneja pa mi casa")


def test_words_the_review_found_misread() -> None:
    from adapters.lexicon import normalise, with_infinitives

    assert "mamografia" not in expanded("mi mama tiene 80 años, cuanto le cobran la consulta")
    assert with_infinitives("cuanto cuesta la consulta pa la bebe") == "cuanto cuesta la consulta pa la bebe"
    assert "acompanar" not in normalise("los estudios anteriores, hay que llevarlos a la consulta")
    assert "acompanar" in normalise("puedo llevar a mi hija a la consulta")
