"""The embedded policy, turn by turn with canned tool results: finding an appointment by the patient's name and
phone in any order, questions asked in the middle of a task, questions asked again in other words, and names
spelled with their accents. The phrasings are made up for these tests."""

from __future__ import annotations

import json
from typing import Any

from adapters.policy.details import find_name
from adapters.policy.intents import asks_in_passing, classify, is_yes
from adapters.policy.people import spelled
from adapters.policy.policy import DialoguePolicy
from engine.ports.knowledge import Passage
from engine.ports.language import Message, Prompt, TextDelta, ToolCall
from tests.unit.test_details import CATALOGUE, NOW

APPOINTMENT = {
    "appointment_id": "a1", "status": "booked", "service_id": "dermatologia", "doctor_id": "sencion",
    "site_id": "santo-domingo", "service": "Dermatología", "doctor": "Dra. Paola Sención",
    "site": "Santo Domingo (Piantini)", "starts_at": "2026-12-01T10:00:00-04:00",
    "when": "el martes 1 de diciembre a las 10:00 a. m.",
}  # fmt: skip
PARKING = Passage("d1", "Sedes", "Sedes — Parqueo", "La sede de Santo Domingo tiene parqueo gratis.", 1.0)


class Caller:
    """One conversation with the policy: what it says and the tools it calls (answered by ``results``)."""

    def __init__(self, results: dict[str, dict[str, Any]] | None = None) -> None:
        self.policy = DialoguePolicy(CATALOGUE, now=lambda: NOW)
        self.results = results or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def say(self, said: str, passages: tuple[Passage, ...] = ()) -> str:
        events = self.policy.step(Prompt([Message("user", said)], passages=passages, now=NOW))
        text = " ".join(e.text for e in events if isinstance(e, TextDelta))
        calls = [e for e in events if isinstance(e, ToolCall)]
        while calls:
            call = calls[0]
            self.calls.append((call.name, json.loads(call.arguments)))
            result = json.dumps(self.results.get(call.name, {"error": "no result"}))
            messages = [
                Message("user", said),
                Message("assistant", "", (call,)),
                Message("tool", result, tool_call_id=call.id),
            ]
            events = self.policy.step(Prompt(messages, now=NOW))
            text = " ".join([text, *(e.text for e in events if isinstance(e, TextDelta))]).strip()
            calls = [e for e in events if isinstance(e, ToolCall)]
        return text


def test_the_patients_name_given_before_the_phone_is_kept_and_the_phone_asked_otherwise() -> None:
    caller = Caller({"find_appointments": {"appointments": [APPOINTMENT]}})
    first = caller.say("buenas tardes, necesito cancelar una cita que tengo con la dermatóloga")
    assert "teléfono" in first
    second = caller.say("josefina altagracia almonte")
    assert "no le entendí" not in second and "teléfono" in second and second != first
    found = caller.say("ocho cero nueve, cinco cinco cinco, once, veintidós")
    assert caller.calls == [
        ("find_appointments", {"patient_phone": "8095551122", "patient_name": "Josefina Altagracia Almonte"})
    ]
    assert "¿Confirmo que cancelo" in found


def test_name_and_phone_said_together_are_both_kept_for_the_lookup() -> None:
    caller = Caller({"find_appointments": {"appointments": [APPOINTMENT]}})
    caller.say("quisiera mover mi cita con la doctora sencion")
    caller.say("hector manuel vasquez, mi cel es 829 555 90 12")
    assert caller.calls == [
        ("find_appointments", {"patient_phone": "8295559012", "patient_name": "Héctor Manuel Vásquez"})
    ]


def test_a_new_day_said_before_the_lookup_is_kept_for_after_it() -> None:
    caller = Caller(
        {"find_appointments": {"appointments": [APPOINTMENT]}, "list_available_slots": {"slots": []}}
    )
    caller.say("quiero cambiar la cita de mi esposa")
    caller.say("pa el jueves que viene en la mañana")
    caller.say("la cita es de ella, yolanda beatriz cruz, 809 555 3344")
    tools = [name for name, _ in caller.calls]
    assert tools[:2] == ["find_appointments", "list_available_slots"]
    assert caller.calls[1][1]["date"] == "2026-11-26"


def test_not_going_then_a_new_day_is_a_move() -> None:
    caller = Caller({"find_appointments": {"appointments": [APPOINTMENT]}})
    caller.say("hola, el martes no voy a poder llegar a la cita")
    caller.say("pero pal viernes en la tarde si puedo")
    assert caller.policy.booking is not None and caller.policy.booking.task is not None
    assert caller.policy.booking.task.kind == "reschedule"


def test_a_question_in_the_middle_is_answered_and_the_task_goes_on() -> None:
    caller = Caller()
    asked = caller.say("quiero cancelar mi cita del martes")
    answered = caller.say("y ahi tienen parqueo", passages=(PARKING,))
    assert "parqueo gratis" in answered and "teléfono" in answered and answered != asked
    assert caller.policy.booking is not None and caller.policy.booking.task is not None
    assert caller.policy.booking.task.name is None  # the question is no name


def test_a_question_asked_with_the_request_is_answered_before_the_task_starts() -> None:
    deadline = Passage(
        "d2", "Política de citas", "Política de citas — Cambiar o cancelar una cita",
        "Puede cambiar o cancelar su cita sin costo hasta 24 horas antes.", 1.0,
    )  # fmt: skip
    said = Caller().say(
        "quiero mover mi cita del viernes pa la otra semana, se puede y hasta cuando puedo hacer el cambio",
        passages=(deadline,),
    )
    assert said.startswith("Puede cambiar o cancelar su cita sin costo hasta 24 horas antes."), said
    assert "teléfono" in said  # and the move goes on


def test_a_request_is_not_prefaced_by_an_answer_the_documents_do_not_give() -> None:
    said = Caller().say("quiero una cita con la pediatra, hasta cuando tienen", passages=(PARKING,))
    assert not said.startswith(("Sobre eso", "Ese precio")) and "parqueo" not in said, said


def test_questions_without_a_question_mark_are_told_from_details() -> None:
    for said in ("me cobran algo por moverla", "otra pregunta, hay que llevar la cedula",
                 "y el seguro me cubre eso"):  # fmt: skip
        assert asks_in_passing(said), said
    for said in (
        "pa el lunes a las diez",
        "si fuera mas tarde, tiene algo tipo tres",
        "a nombre de ana perez",
    ):
        assert not asks_in_passing(said), said
    assert classify("oiga, me cobran algo si la muevo") == "information"


def test_names_for_someone_else_and_names_that_are_no_names() -> None:
    assert find_name("la de mi mamá, carmen rosa nuñez", expecting=False) == "Carmen Rosa Núñez"
    assert find_name("mi hija es maria jose peña", expecting=False) == "María José Peña"
    assert find_name(
        "es para mi suegro que no puede venir, a nombre de julio cesar diaz", expecting=False
    ) == ("Julio César Díaz")
    assert find_name("si me cobran mucho mejor la dejo", expecting=True) is None
    assert find_name("la de las diez", expecting=False) is None


def test_yes_variants_and_conditionals() -> None:
    for said in ("ajá, así mismo", "si mi reina, está bien", "sí señor, dale"):
        assert is_yes(said), said
    assert not is_yes("si fuera el viernes mejor")


def test_common_names_get_their_accents_unknown_ones_stay_as_heard() -> None:
    assert spelled("jesus ramon gonzalez") == "Jesús Ramón González"
    assert spelled("yoselin de la rosa") == "Yoselin de la Rosa"
    assert spelled("Andrés Lopez") == "Andrés López"


def test_a_service_and_a_day_open_a_booking_and_a_day_after_an_answer_books_with_its_doctor() -> None:
    caller = Caller({"list_available_slots": {"slots": []}})
    caller.say("buenas tardes, seria pa dermatologia el lunes")
    assert caller.calls[0][0] == "list_available_slots"
    assert caller.calls[0][1]["service_id"] == "dermatologia" and caller.calls[0][1]["date"] == "2026-11-30"

    after = Caller({"list_available_slots": {"slots": []}})
    after.say("oiga, la doctora sencion atiende los jueves")
    after.say("bueno, pa el jueves a las diez entonces")
    assert after.calls and after.calls[0][1]["doctor_id"] == "sencion"
    assert after.calls[0][1]["from_time"] == "10:00"


def test_a_name_and_phone_given_before_any_request_are_kept() -> None:
    caller = Caller({"find_appointments": {"appointments": [APPOINTMENT]}})
    hello = caller.say("saludos, me llamo ines maria batista, mi telefono es 829 555 1010")
    assert "Inés María Batista" in hello and "No tengo esa información" not in hello
    caller.say("necesito anular la cita con la doctora sencion")
    assert caller.calls == [
        ("find_appointments", {"patient_phone": "8295551010", "patient_name": "Inés María Batista"})
    ]


def test_early_afternoon_and_a_yes_after_a_filler() -> None:
    from adapters.policy.when import parse_when

    assert parse_when("temprano en la tarde, como a las tres", NOW).at is not None
    assert parse_when("temprano en la tarde, como a las tres", NOW).part_of_day == "tarde"
    assert parse_when("mañana temprano", NOW).part_of_day == "mañana"
    assert is_yes("bueno pues, sí, muévala") and not is_yes("bueno, no")


def test_another_detail_than_the_one_asked_is_acknowledged_and_the_question_asked_otherwise() -> None:
    caller = Caller()
    first = caller.say("quiero una cita con el pediatra")
    second = caller.say("en santiago")
    assert "día" in first and "día" in second
    assert second.startswith("Perfecto, anotado.") and second.split("?")[0] != first.split("?")[0]


def test_a_greeting_with_the_callers_name_greets_them_by_it_and_a_number_in_a_question_is_not_kept() -> None:
    caller = Caller()
    hello = caller.say("hola, soy gisela nuñez")
    assert "Gisela Núñez" in hello and hello.endswith("?")
    assert caller.policy.booking is not None and caller.policy.booking.known_name == "Gisela Núñez"
    caller.say("¿el 809 555 4321 es el número de la sede de santiago?")
    assert caller.policy.booking.known_phone is None


def test_a_day_given_with_a_question_in_passing_is_kept() -> None:
    slots = {"slots": [{"starts_at": "2026-11-30T10:00:00-04:00", "doctor_id": "sencion", "site_id": "santo-domingo",
                        "service_id": "dermatologia", "when": "el lunes 30 de noviembre a las 10:00 a. m.",
                        "doctor": "Dra. Paola Sención", "site": "Santo Domingo (Piantini)"}]}  # fmt: skip
    caller = Caller({"list_available_slots": slots})
    caller.say("quiero una cita con la dermatologa")
    caller.say("el lunes a las diez, y alla tienen parqueo", (PARKING,))
    assert any(name == "list_available_slots" for name, _ in caller.calls)


def test_a_cancellation_described_by_its_day_stays_a_cancellation() -> None:
    caller = Caller({"find_appointments": {"appointments": [APPOINTMENT]}})
    caller.say("quiero cancelar mi cita")
    said = caller.say("ana perez, la que tengo para el martes")
    assert "cambiar" not in said.lower()
