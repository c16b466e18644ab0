"""The embedded dialogue policy answering from documents, on real parts: the sample centre's documents in
PostgreSQL with e5 embeddings, through the same Dialogue the voice session uses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.policy.policy import NO_BOOKING, NOT_KNOWN, REPLIES, DialoguePolicy
from engine.dialogue import Dialogue
from engine.handoff import NO_TRANSFER, TRANSFERRING
from taina.assistant import Assistant
from taina.backend import Backend

SAMPLE = Path(__file__).resolve().parents[2] / "taina" / "sample_kb"


@pytest.fixture
async def talk(backend: Backend) -> Dialogue:
    for name in ("lista-de-precios.pdf", "seguros-aceptados.html", "preguntas-frecuentes.md"):
        assert (await backend.library.ingest_path(SAMPLE / name)).status == "ready"
    return Assistant(backend.settings, backend).dialogue("policy-test")


async def reply(talk: Dialogue, said: str) -> str:
    return "".join([piece async for piece in talk.reply(said)])


async def test_questions_are_answered_with_the_documents_sentences(talk: Dialogue) -> None:
    price = await reply(talk, "¿Cuánto cuesta una consulta de pediatría?")
    assert "RD$2,500" in price
    assert talk.last is not None and len(talk.last.sources) == 1  # the one document the answer came from
    insurer = await reply(talk, "¿Me cogen el seguro de Humano?")
    assert "Humano" in insurer
    parking = await reply(talk, "¿Tienen parqueo?")
    assert "parqueo" in parking


@pytest.mark.parametrize("question", ["¿Cuál es la capital de Francia?", "¿Cómo se hace un sancocho?"])
async def test_what_the_documents_do_not_say_is_not_invented(talk: Dialogue, question: str) -> None:
    assert await reply(talk, question) == NOT_KNOWN
    assert talk.last is not None and talk.last.sources == ()


async def test_small_talk(talk: Dialogue) -> None:
    assert await reply(talk, "Buenos días") == REPLIES["greeting"]
    assert await reply(talk, "Muchas gracias") == REPLIES["thanks"]
    assert await reply(talk, "Quiero hablar con una persona") == REPLIES["human"]
    assert talk.last is not None and talk.last.sources == ()
    # Asking for a person marks the call as handed off to the staff (a tool call), then says how to reach them.
    assert [a.tool for a in talk.last.actions] == ["hand_off_to_staff"]
    roles = ["user", "assistant"] * 2 + ["user", "assistant", "tool", "assistant"]
    assert [m.role for m in talk.history] == roles  # the conversation is remembered
    assert REPLIES["human"] == NO_TRANSFER and talk.last.actions[0].result["transfer"] is False


async def test_a_call_that_can_be_transferred_is_told_it_is_passed_to_the_staff(backend: Backend) -> None:
    asked: list[str] = []

    def transfers() -> bool:
        asked.append("asked")
        return True

    talk = Assistant(backend.settings, backend).dialogue("policy-transfer", transfers)
    assert asked == []  # answered when the caller asks for a person, not before
    said = await reply(talk, "Quiero hablar con una persona")
    assert said == TRANSFERRING and "Todavía no puedo" not in said
    assert asked == ["asked"] and talk.last is not None
    (action,) = talk.last.actions
    assert action.tool == "hand_off_to_staff" and action.result["transfer"] is True
    assert action.result["say"] == TRANSFERRING  # what a cloud model is told to say


async def test_without_an_appointments_system_it_says_how_to_book_instead() -> None:
    plain = Dialogue(DialoguePolicy(catalogue=None))
    assert await reply(plain, "Quiero hacer una cita con la pediatra") == NO_BOOKING["book"]
    assert await reply(plain, "Necesito cancelar mi cita") == NO_BOOKING["cancel"]


async def test_it_introduces_itself_by_the_name_it_is_given() -> None:
    named = Dialogue(DialoguePolicy(catalogue=None, assistant="Anacaona"))
    greeting = await reply(named, "Buenos días")
    assert "Soy Anacaona" in greeting and "TAINA" not in greeting


async def test_the_assistant_passes_the_configured_name_to_the_policy(backend: Backend) -> None:
    dialogue = backend.settings.dialogue.model_copy(update={"assistant_name": "Anacaona"})
    talk = Assistant(dataclasses.replace(backend.settings, dialogue=dialogue), backend).dialogue("named")
    assert "Soy Anacaona" in await reply(talk, "Hola")
