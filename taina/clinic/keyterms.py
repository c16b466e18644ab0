"""The sample centre's names a speech recognizer should expect: doctors, sites, insurers, specialties
(used when TAINA_DEEPGRAM_KEYTERMS is empty)."""

SAMPLE_KEYTERMS = (
    "Caribe Salud", "Piantini", "Los Jardines", "Tavárez", "Almonte", "Polanco", "Sención", "Cabral", "Batista",
    "ARS Humano", "SENASA", "ARS Universal", "Mapfre Salud", "cardiología", "pediatría",
)  # fmt: skip
