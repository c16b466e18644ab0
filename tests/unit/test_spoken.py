from __future__ import annotations

import pytest

from engine.spoken import speakable


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("La consulta cuesta RD$1,500.", "La consulta cuesta mil quinientos pesos."),
        ("Son RD$ 2,800.50 en total.", "Son dos mil ochocientos pesos con cincuenta centavos en total."),
        ("Cuesta RD$1.", "Cuesta un peso."),
        (
            "Abrimos a las 7:30 a. m. y cerramos a las 8:00 p. m.",
            "Abrimos a las siete y media de la mañana y cerramos a las ocho de la noche.",
        ),
        ("La cita es a las 15:45.", "La cita es a las tres y cuarenta y cinco de la tarde."),
        ("A la 1:00 p. m. Luego vemos.", "A la una de la tarde. Luego vemos."),
        ("Hasta las 12:00 del mediodía.", "Hasta las doce del mediodía."),
        ("El 1 de diciembre a las 13:15.", "El primero de diciembre a la una y cuarto de la tarde."),
        ("Su cita es el 5/12/2026.", "Su cita es el cinco de diciembre de dos mil veintiséis."),
        ("Nos vemos el 2026-12-05.", "Nos vemos el cinco de diciembre de dos mil veintiséis."),
        ("Llame al 809-555-0142.", "Llame al ocho cero nueve, cinco cinco cinco, cero uno cuatro dos."),
        ("Con la Dra. Peña y el Dr. Almonte.", "Con la doctora Peña y el doctor Almonte."),
        (
            "Av. Abraham Lincoln núm. 1020, C/ Gustavo Mejía.",
            "avenida Abraham Lincoln número mil veinte, calle Gustavo Mejía.",
        ),
        ("Un descuento del 10 %.", "Un descuento del diez por ciento."),
        ("Tenemos 21 médicos.", "Tenemos veintiún médicos."),
        ("Son 2.5 horas.", "Son dos punto cinco horas."),
        ("Sin números ni siglas.", "Sin números ni siglas."),
    ],
)
def test_written_spanish_becomes_spoken_spanish(written: str, spoken: str) -> None:
    assert speakable(written) == spoken


def test_impossible_times_and_dates_are_left_as_numbers() -> None:
    assert speakable("a las 25:99") == "a las veinticinco:noventa y nueve"
    assert "cuarenta de" not in speakable("el 40/13")
