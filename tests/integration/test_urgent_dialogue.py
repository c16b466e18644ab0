"""Urgent symptoms over the sample clinic, with the embedded policy: the emergency numbers come from its
documents (the clinic's emergency line and 9-1-1), then a "sí" hands the call to the staff."""

from __future__ import annotations

from pathlib import Path

from engine.handoff import HAND_OFF
from engine.urgent import HANDED_OFF
from taina.assistant import Assistant
from taina.backend import Backend

SAMPLE = Path(__file__).resolve().parents[2] / "taina" / "sample_kb"


async def test_urgent_symptoms_get_both_numbers_from_the_documents(backend: Backend) -> None:
    for name in ("contacto-y-como-llegar.docx", "servicios-y-especialidades.md", "lista-de-precios.pdf"):
        assert (await backend.library.ingest_path(SAMPLE / name)).status == "ready"
    assistant = Assistant(backend.settings, backend)
    await assistant.find_emergency_numbers()
    assert assistant.urgent.line is not None and assistant.urgent.line.clinic == ["809-555-0199"]
    talk = assistant.dialogue("urgent-test")

    async def say(said: str) -> str:
        return "".join([piece async for piece in talk.reply(said)])

    for said in ("Tengo un dolor en el pecho que me baja por el brazo izquierdo", "se me durmió la mitad de la cara",
                 "quiero matarme", "a mi niño le dio una convulsión"):  # fmt: skip
        answer = await say(said)
        assert "809-555-0199" in answer and "9-1-1" in answer, answer
        assert talk.last is not None and talk.last.sources and talk.last.actions == []
    assert await say("Sí") == HANDED_OFF
    assert talk.last is not None and [a.tool for a in talk.last.actions] == [HAND_OFF]
    price = await say("¿Cuánto cuesta un electrocardiograma?")  # not urgent: the documents answer
    assert "9-1-1" not in price and "RD$" in price
