"""Answers by answer type: the sentence that names what was asked and holds a value of the kind asked for; what
the documents do not say is said so, with no other service's price; no fragments, no borrowed "sí"."""

from __future__ import annotations

import re

from adapters.policy.answer_types import answer_type, normalise
from adapters.policy.answers import NOT_IN_PRICES, compose_answer
from adapters.policy.names import names
from engine.ports.knowledge import Passage

PRICES = Passage(
    "precios", "Lista de precios 2026", "Consultas",
    "Precios para pacientes sin seguro (tarifa privada), en pesos dominicanos (RD$). Con seguro, el paciente paga\n"
    "solo el copago de su plan.\nConsulta de cardiología: RD$3,000.\nConsulta de pediatría: RD$2,500.\n"
    "Consulta de ginecología y obstetricia: RD$2,800.\nSonografía abdominal: RD$2,800.",
    1.0, 0.84,
)  # fmt: skip
DOCTORS = Passage(
    "medicos", "Nuestros médicos", "Cardiología",
    "Dr. Rafael Almonte Peña, cardiólogo: consulta en Santo Domingo los lunes, miércoles y viernes por la mañana.\n"
    "Dra. Carolina Tavárez, cardióloga: consulta en Santiago los martes y jueves por la tarde.\n"
    "Realiza pruebas de esfuerzo.",
    0.9, 0.85,
)  # fmt: skip
HOURS = Passage(
    "horarios", "Horarios por sede", "Sede Santiago (Los Jardines Metropolitanos)",
    "Consultas: lunes a viernes de 7:30 a. m. a 6:00 p. m.; sábados de 8:00 a. m. a 12:00 del mediodía.\n"
    "La sede de Santiago cierra los domingos y los días feriados.",
    0.8, 0.83,
)  # fmt: skip
SERVICES = Passage(
    "servicios", "Servicios", "Vacunas",
    "Sí, el vacunatorio de pediatría de la sede de Santo Domingo aplica las vacunas de lunes a viernes, sin cita.\n"
    "La neurología se ofrece en las dos sedes.",
    0.7, 0.84,
)  # fmt: skip
ALL = [PRICES, DOCTORS, HOURS, SERVICES]


SONOGRAPHY = Passage(
    "prep", "Preparación para estudios", "Sonografía abdominal",
    "Venga en ayunas de 6 horas.\nEl día anterior cene ligero y evite las bebidas gaseosas y los granos.", 1.0, 0.89,
)  # fmt: skip


def answer(question: str) -> str:
    found = compose_answer(question, ALL)
    assert found is not None
    return found.text


def test_the_type_of_the_question() -> None:
    assert answer_type(normalise("cuanto e que cuesta el cardiologo")) == "price"
    assert answer_type(normalise("hasta que hora abren en santiago")) == "schedule"
    assert answer_type(normalise("quien e la pediatra")) == "person"
    assert answer_type(normalise("donde queda la sede")) == "place"
    assert answer_type(normalise("tienen pediatra")) == "yesno"
    assert answer_type(normalise("tienen guasap")) == "contact"
    assert answer_type(normalise("cual es la direccion exacta de santiago, con el numero")) == "place"
    assert answer_type(normalise("cual es la direccion de correo")) == "contact"
    assert answer_type(normalise("donde se estaciona uno cuando va a la sede")) == "place"
    assert answer_type(normalise("el laboratorio abre lo domingo")) == "schedule"  # "lo" for "los"
    assert answer_type(normalise("quien tiene que ir con un menor a la consulta")) != "person"  # not a doctor
    assert answer_type(normalise("quien atiende la pediatria")) == "person"
    assert answer_type(normalise("por donde me mandan los resultados, tienen whatsapp")) == "contact"
    assert (
        normalise("tienen guasap pa mi nina de 16 anos", also=False)
        == "tienen whatsapp pa mi ninos de menores"
    )
    assert normalise("tienen guasap pa mi nina de 16 anos").endswith("menores adolescentes")


def test_a_price_question_gets_the_price_line_of_what_was_asked() -> None:
    assert (
        answer("klk, cuanto e que cuesta la consulta del cardiologo") == "Consulta de cardiología: RD$3,000."
    )
    assert answer("cuanto cobran pa que el pediatra me vea la niña") == "Consulta de pediatría: RD$2,500."
    assert "RD$2,800" in answer("cuanto sale la consulta de ginecologia")  # "ginecología y obstetricia"


def test_a_price_the_documents_do_not_list_is_not_borrowed_from_another_service() -> None:
    assert compose_answer("cuanto cuesta la sonografia pelvica", ALL) is None  # nothing near it either
    said = answer("cuanto vale la consulta del neurologo")
    assert said.startswith(NOT_IN_PRICES) and "RD$" not in said
    assert "neurología se ofrece en las dos sedes" in said  # the nearest thing they do say


def test_schedule_and_person_questions_get_the_sentence_with_that_kind_of_value() -> None:
    assert answer("a que hora abren las consultas en santiago").startswith(
        "Consultas: lunes a viernes de 7:30"
    )
    stress = answer("que doctora hace las pruebas de esfuerzo")
    assert (
        "Tavárez" in stress and "pruebas de esfuerzo" in stress
    )  # the entry and its last sentence, together
    stress_test = Passage(
        "prep", "Preparación para estudios", "Prueba de esfuerzo",
        "No tome café ni fume en las 4 horas anteriores.\nComa algo ligero dos horas antes.", 1.0, 0.86,
    )  # fmt: skip
    eat = answer_from("¿Puedo comer antes de la prueba de esfuerzo? ¿Cuánto tiempo antes?", [stress_test])
    assert eat.startswith("Coma algo ligero dos horas antes."), eat  # a time in words is a time too


def test_a_line_the_page_wrapped_is_read_whole() -> None:
    said = answer("con seguro cuanto pago")
    assert said.endswith("Con seguro, el paciente paga solo el copago de su plan.")


def test_a_yes_about_somewhere_else_is_not_a_yes() -> None:
    said = answer("vacunan en santiago")
    assert not said.startswith("Sí") and "Santo Domingo" in said


def test_nothing_to_say_is_none() -> None:
    assert compose_answer("como ta el tiempo hoy", ALL) is None
    assert compose_answer("cual e la capital de francia", ALL) is None
    assert compose_answer("cuanto cuesta la consulta de cardiologia", []) is None


def test_the_city_is_not_a_sunday() -> None:
    sunday = answer("la sede de santiago abre los domingo")
    assert "domingos" in sunday and "Santo Domingo" not in sunday


def test_prices_asked_about_in_general_get_the_lists_own_sentence_and_a_question() -> None:
    """No service named ("información sobre los precios"): what the list says of itself, no figure, and which
    service; never "No tengo esa información" (seen: the browser test's opening question got it)."""
    for question in ("Buenos días, necesito información sobre los precios.", "que precios tienen"):
        said = answer(question)
        assert said.startswith("Precios para pacientes sin seguro"), said
        assert "¿De qué consulta o estudio" in said and "3,000" not in said, said
    assert "RD$3,000" in answer("Buenas tardes, ¿cuánto cuesta la consulta de cardiología?")


CONTACT = Passage(
    "contacto", "Contacto y cómo llegar", "Sede Santo Domingo",
    "Dirección: Av. Abraham Lincoln núm. 1020, Piantini, Santo Domingo. Está a dos cuadras de la plaza Blue Mall,\n"
    "frente a la farmacia Carol.\nTeléfono: 809-555-0142.",
    0.9, 0.84,
)  # fmt: skip
INSURERS = Passage(
    "seguros", "Seguros médicos (ARS) aceptados", "ARS con las que tenemos acuerdo",
    "ARS Futuro: sí en consultas; laboratorio e imágenes, solo laboratorio.\n"
    "Para reservar le pediremos su nombre y su seguro médico (ARS) si lo tiene.\n"
    "La resonancia magnética necesita autorización previa de la ARS.",
    0.9, 0.84,
)  # fmt: skip
MORE = [*ALL, CONTACT, INSURERS]


def test_a_name_the_documents_do_not_hold_gets_no_fact_about_its_common_word() -> None:
    """ "ARS Reservas" is not "reservar"; "Banco Popular" is not a price; a named ARS the documents hold is."""
    for question in ("la ars reservas me cubre la resonancia", "¿Trabajan con la ARS Reservas?"):
        found = compose_answer(question, MORE)
        assert found is None or not re.search(r"reservar|^S[ií]\b|\d", found.text), found
    assert compose_answer("cuanto cuesta la consulta en el Hospital Plaza", MORE) is None
    assert "ARS Futuro" in answer_from("me cogen la ARS Futuro", MORE)
    renacer = compose_answer("me cogen la ars renacer", MORE)  # a name that looks like a verb is still a name
    assert renacer is None or renacer.text.startswith("Sobre eso en concreto no tengo"), renacer


def test_a_question_sharing_only_a_city_with_the_documents_is_not_answered() -> None:
    assert compose_answer("como ta el tiempo hoy en Santo Domingo", MORE) is None
    assert compose_answer("hay un hotel bueno en santiago", MORE) is None
    assert compose_answer("a que hora sale la guagua pa santiago", MORE) is None
    assert "7:30" in answer_from("a que hora abren en santiago", MORE)  # the city and what is asked of it


def test_a_landmark_is_not_something_the_clinic_has() -> None:
    assert compose_answer("tienen farmacia", MORE) is None
    assert "farmacia Carol" in answer_from("donde queda la farmacia Carol", MORE)


def answer_from(question: str, passages: list[Passage]) -> str:
    found = compose_answer(question, passages)
    assert found is not None
    return found.text


def test_the_sentence_holding_the_name_asked_about_wins() -> None:
    """ "¿La ARS Futuro cubre los estudios de imágenes?": the ARS Futuro line, not a general sentence about
    imaging studies that shares as many words."""
    authorisation = Passage(
        "seguros", "Seguros médicos (ARS) aceptados", "Copago y autorizaciones",
        "Los estudios de imágenes como tomografía y resonancia necesitan autorización previa de la ARS; nuestra\n"
        "recepción la gestiona por usted en un máximo de 24 horas.",
        1.0, 0.86,
    )  # fmt: skip
    said = answer_from("la ARS futuro cubre los estudios de imagenes", [INSURERS, authorisation])
    assert said.startswith("ARS Futuro:"), said


def test_a_sentence_that_adds_to_the_one_before_comes_after_it() -> None:
    """ "También puede retirarlos impresos..." says "también" of the sentence before it: that one holds the main
    answer (the portal), said first, or alone when both are too long to say."""
    results = Passage(
        "faq", "Preguntas frecuentes", "¿Dónde veo mis resultados?",
        "Los resultados se pueden ver en el portal del paciente.\n"
        "También puede retirarlos impresos en la recepción de la sede donde se hizo el estudio.",
        1.0, 0.85,
    )  # fmt: skip
    said = answer_from("donde veo los resultados de mis estudios", [results])
    assert said.startswith("Los resultados se pueden ver en el portal"), said


def test_what_was_asked_is_not_dropped_for_the_sentence_it_adds_to() -> None:
    """Both too long to say: the one before is cut at a clause when the "también" sentence holds the word asked
    about ("impresos"), and said whole and alone when it does not."""
    results = Passage(
        "faq", "Preguntas frecuentes", "¿Dónde veo mis resultados?",
        "Los resultados del laboratorio y de imágenes se pueden ver en el portal del paciente en la página web, con "
        "su número de cédula y el código que aparece en la factura.\n"
        "También puede retirarlos impresos en la recepción de la sede donde se hizo el estudio.",
        1.0, 0.88,
    )  # fmt: skip
    printed = answer_from("los resultados impresos donde e que uno los busca", [results])
    assert printed.endswith(
        "También puede retirarlos impresos en la recepción de la sede donde se hizo el estudio."
    )
    assert printed.startswith("Los resultados del laboratorio y de imágenes se pueden ver en el portal"), (
        printed
    )
    online = answer_from("como veo los resultados en la pagina de internet", [results])
    assert "cédula" in online and "impresos" not in online, online


def test_a_yes_or_no_question_gets_the_sentence_that_says_yes_or_no_not_a_price_line() -> None:
    """ "¿Hay que hacer cita pa los análisis de sangre?": the sentence that says "sin cita", not the price of a
    blood test (a price list's line answers only a price) nor the sampling hours under the heading "Análisis de
    sangre"."""
    lab = Passage(
        "servicios", "Servicios", "Laboratorio clínico",
        "El laboratorio clínico realiza hemograma y pruebas de embarazo.\n"
        "La toma de muestras es por orden de llegada, sin cita.",
        1.0, 0.87,
    )  # fmt: skip
    prices = Passage(
        "precios", "Lista de precios 2026", "Laboratorio",
        "Hemograma completo: RD$450.\nPrueba de embarazo en sangre: RD$700.", 1.0, 0.88,
    )  # fmt: skip
    preparation = Passage(
        "preparacion", "Preparación para estudios", "Análisis de sangre",
        "Venga en ayunas de 8 a 12 horas.\nLa toma de muestras es de lunes a sábado de 6:30 a 10:00 de la mañana.",
        1.0, 0.90,
    )  # fmt: skip
    said = answer_from("hay que hacer cita pa los analisis de sangre", [lab, prices, preparation])
    assert said == "La toma de muestras es por orden de llegada, sin cita."
    assert "RD$700" in answer_from(
        "cuanto cuesta la prueba de embarazo en sangre", [lab, prices, preparation]
    )


def test_a_verb_after_a_kind_of_place_is_no_name() -> None:
    assert names("el laboratorio funciona los domingos") == []
    assert names("la farmacia abre temprano") == []
    assert names("la ars reservas me cubre") == [("ars", "reservas")]
    assert names("¿Aceptan tarjetas del Banco Popular?") == [("banco", "popular")]


def test_a_yes_that_answers_another_question_is_not_said() -> None:
    """The sentence opens with "Sí," (there is a pool) but says no of what was asked (a fee)."""
    pool = Passage(
        "club", "Servicios", "Piscina", "Sí, la piscina abre todos los días y no tiene costo.", 1.0, 0.9
    )
    found = compose_answer("la piscina tiene costo", [pool])
    assert found is not None and not found.text.startswith("Sí") and "no tiene costo" in found.text


def test_only_at_another_place_is_a_no() -> None:
    scans = Passage(
        "sedes", "Servicios", "Imágenes", "La densitometría solo se hace en la sede de Santiago.", 1.0, 0.9
    )
    found = compose_answer("en santo domingo hacen densitometria", [scans])
    assert found is not None and found.text.startswith("No.")
    found = compose_answer("en santiago hacen densitometria", [scans])
    assert found is not None and not found.text.startswith("No")


def test_a_sentence_that_says_no_of_what_was_asked_is_a_no() -> None:
    assert answer("abren los domingo en santiago").startswith("No. La sede de Santiago cierra los domingos")
    assert answer("la sede de santiago abre los dias feriados").startswith("No. La sede de Santiago cierra")
    # A question that says no itself is not answered with a bare "No".
    assert not answer("en santiago no abren los domingos").startswith("No.")


def test_santo_domingo_is_no_day_asked_about() -> None:
    hours = Passage(
        "horarios", "Horarios por sede", "Sede Santo Domingo (Piantini)",
        "Consultas: lunes a viernes de 7:00 a. m. a 8:00 p. m.; sábados de 8:00 a. m. a 1:00 p. m.",
        0.8, 0.83,
    )  # fmt: skip
    found = compose_answer("el sabado hasta que hora dan consulta en santo domingo", [hours])
    assert found is not None and found.text.startswith("Consultas:"), found  # not "No." (closed on Sundays)


def test_an_everyday_word_and_the_documents_word_count_as_one() -> None:
    """ "pecho" also says "tórax": a sentence with either is about what was asked, not half of it."""
    xray = Passage(
        "prep",
        "Preparación",
        "Radiografía de tórax",
        "Para la radiografía de tórax quítese collares y aretes.",
        1.0,
        0.9,
    )
    found = compose_answer("pa la placa del pecho que me quito", [xray])
    assert found is not None and "collares" in found.text


def test_what_the_caller_did_is_story_not_a_thing_the_documents_lack() -> None:
    hours = Passage(
        "horas",
        "Horarios",
        "Farmacia",
        "La farmacia atiende de lunes a viernes de 8:00 a. m. a 6:00 p. m.",
        1.0,
        0.9,
    )
    found = compose_answer("hasta que hora me despachan en la farmacia", [hours])
    assert found is not None and found.text.startswith("La farmacia")
    assert "6:00" not in str(compose_answer("hasta que hora abre el gimnasio", [hours]))  # a thing it lacks


def test_where_a_thing_is_not_the_site_that_lacks_it() -> None:
    text = (
        "La sede del Este no tiene laboratorio.\nEl laboratorio de la sede de Naco está en el segundo piso."
    )
    labs = Passage("sedes", "Sedes", "Laboratorio", text, 1.0, 0.9)
    found = compose_answer("y el laboratorio donde e que ta", [labs])
    assert found is not None and found.text.startswith("El laboratorio de la sede de Naco")


def test_a_fee_is_said_with_its_exception_when_the_caller_named_it() -> None:
    text = (
        "Si no viene a la cita se cobra un cargo de RD$400.\nLos accidentes documentados no pagan ese cargo."
    )
    rules = Passage("reglas", "Citas", "Ausencias", text, 1.0, 0.9)
    found = compose_answer("falte a la cita porque tuve un accidente, me van a cobrar", [rules])
    assert found is not None and "RD$400" in found.text and "accidentes" in found.text
    found = compose_answer("si no voy a la cita me cobran", [rules])
    assert found is not None and "accidentes" not in found.text


def test_a_section_the_caller_named_beats_the_one_beside_it() -> None:
    """Asked about the colonoscopy, the sonography's "el día anterior cene ligero" shares more words with the
    question than the colonoscopy's own sentence; it is under another section of the same page."""
    colono = Passage(
        "prep", "Preparación para estudios", "Colonoscopia",
        "Siga la dieta líquida el día anterior y tome el laxante que le indicaron.\n"
        "Debe venir con un acompañante adulto.",
        1.0, 0.88,
    )  # fmt: skip
    said = answer_from("que puedo comer el dia antes de la colonoscopia", [SONOGRAPHY, colono])
    assert said.startswith("Siga la dieta líquida"), said


def test_both_sites_name_the_site_asked_about() -> None:
    said = answer("hay neurologo en santiago pa mi mama que le dan mucho dolore de cabeza")
    assert said == "La neurología se ofrece en las dos sedes.", said


def test_a_doctors_price_is_the_price_of_their_specialty() -> None:
    """ "¿Cuánto cobra el dotol Almonte?": the doctors' list says he is a cardiologist; the price list has no names."""
    said = answer("mi mama tiene la presion alta, cuanto ta la consulta con el dotol almonte sin seguro")
    assert said == "Consulta de cardiología: RD$3,000.", said


def test_what_the_caller_does_is_not_something_the_documents_lack() -> None:
    """ "¿Dónde uno se parquea...?": a verb of the caller's, unknown to the documents, is no thing asked about
    that they would have to hold for a sentence to answer."""
    from adapters.policy.words import doings_in

    assert doings_in("como me conecto al wifi") == {"conect"}
    parking = Passage(
        "faq", "Preguntas frecuentes", "¿Tienen estacionamiento?",
        "La sede de Santiago tiene parqueo al frente, gratis para pacientes.", 1.0, 0.88,
    )  # fmt: skip
    found = compose_answer("y en santiago donde uno deja el carro cuando se atrasa", [parking])
    assert found is not None and found.text.startswith("La sede de Santiago tiene parqueo"), found


def test_a_sentence_that_says_to_avoid_what_was_asked_is_a_no() -> None:
    said = answer_from(
        "klk, la noche ante de la sonografía de la barriga me puedo tomá un refresco", [SONOGRAPHY]
    )
    assert said.startswith("No. El día anterior cene ligero y evite las bebidas gaseosas"), said


def test_what_happens_then_comes_with_the_sentence_it_goes_on_from() -> None:
    insurers = Passage(
        "ars", "Seguros médicos", "ARS con las que no tenemos acuerdo",
        "No tenemos acuerdo con ARS Senasa subsidiado ni con seguros internacionales de reembolso.\n"
        "En esos casos el paciente paga la tarifa privada y recibe la factura para reclamar a su seguro.",
        1.0, 0.86,
    )  # fmt: skip
    said = answer_from("tengo senasa subsidiado, como hago pa que me atiendan alla", [insurers])
    assert said.endswith(
        "En esos casos el paciente paga la tarifa privada y recibe la factura para reclamar a su seguro."
    )


def test_a_name_asked_of_a_doctor_the_documents_do_not_name_is_said_not_exact() -> None:
    services = Passage(
        "servicios", "Servicios", "Consultas de especialidades",
        "Ofrecemos consulta en cardiología, neurología y psicología.", 1.0, 0.86,
    )  # fmt: skip
    said = answer_from("como se llama el neurologo", [services])
    assert said.startswith("Sobre eso en concreto no tengo información exacta."), said


def test_arriving_without_an_appointment_is_no_place_question() -> None:
    assert answer_type(normalise("pa la sonografia puedo llegar asi sin cita")) != "place"
    assert answer_type(normalise("como llego a la sede de santiago")) == "place"


def test_what_is_near_the_site_is_its_address_with_its_landmark() -> None:
    santiago = Passage(
        "contacto", "Contacto y cómo llegar", "Sede Santiago",
        "Dirección: Av. Juan Pablo Duarte núm. 215, Santiago, al lado del Monumento.\n"
        "La sede de Santiago tiene parqueo al frente, gratis para pacientes.", 1.0, 0.87,
    )  # fmt: skip
    said = answer_from("la sede de santiago queda cerca de que", [santiago])
    assert said.startswith("Dirección:") and "Monumento" in said, said


def test_a_reply_to_a_message_comes_after_the_message() -> None:
    confirm = Passage(
        "citas", "Política de citas", "Confirmación",
        "Un día antes de la cita le enviamos un recordatorio por WhatsApp.\n"
        "Responda SÍ para confirmar o NO para cancelar.", 1.0, 0.87,
    )  # fmt: skip
    said = answer_from("como confirmo la cita", [confirm])
    assert said.startswith("Un día antes de la cita le enviamos un recordatorio por WhatsApp. Responda SÍ"), (
        said
    )


def test_hours_or_another_site_are_no_no() -> None:
    """Found by review: a closing hour, a part of the day or another site's closure is not a "No."."""
    lab = Passage(
        "h", "Horarios", "Laboratorio", "El laboratorio cierra los sábados a las 12:00 del mediodía.", 1, 0.9
    )
    doctor = Passage(
        "m", "Médicos", "Pediatría", "Dra. Yokasta Rosario: no atiende los lunes por la tarde.", 1, 0.9
    )
    site = Passage(
        "h",
        "Horarios",
        "Sede Santiago",
        "La sede de Santiago cierra los domingos y los días feriados.",
        1,
        0.9,
    )
    for question, passage in [
        ("el laboratorio abre los sabados", lab),
        ("la doctora rosario atiende los lunes", doctor),
        ("la clinica abre los dias feriados", site),
    ]:
        assert not answer_from(question, [passage]).startswith("No."), question
    assert answer_from("la sede de santiago abre los dias feriados", [site]).startswith("No.")


def test_review_cases_of_the_question_type() -> None:
    assert answer_type(normalise("a donde llamo si tengo una emergencia en santo domingo")) == "contact"
    assert answer_type(normalise("ya tengo la direccion, hasta que hora abren en santiago")) == "schedule"
    assert answer_type(normalise("cual es la direccion web")) == "contact"


def test_a_price_the_question_names_itself_comes_before_the_doctors_visit() -> None:
    prices = Passage(
        "p",
        "Precios",
        "Estudios",
        "Consulta de cardiología: RD$3,000.\nPrueba de esfuerzo: RD$6,500.",
        1.0,
        0.9,
    )
    almonte = Passage(
        "m", "Médicos", "Cardiología", "Dr. Rafael Almonte Peña, cardiólogo: consulta los lunes.", 1.0, 0.9
    )
    stress = answer_from("cuanto cobra el doctor almonte por la prueba de esfuerzo", [prices, almonte])
    assert stress == "Prueba de esfuerzo: RD$6,500.", stress
