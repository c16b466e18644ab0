"""The sample centre (taina/sample_kb/medicos.html): its sites, services, doctors and their working hours,
loaded into an empty built-in appointments service (TAINA_APPOINTMENTS_SEED_SAMPLE)."""

from __future__ import annotations

from datetime import time

from adapters.appointments_db import CentreSeed, Hours

SAMPLE_SITES = [
    ("santo-domingo", "Santo Domingo (Piantini)", "Av. Abraham Lincoln núm. 1020"),
    ("santiago", "Santiago (Los Jardines Metropolitanos)", "Av. Juan Pablo Duarte núm. 215"),
]
SAMPLE_SERVICES = [
    ("cardiologia", "Cardiología", 20), ("pediatria", "Pediatría", 20), ("ginecologia", "Ginecología y obstetricia", 20),
    ("medicina-interna", "Medicina interna", 20), ("medicina-general", "Medicina general", 15),
    ("dermatologia", "Dermatología", 20), ("ortopedia", "Ortopedia y traumatología", 20),
    ("endocrinologia", "Endocrinología", 20), ("psicologia", "Psicología", 50),
]  # fmt: skip
MORNING, AFTERNOON, DAY = (time(8), time(12)), (time(14), time(18)), (time(8), time(17))
SAMPLE_DOCTORS: list[tuple[str, str, str, list[Hours]]] = [
    ("almonte", "Dr. Rafael Almonte Peña", "cardiologia", [("santo-domingo", d, MORNING) for d in (0, 2, 4)]),
    ("tavarez", "Dra. Carolina Tavárez", "cardiologia", [("santiago", d, AFTERNOON) for d in (1, 3)]),
    ("rosario", "Dra. Yokasta Rosario", "pediatria", [("santo-domingo", d, MORNING) for d in range(5)]),
    ("guzman", "Dr. Luis Manuel Guzmán", "pediatria", [("santiago", d, DAY) for d in (0, 2, 5)]),
    ("cabral", "Dra. Mariel Cabral", "ginecologia",
     [("santo-domingo", 1, DAY), ("santo-domingo", 3, DAY), ("santiago", 4, DAY)]),
    ("polanco", "Dr. José Ernesto Polanco", "medicina-interna", [("santo-domingo", d, DAY) for d in range(5)]),
    ("batista", "Dra. Ana Julia Batista", "medicina-general", [("santiago", d, DAY) for d in range(6)]),
    ("sencion", "Dra. Paola Sención", "dermatologia", [("santo-domingo", 2, DAY), ("santiago", 3, DAY)]),
    ("jimenez", "Dr. Héctor Jiménez Ureña", "ortopedia", [("santiago", d, DAY) for d in (0, 2)]),
    ("mejia", "Dra. Rosa Elena Mejía", "endocrinologia", [("santo-domingo", 0, DAY)]),
    ("fermin", "Lic. Miguel Ángel Fermín", "psicologia", [("santiago", d, DAY) for d in range(5)]),
]  # fmt: skip

SAMPLE_CENTRE = CentreSeed(SAMPLE_SITES, SAMPLE_SERVICES, SAMPLE_DOCTORS)
