"""An hours question answered by the row of a site's hours table whose label the caller named, at their site."""

from __future__ import annotations

from adapters.policy.answers import compose_answer
from adapters.policy.table_rows import days_in
from engine.ports.knowledge import Passage

NACO = Passage(
    "horas",
    "Horarios",
    "Sede Naco",
    "Farmacia: lunes a sábado de 7:00 a. m. a 10:00 p. m.\nRayos X: lunes a viernes de 8:00 a. m. a 4:00 p. m.",
    1.0,
    0.9,
)
ESTE = Passage(
    "horas", "Horarios", "Sede Herrera", "Farmacia: todos los días de 8:00 a. m. a 8:00 p. m.", 1.0, 0.9
)


CHANNELS = Passage(
    "contacto", "Contacto y cómo llegar", "Canales digitales",
    "WhatsApp para citas y resultados: 829-555-0160.\nCorreo electrónico: citas@caribesalud.do.", 1.0, 0.87,
)  # fmt: skip


def answer(question: str) -> str:
    found = compose_answer(question, [NACO, ESTE])
    return found.text if found else ""


def test_the_row_the_caller_named_at_the_site_they_named() -> None:
    said = answer("oiga e que yo salgo tarde del trabajo, hasta que hora ta abierta la farmacia en naco")
    assert said == "Farmacia: lunes a sábado de 7:00 a. m. a 10:00 p. m."


def test_a_day_the_row_does_not_cover_is_not_answered_by_it() -> None:
    assert answer("los domingos a que hora hacen rayos x en naco").startswith("No. Rayos X: lunes a viernes")


def test_a_doctors_days_are_not_a_sites_hours() -> None:
    assert not answer("que dias atiende el cardiologo en naco").startswith("Farmacia")


def test_days_in_a_row() -> None:
    assert days_in("lunes a viernes de 8 a 4; sabados de 8 a 12") == {
        "lunes", "martes", "miercoles", "jueves", "viernes", "sabado",
    }  # fmt: skip


CONTACTS = [
    Passage("c", "Contacto", "Sede Naco", "Dirección: calle Uno 5, Naco.\nTeléfono: 809-555-1111.", 1.0, 0.9),
    Passage("c", "Contacto", "Sede Herrera", "Dirección: av. España 9.\nTeléfono: 809-555-2222.", 1.0, 0.9),
    Passage(
        "c",
        "Contacto",
        "Urgencias",
        "La sede Herrera no tiene urgencias: para una urgencia llame al 9-1-1.",
        1.0,
        0.9,
    ),
]


def test_the_phone_row_of_the_site_named() -> None:
    found = compose_answer("y el telefono de la sede de herrera cual e", CONTACTS)
    assert found is not None and found.text == "Teléfono: 809-555-2222."


def test_a_sentence_naming_more_of_what_was_asked_beats_the_row() -> None:
    found = compose_answer("a que numero llamo si tengo una urgencia en la sede de herrera", CONTACTS)
    assert found is not None and "9-1-1" in found.text


def test_a_bare_yes_is_said_with_what_follows_it() -> None:
    faq = Passage(
        "faq", "Preguntas", "¿Aceptan mascotas?", "Sí.\nLos perros de asistencia pueden entrar.", 1.0, 0.9
    )
    found = compose_answer("aceptan mascotas", [faq])
    assert found is not None and found.text == "Sí. Los perros de asistencia pueden entrar."


def test_a_closed_row_is_not_replaced_by_another_services_row() -> None:
    norte = Passage(
        "h", "Horarios", "Sede Norte",
        "Consultas: lunes a viernes de 8:00 a. m. a 5:00 p. m.\nLaboratorio: lunes a sábado de 7:00 a. m. a 1:00 p. m.",
        1.0, 0.9,
    )  # fmt: skip
    said = compose_answer("hasta que hora atienden las consultas el sabado en la sede norte", [norte])
    assert said is not None and said.text.startswith("No. Consultas:")


def test_a_price_line_of_another_kind_is_not_read_and_insured_prices_are_not_the_list() -> None:
    prices = Passage(
        "p", "Precios", "Consultas",
        "Consulta de seguimiento (30 minutos): RD$800.\nSonografía abdominal: RD$2,800.\n"
        "Con seguro, el paciente paga solo el copago de su plan.",
        1.0, 0.9,
    )  # fmt: skip
    assert "RD$800" not in str(compose_answer("cuanto cuesta la sonografia de seguimiento", [prices]))
    assert "RD$800" in str(compose_answer("cuanto cuesta la consulta de seguimiento", [prices]))
    insured = compose_answer("cuanto me sale la consulta de seguimiento con el seguro", [prices])
    assert insured is not None and "copago" in insured.text


def test_a_site_is_found_by_the_other_name_its_heading_gives() -> None:
    sites = [
        Passage("s", "Sedes", "Sede Norte (Villa Mella)", "La sede Norte tiene parqueo techado.", 1.0, 0.9),
        Passage("s", "Sedes", "Sede Sur (Haina)", "La sede Sur tiene parqueo en la calle.", 1.0, 0.9),
    ]
    said = compose_answer("en la de villa mella donde uno se parquea", sites)
    assert said is not None and "techado" in said.text


def test_a_label_that_says_what_the_channel_is_for_is_a_label() -> None:
    """ "WhatsApp para citas y resultados" is a row's label (five words, a name and its use); the caller's own
    word "WhatsApp" beats "Correo electrónico", named only through the lexicon's "escribir"."""
    found = compose_answer("a que numero le escribo por whatsapp pa hacer una cita", [CHANNELS])
    assert found is not None and found.text == "WhatsApp para citas y resultados: 829-555-0160.", found


def test_the_sites_phone_row_beats_a_sentence_that_shares_only_its_headings_word() -> None:
    """ "¿el teléfono del centro en Santiago de los Caballeros?": the Santiago phone row, not the 9-1-1 sentence
    under "Servicios ... del Centro Médico", whose "Centro" is its heading's, not its own word."""
    santiago = Passage(
        "contacto", "Contacto y cómo llegar", "Contacto y cómo llegar — Sede Santiago",
        "Dirección: Av. Juan Pablo Duarte núm. 215, Santiago de los Caballeros.\nTeléfono: 809-555-0275.",
        1.0, 0.87,
    )  # fmt: skip
    emergencies = Passage(
        "servicios", "Servicios del Centro Médico Caribe Salud",
        "Servicios del Centro Médico Caribe Salud — Emergencias",
        "La sede de Santiago no tiene emergencia: para una urgencia en Santiago llame al 9-1-1.",
        1.0, 0.83,
    )  # fmt: skip
    found = compose_answer(
        "¿Cuál es el teléfono del centro en Santiago de los Caballeros?", [santiago, emergencies]
    )
    assert found is not None and found.text == "Teléfono: 809-555-0275.", found


def test_a_day_asked_about_without_an_hours_word_is_answered_by_the_row() -> None:
    assert answer("el sabado hacen rayos x en naco").startswith("No. Rayos X: lunes a viernes")


def test_the_channel_named_in_the_callers_own_word_wins() -> None:
    santiago = Passage(
        "contacto", "Contacto y cómo llegar", "Sede Santiago", "Teléfono: 809-555-0275.", 1.0, 0.86
    )
    email = compose_answer("a que correo le escribo pa una cita", [CHANNELS, santiago])
    assert email is not None and email.text == "Correo electrónico: citas@caribesalud.do.", email
    photo = compose_answer(
        "quiero mandarle la foto de la orden por guasap, a que numero", [CHANNELS, santiago]
    )
    assert photo is not None and photo.text == "WhatsApp para citas y resultados: 829-555-0160.", photo
