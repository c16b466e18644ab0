"""The sample centre's names a speech recognizer should expect: doctors, sites, insurers, specialties
(the default of TAINA_DEEPGRAM_KEYTERMS). Imports nothing: engine/settings.py reads it."""

SAMPLE_KEYTERMS = (
    "Caribe Salud", "Piantini", "Los Jardines", "Tavárez", "Almonte", "Polanco", "Sención", "Cabral", "Batista",
    "ARS Humano", "SENASA", "ARS Universal", "Mapfre Salud", "cardiología", "pediatría",
)  # fmt: skip
