"""Spanish dates and times as people say them, with "now" fixed (Wednesday 25 November 2026, 9:00)."""

from __future__ import annotations

from datetime import date, time

import pytest

from adapters.policy.booking import _new_when
from adapters.policy.when import When, parse_when
from taina.clinic.clock import now_in_clinic

NOW = now_in_clinic("2026-11-25T09:00:00")


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("mañana a las tres y media", When(date(2026, 11, 26), time(15, 30))),
        ("el jueves que viene en la tarde", When(date(2026, 11, 26), None, "tarde")),
        ("pasado mañana temprano", When(date(2026, 11, 27), None, "mañana")),
        ("el 5 de diciembre a las 10", When(date(2026, 12, 5), time(10, 0))),
        ("no, mejor a las cuatro", When(None, time(16, 0))),
        (
            "el jueves de la semana que viene a las 9 de la mañana",
            When(date(2026, 12, 3), time(9, 0), "mañana"),
        ),
        ("el cinco de diciembre a las once y cuarto", When(date(2026, 12, 5), time(11, 15))),
        ("hoy en la tarde", When(date(2026, 11, 25), None, "tarde")),
        ("el lunes a la una", When(date(2026, 11, 30), time(13, 0))),
        ("a las cuatro menos cuarto", When(None, time(15, 45))),
        ("el 28", When(date(2026, 11, 28))),
        ("el 3 a las 8:30", When(date(2026, 12, 3), time(8, 30))),
        ("el Miércoles", When(date(2026, 12, 2))),
        ("a las 8 de la noche", When(None, time(20, 0), "noche")),
        ("el 15 de enero", When(date(2027, 1, 15))),
        ("quiero una cita", When()),
        # A weekday with a day of the month is the date that is both.
        ("el miércoles nueve", When(date(2026, 12, 9))),
        ("El lunes treinta", When(date(2026, 11, 30))),
        ("pal viernes cuatro a las once", When(date(2026, 12, 4), time(11, 0))),
        ("el sábado 5, temprano", When(date(2026, 12, 5), None, "mañana")),
        ("el martes primero de diciembre", When(date(2026, 12, 1))),
        ("el jueves diez, en la tarde", When(date(2026, 12, 10), None, "tarde")),
        ("el miércoles veinticinco", When(date(2026, 11, 25))),
        ("el viernes a las cuatro", When(date(2026, 11, 27), time(16, 0))),
        # Places named after a weekday are no day.
        ("en Santo Domingo", When()),
        ("en Santo Domingo, el martes a las tres", When(date(2026, 12, 1), time(15, 0))),
        ("vivo en Domingo Savio", When()),
        ("el domingo", When(date(2026, 11, 29))),
        ("para el nueve en la mañana", When(date(2026, 12, 9), None, "mañana")),
        ("el día quince", When(date(2026, 12, 15))),
        ("es el ocho cero nueve, cinco cinco cinco", When()),
        # Approximate times are times; of two alternatives the first is searched; "la de las..." picks one.
        (
            "el miercole 2 de diciembre en la tarde, tipo dos y veinte",
            When(date(2026, 12, 2), time(14, 20), "tarde"),
        ),
        ("el viernes temprano, como a las diez si hay", When(date(2026, 11, 27), time(10, 0), "mañana")),
        ("en la mañana, como a las nueve y media o diez", When(None, time(9, 30), "mañana")),
        ("más o menos a las once", When(None, time(11, 0))),
        ("a eso de las tres", When(None, time(15, 0))),
        ("la de las nueve y cuarenta", When(None, time(9, 40))),
        ("tengo como un dolor", When()),
        ("no, mejor las tres", When(None, time(15, 0))),
        ("por ahí de las once y media", When(None, time(11, 30))),
        ("antes de las diez", When()),  # not a time to search from
    ],
)
def test_when_people_say_it(said: str, expected: When) -> None:
    assert parse_when(said, NOW) == expected


def test_a_correction_replaces_only_what_it_says() -> None:
    first = parse_when("mañana a las tres", NOW)
    corrected = parse_when("no, mejor a las cuatro", NOW).merged_into(first)
    assert corrected == When(date(2026, 11, 26), time(16, 0))
    later = parse_when("mejor en la mañana", NOW).merged_into(corrected)
    assert later == When(date(2026, 11, 26), None, "mañana")


def test_impossible_dates_are_not_invented() -> None:
    assert parse_when("el 31 de febrero", NOW).day is None
    assert parse_when("a las 27", NOW).at is None


def test_taina_now_is_read_in_the_clinic_timezone() -> None:
    assert now_in_clinic("2026-11-25T13:00:00+00:00").hour == 9  # UTC-4
    assert str(now_in_clinic().tzinfo) == "America/Santo_Domingo"


@pytest.mark.parametrize(
    ("said", "dated", "on_the_weekday"),
    [
        ("el martes nueve", date(2026, 12, 9), date(2026, 12, 8)),
        ("el viernes cinco de diciembre", date(2026, 12, 5), date(2026, 12, 4)),
        ("el lunes 2", date(2026, 12, 2), date(2026, 11, 30)),
    ],
)
def test_a_weekday_and_a_day_that_disagree_are_kept_for_a_question(
    said: str, dated: date, on_the_weekday: date
) -> None:
    when = parse_when(said, NOW)
    assert when.day is None and when.unsure == (dated, on_the_weekday) and not when.empty
    # The answer to the question replaces both candidates.
    assert parse_when("el miércoles nueve", NOW).merged_into(when) == When(date(2026, 12, 9))


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("tengo una cita con el doctor Almonte el lunes y quería moverla", When()),  # the appointment's day
        ("Quiero cambiar mi cita del lunes para el viernes", When(date(2026, 11, 27))),
        ("ponla pal viernes 4 a las ocho y media", When(date(2026, 12, 4), time(8, 30))),
        ("tengo una cita pa el lunes y quiero pasarla pal miércoles en la tarde", When(date(2026, 12, 2), None, "tarde")),
    ],
)  # fmt: skip
def test_the_new_day_of_a_move_is_the_one_it_is_moved_to(said: str, expected: When) -> None:
    assert _new_when(said, NOW) == expected
