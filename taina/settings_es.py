"""The dashboard's words for the settings it lets an admin change: a Spanish label, help, and unit (and the
choices' names) for each, keyed by the setting's variable. The English help stays beside each knob's owner
(for `taina settings` and the README); this is what a clinic's manager reads. A setting the form shows without
an entry here fails tests/unit/test_settings_form.py, so a new knob cannot reach the form in English.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Words:
    label: str
    help: str
    group: str
    unit: str = ""
    choices: dict[str, str] = field(default_factory=dict)
    long: bool = False  # a paragraph (a text area), not one line
    step: float | None = None  # for numbers: the control's step (integers step by 1)


ASSISTANT, VOICE, TURNS, PRICES = "Asistente", "Voz", "Turnos de palabra", "Precios"

SPANISH: dict[str, Words] = {
    "TAINA_DIALOGUE_LANGUAGE_MODEL": Words(
        "Modelo de lenguaje",
        "Quién redacta las respuestas: la política local (responde con frases de sus documentos, sin coste), "
        "OpenAI (necesita su clave en el servidor) o automático (OpenAI si hay clave, si no la política local).",
        ASSISTANT,
        choices={
            "auto": "Automático",
            "policy": "Política local (sin coste)",
            "openai": "OpenAI",
        },
    ),
    "TAINA_DIALOGUE_ASSISTANT_NAME": Words(
        "Nombre de la asistente", "Cómo se presenta la asistente al contestar.", ASSISTANT
    ),
    "TAINA_DIALOGUE_ORGANISATION": Words(
        "Organización", "El nombre de la clínica, tal como lo dice la asistente.", ASSISTANT
    ),
    "TAINA_DIALOGUE_GREETING": Words(
        "Saludo al empezar la llamada",
        "Lo primero que dice la asistente cuando entra una llamada. Vacío: espera a que hable el paciente.",
        ASSISTANT,
        long=True,
    ),
    "TAINA_DIALOGUE_SYSTEM_PROMPT": Words(
        "Instrucciones del modelo",
        "Las instrucciones que recibe el modelo de lenguaje. Vacío: las instrucciones en español que trae "
        "TAINA. {assistant} y {organisation} se sustituyen por el nombre y la organización.",
        ASSISTANT,
        long=True,
    ),
    "TAINA_ESPEAK_VOICE": Words(
        "Voz (espeak-ng)",
        "La voz local con la que habla la asistente; es-419 es el español de América Latina.",
        VOICE,
    ),
    "TAINA_ESPEAK_RATE": Words(
        "Velocidad de habla", "Cuántas palabras por minuto dice la voz local.", VOICE, unit="palabras/min"
    ),
    "TAINA_ESPEAK_PITCH": Words("Tono de la voz", "Más alto, voz más aguda.", VOICE),
    "TAINA_ENDPOINT_SILENCE_MS": Words(
        "Silencio que cierra el turno",
        "Cuánto silencio tras hablar el paciente indica que terminó y la asistente puede contestar.",
        TURNS,
        unit="ms",
        step=20,
    ),
    "TAINA_ENDPOINT_SILENCE_COMPLETE_MS": Words(
        "Silencio tras una frase completa",
        "El silencio que basta cuando lo dicho ya es una pregunta o frase completa. Mayor que la pausa y "
        "como mucho el silencio que cierra el turno.",
        TURNS,
        unit="ms",
    ),
    "TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS": Words(
        "Silencio tras «y…», «este…»",
        "El silencio que se espera cuando la frase quedó a medias. Entre el silencio que cierra el turno y "
        "5000 ms.",
        TURNS,
        unit="ms",
    ),
    "TAINA_ENDPOINT_PAUSE_MS": Words(
        "Pausa para adelantar el reconocimiento",
        "Tras esta pausa se empieza a reconocer lo dicho, por si el turno ya terminó. Menor que el silencio "
        "que cierra el turno.",
        TURNS,
        unit="ms",
    ),
    "TAINA_ENDPOINT_MIN_UTTERANCE_MS": Words(
        "Habla mínima para un turno",
        "Un sonido más corto (una tos, un clic) no cuenta como turno.",
        TURNS,
        unit="ms",
        step=10,
    ),
    "TAINA_TURN_MIN_INTERRUPTION_MS": Words(
        "Habla mínima para interrumpir",
        "Cuánto tiene que hablar el paciente mientras habla la asistente para que ella se calle. "
        "Algo más corto («ajá», una tos) no la interrumpe.",
        TURNS,
        unit="ms",
        step=10,
    ),
    "TAINA_TURN_INTERRUPTIBLE": Words(
        "Se puede interrumpir", "Si el paciente puede interrumpir a la asistente hablando.", TURNS
    ),
    "TAINA_TURN_PREEMPTIVE_GENERATION": Words(
        "Respuesta anticipada",
        "Empieza a preparar la respuesta en la primera pausa, antes de estar segura de que el paciente "
        "terminó; se descarta si luego dijo otra cosa. Necesita un reconocimiento con resultados parciales.",
        TURNS,
    ),
    "TAINA_PRICE_CURRENCY": Words(
        "Moneda de los precios",
        "Código de tres letras de la moneda de los precios de abajo (USD, DOP…).",
        PRICES,
    ),
    "TAINA_PRICE_OPENAI_PROMPT_PER_MILLION": Words(
        "OpenAI: tokens de entrada",
        "Precio por millón de tokens de entrada del modelo de lenguaje.",
        PRICES,
        unit="por millón",
        step=0.001,
    ),
    "TAINA_PRICE_OPENAI_CACHED_PER_MILLION": Words(
        "OpenAI: tokens de entrada en caché",
        "Precio por millón de tokens de entrada que el proveedor sirve de su caché.",
        PRICES,
        unit="por millón",
        step=0.001,
    ),
    "TAINA_PRICE_OPENAI_COMPLETION_PER_MILLION": Words(
        "OpenAI: tokens de salida",
        "Precio por millón de tokens que escribe el modelo.",
        PRICES,
        unit="por millón",
        step=0.001,
    ),
    "TAINA_PRICE_DEEPGRAM_PER_MINUTE": Words(
        "Deepgram: reconocimiento de voz",
        "Precio por minuto de audio reconocido en tiempo real.",
        PRICES,
        unit="por minuto",
        step=0.0001,
    ),
    "TAINA_PRICE_ELEVENLABS_PER_THOUSAND_CHARACTERS": Words(
        "ElevenLabs: síntesis de voz",
        "Precio por cada mil caracteres convertidos en voz.",
        PRICES,
        unit="por 1000 caracteres",
        step=0.001,
    ),
}
