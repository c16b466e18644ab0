"""Urgent symptoms: the classifier on a labelled list of Dominican and colloquial phrasings (every one right,
both ways), and the dialogue answering them before any model with the documents' emergency numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from engine.dialogue import Dialogue
from engine.handoff import HAND_OFF, hand_off_tool
from engine.ports.knowledge import Passage
from engine.ports.language import LanguageModelEvent, Prompt, TextDelta
from engine.tools import Toolbox
from engine.urgent import HANDED_OFF, EmergencyLine, UrgentCheck, classify_urgent

LABELLED = Path(__file__).parent / "urgent_symptoms.tsv"
OTHER_SETS = [Path(__file__).parent / "dialogue_intents.tsv", Path(__file__).parents[1] / "support" / "data" / "kb_questions.tsv"]  # fmt: skip


def labelled() -> list[tuple[str, str]]:
    rows = [
        line.split("\t") for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")
    ]
    return [(kind, text) for kind, text in rows]


def test_every_urgent_phrasing_is_caught_and_every_other_is_left_alone() -> None:
    rows = labelled()
    positives = [(k, t) for k, t in rows if k != "none"]
    negatives = [t for k, t in rows if k == "none"]
    assert len(positives) >= 40 and len(negatives) >= 25
    assert {k for k, _ in positives} == {
        "chest",
        "breathing",
        "stroke",
        "bleeding",
        "fainting",
        "self_harm",
        "seizure",
    }
    missed = [(t, k, classify_urgent(t)) for k, t in positives if classify_urgent(t) != k]
    assert missed == []
    raised = [(t, classify_urgent(t)) for t in negatives if classify_urgent(t) is not None]
    assert raised == []


def test_nothing_in_the_other_labelled_sets_is_taken_for_an_emergency() -> None:
    for labelled_set in OTHER_SETS:
        for line in labelled_set.read_text().splitlines():
            for cell in line.split("\t"):
                assert classify_urgent(cell) is None, (labelled_set.name, cell)


CONTACT = Passage("contacto", "Contacto", "Sede Santo Domingo", "Teléfono: 809-555-0142. Emergencias: 809-555-0199.", 1.0, 0.9)  # fmt: skip
SERVICES = Passage("servicios", "Servicios", "Emergencias", "La sede de Santiago no tiene emergencia: para una urgencia en Santiago llame al 9-1-1.", 0.9, 0.9)  # fmt: skip


class Documents:
    def __init__(self) -> None:
        self.searches: list[str] = []

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        self.searches.append(query)
        return [CONTACT, SERVICES]


class NeverAsked:
    """A model that must not be reached on an urgent turn."""

    name = "never"

    def __init__(self) -> None:
        self.prompts: list[Prompt] = []

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        self.prompts.append(prompt)
        yield TextDelta("No tengo esa información.")


async def say(dialogue: Dialogue, said: str) -> str:
    return "".join([piece async for piece in dialogue.reply(said)])


def test_the_emergency_numbers_are_read_from_the_passages() -> None:
    line = EmergencyLine.from_passages(
        [CONTACT, SERVICES, Passage("x", "x", "x", "Teléfono: 809-555-0275.", 0.5)]
    )
    assert line.clinic == ["809-555-0199"]
    assert [p.document_id for p in line.passages] == ["contacto", "servicios"]


async def test_an_urgent_turn_is_answered_before_the_model_and_a_yes_hands_off() -> None:
    model, documents = NeverAsked(), Documents()
    dialogue = Dialogue(model, documents, Toolbox([hand_off_tool()]), urgent=UrgentCheck())
    answer = await say(dialogue, "Tengo un dolor en el pecho que me baja por el brazo izquierdo")
    assert "9-1-1" in answer and "809-555-0199" in answer and "personal" in answer
    assert model.prompts == []
    assert dialogue.last is not None and set(dialogue.last.sources) == {"contacto", "servicios"}
    assert await say(dialogue, "Sí, por favor") == HANDED_OFF
    assert [a.tool for a in dialogue.last.actions] == [HAND_OFF]
    assert "dolor en el pecho" in dialogue.last.actions[0].arguments["reason"]
    assert model.prompts == []
    assert [m.role for m in dialogue.history] == ["user", "assistant"] * 2  # a valid history for any model
    # An ordinary question goes to the model as before.
    await say(dialogue, "¿Cuánto cuesta un electrocardiograma?")
    assert len(model.prompts) == 1


async def test_numbers_found_at_start_are_used_and_a_no_goes_to_the_model() -> None:
    model, documents = NeverAsked(), Documents()
    urgent = UrgentCheck()
    await urgent.find_numbers(documents)
    searched = len(documents.searches)
    dialogue = Dialogue(model, documents, Toolbox([hand_off_tool()]), urgent=urgent)
    answer = await say(dialogue, "me quiero morir")
    assert "9-1-1" in answer and "809-555-0199" in answer and len(documents.searches) == searched
    await say(dialogue, "No, gracias")
    assert len(model.prompts) == 1


async def test_without_documents_it_still_says_9_1_1() -> None:
    dialogue = Dialogue(NeverAsked(), urgent=UrgentCheck())
    answer = await say(dialogue, "mi hijo está convulsionando")
    assert "9-1-1" in answer and "¿Quiere" in answer
