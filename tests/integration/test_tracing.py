"""A call traced end to end: a Session over a scripted transport with the real Dialogue, the real knowledge base
(PostgreSQL) and the language model behind the strict fake OpenAI server, with the OpenTelemetry SDK set up by
taina/telemetry.py exporting to memory. The call is one trace: a span per turn, under it every stage (end of
speech, speech-to-text, retrieval, each model step, the tool call, text-to-speech's first audio), the HTTP
request to the model and the database queries; the W3C traceparent reaches the model's server; every log line
of the call carries the trace id, the conversation id and the turn; the stored call and turn keep the trace id,
and the turn's usage (engine/usage.py: tokens from OpenAI's usage chunk, speech-to-text seconds, text-to-speech
characters) is kept beside it as before."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from adapters.conversation_journal import Conversations, PostgresJournal
from adapters.openai_chat import OpenAIChat
from engine.dialogue import Dialogue
from engine.ports.language import ToolSpec
from engine.session import Session, TurnRecord
from engine.tools import Tool, Toolbox
from taina.backend import Backend
from taina.logs import add_trace_ids
from taina.settings import Settings
from taina.telemetry import TraceSettings, configure_tracing
from taina.usage import PriceSettings, call_usage
from tests.support.fake_openai_chat import KEY, FakeOpenAIChat
from tests.support.fake_openai_chat import Reply as Said
from tests.support.scripted import ScriptedStt, ScriptedTransport, ToneTts
from tests.support.servers import serving
from tests.support.speech import silence, speech

ASK = "¿Hay citas de pediatría mañana?"
SLOTS = ToolSpec(
    "list_slots", "free slots", {"type": "object", "properties": {}, "additionalProperties": False}
)


def model(body: dict[str, Any]) -> Said:
    """A tool call first, then words once its result is in."""
    if body["messages"][-1]["role"] == "tool":
        return Said(text=["Tengo a las diez. ", "¿Le sirve?"])
    return Said(tool_calls=[("call_1", "list_slots", "{}")])


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    tracing = configure_tracing(env={}, exporter=spans)
    assert tracing is not None
    yield spans
    tracing.close()


async def test_a_call_is_one_trace_covering_every_stage(
    backend: Backend, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    server = FakeOpenAIChat(model)
    logs = structlog.testing.LogCapture()
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, add_trace_ids, logs],
        cache_logger_on_first_use=False,
    )
    try:
        with serving(server.app) as url:
            env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{url}/v1", "OPENAI_MODEL": "gpt-test"}
            settings = Settings.from_env({**env, "TAINA_DATA_DIR": "/nonexistent"})

            async def slots(_args: dict[str, Any]) -> dict[str, Any]:
                return {"slots": ["10:00"]}

            dialogue = Dialogue(OpenAIChat(settings.openai), backend.library, Toolbox([Tool(SLOTS, slots)]))
            journal = PostgresJournal(backend.database)
            audio = np.concatenate([silence(0.4), speech(ASK), silence(1.0)])
            transport = ScriptedTransport(audio)

            def hang_up(_record: TurnRecord) -> None:
                transport.hung_up.set()

            session = Session("traced-1", transport, ScriptedStt(ASK), dialogue, ToneTts(), settings.session(),
                              hang_up, journal)  # fmt: skip
            await session.run()
            await journal.aclose()
            await dialogue.lm.aclose()  # type: ignore[attr-defined]
    finally:
        structlog.configure(**saved)
    assert session.error is None and len(session.records) == 1

    spans = exporter.get_finished_spans()
    trace_id = session.trace_id
    assert len(trace_id) == 32 and trace_id != "0" * 32
    ours = [s for s in spans if format_trace_id(s.context.trace_id) == trace_id]
    names = [s.name for s in ours]
    # Every stage of the turn, each model step (the tool call's, then the words'), and the clients under them.
    for stage in (
        "call",
        "turn",
        "end_of_speech",
        "speech_to_text",
        "retrieval",
        "tool_call",
        "text_to_speech",
    ):
        assert names.count(stage) == 1, (stage, names)
    assert names.count("model_step") == 2
    by_id = {s.context.span_id: s for s in ours}
    (call,) = [s for s in ours if s.name == "call"]
    (turn,) = [s for s in ours if s.name == "turn"]
    assert call.parent is None and turn.parent is not None and turn.parent.span_id == call.context.span_id
    for stage in (
        "end_of_speech",
        "speech_to_text",
        "retrieval",
        "model_step",
        "tool_call",
        "text_to_speech",
    ):
        for span in (s for s in ours if s.name == stage):
            assert span.parent is not None and span.parent.span_id == turn.context.span_id, stage
    http = [s for s in ours if s.kind is SpanKind.CLIENT and s.name.startswith("POST")]
    # (the fake server's own span, when the server side is instrumented, is a SERVER span under the request's)
    assert len(http) == 2  # one request per model step, each under its step
    for span in http:
        assert span.parent is not None and by_id[span.parent.span_id].name == "model_step"
    queries = [
        s
        for s in ours
        if s.attributes and s.attributes.get("db.system", s.attributes.get("db.system.name")) == "postgresql"
    ]
    assert any(
        by_id[q.parent.span_id].name == "retrieval" for q in queries if q.parent
    )  # the knowledge search
    assert any("INSERT INTO turns" in str(q.attributes.get("db.statement", q.attributes.get("db.query.text", ""))) for q in queries if q.attributes)  # fmt: skip
    # No span of the call went into another trace.
    engine_names = {"call", "turn", "end_of_speech", "speech_to_text", "retrieval", "model_step", "tool_call",
                    "text_to_speech"}  # fmt: skip
    assert all(format_trace_id(s.context.trace_id) == trace_id for s in spans if s.name in engine_names)

    # W3C trace context reached the model's server, naming the request's own span.
    assert len(server.headers) == 2
    for headers, span in zip(server.headers, sorted(http, key=lambda s: s.start_time or 0), strict=True):
        version, sent_trace, parent, _flags = headers["traceparent"].split("-")
        assert (version, sent_trace) == ("00", trace_id) and parent == format_span_id(span.context.span_id)

    # Every log line of the call: the trace, the conversation, and (once a turn began) the turn.
    lines = [e for e in logs.entries if e.get("session_id") == "traced-1"]
    assert lines and {e["event"] for e in lines} >= {"session.started", "turn.completed", "session.ended"}
    for entry in lines:
        assert entry["trace_id"] == trace_id and entry["conversation_id"] == "traced-1", entry
    completed = next(e for e in lines if e["event"] == "turn.completed")
    assert completed["turn"] == 1 and completed["span_id"] == format_span_id(turn.context.span_id)

    # The stored call and turn: the trace id.
    stored = await Conversations(backend.database).one("traced-1")
    assert stored is not None and stored["trace_id"] == trace_id
    (kept,) = stored["turns"]
    assert kept["trace_id"] == trace_id and session.records[0].trace_id == trace_id
    # The turn's usage is kept as without tracing (two model steps of 50 + 9 tokens each).
    used = await call_usage(backend.database, "traced-1", PriceSettings())
    assert used is not None
    (turn_used,) = used["turns"]
    usage = turn_used["usage"]
    assert usage["language_model"] == {"openai:gpt-test": {"prompt": 100, "cached": 0, "completion": 18}}
    assert 1.0 < usage["speech_to_text"]["scripted-stt"] < 4.0
    assert usage["text_to_speech"]["tone"] == len("Tengo a las diez.") + len("¿Le sirve?")  # clause by clause
    assert used["usage"] == usage  # the call's: its one turn's

    # The dashboard's call page links to the trace when a trace viewer is set.
    from taina.app import App
    from taina.auth import hash_password
    from tests.support.servers import serving_here

    viewer = "https://grafana.example/explore?traceId={trace_id}"
    await backend.accounts.create_user("v@example.com", hash_password("una contraseña larga"), "viewer")
    settings = dataclasses.replace(backend.settings, trace=TraceSettings(viewer_url=viewer))
    async with (
        App.open(settings, backend=backend) as app,
        serving_here(app.http()) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        login = await client.post(
            "/api/auth/login", json={"email": "v@example.com", "password": "una contraseña larga"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        page = (await client.get("/api/conversations/traced-1", headers=headers)).json()
    assert page["trace_id"] == trace_id and page["trace_url"] == viewer.replace("{trace_id}", trace_id)
    assert page["turns"][0]["trace_id"] == trace_id


def test_the_trace_viewer_link() -> None:
    viewer = TraceSettings(viewer_url="https://grafana.example/explore?traceId={trace_id}")
    assert viewer.url("ab" * 16) == "https://grafana.example/explore?traceId=" + "ab" * 16
    assert viewer.url("") is None and TraceSettings().url("ab" * 16) is None
