"""The embedded dialogue policy on real parts: the sample centre in PostgreSQL, e5 embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.file_store import FileStore
from adapters.knowledge_store import KnowledgeStore
from adapters.policy.policy import NOT_KNOWN, REPLIES, DialoguePolicy
from adapters.postgres import Database
from engine.ports import Message, TextDelta
from engine.settings import DatabaseSettings, IngestSettings, RetrievalSettings
from taina.knowledge.ingest import KnowledgeService

SAMPLE = Path(__file__).resolve().parent.parent / "taina" / "sample_kb"


@pytest.fixture
async def policy(database_url: str, tmp_path: Path, e5: Any) -> AsyncIterator[DialoguePolicy]:
    database = await Database.open(DatabaseSettings(url=database_url), tmp_path)
    kb = KnowledgeService(
        KnowledgeStore(database, RetrievalSettings()), FileStore(tmp_path / "o"), e5, IngestSettings()
    )
    for name in ("lista-de-precios.pdf", "seguros-aceptados.html", "preguntas-frecuentes.md"):
        assert (await kb.ingest_path(SAMPLE / name)).status == "ready"
    yield DialoguePolicy(kb)
    await database.close()


async def reply(policy: DialoguePolicy, said: str) -> str:
    events = [e async for e in policy.respond([Message("user", said)])]
    assert all(isinstance(e, TextDelta) for e in events)
    return "".join(e.text for e in events)


async def test_questions_are_answered_with_the_documents_sentences(policy: DialoguePolicy) -> None:
    price = await reply(policy, "¿Cuánto cuesta una consulta de pediatría?")
    assert "RD$2,500" in price and policy.last_sources
    insurer = await reply(policy, "¿Me cogen el seguro de Humano?")
    assert "Humano" in insurer
    parking = await reply(policy, "¿Tienen parqueo?")
    assert "parqueo" in parking


@pytest.mark.parametrize("question", ["¿Cuál es la capital de Francia?", "¿Cómo se hace un sancocho?"])
async def test_what_the_documents_do_not_say_is_not_invented(policy: DialoguePolicy, question: str) -> None:
    assert await reply(policy, question) == NOT_KNOWN
    assert policy.last_sources == ()


async def test_small_talk_and_requests_it_cannot_serve_yet(policy: DialoguePolicy) -> None:
    assert await reply(policy, "Buenos días") == REPLIES["greeting"]
    assert await reply(policy, "Muchas gracias") == REPLIES["thanks"]
    assert await reply(policy, "Quiero hablar con una persona") == REPLIES["human"]
    assert await reply(policy, "Quiero hacer una cita con la pediatra") == REPLIES["book"]
