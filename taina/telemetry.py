"""Tracing set up for the app: the OpenTelemetry SDK with the OTLP/HTTP exporter, configured by the standard
OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_*), and the httpx and asyncpg
clients instrumented so that every HTTP request (the language model, the appointments system, embeddings) and
every query is a span under the call's turn, with W3C trace context (``traceparent``) sent along.

Off when no endpoint is set (or OTEL_SDK_DISABLED=true): nothing is installed, the engine's tracer stays the
API's no-op one, and a call costs nothing more. The engine itself only uses the vendor-neutral API
(engine/tracing.py).

TAINA_TRACE_VIEWER_URL (TraceSettings) is where a trace is seen: the dashboard's call page links to it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import structlog

from engine.options import Section, knob

if TYPE_CHECKING:  # the SDK is imported only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = structlog.get_logger("taina.telemetry")

SERVICE = "taina-voice"


class TraceSettings(Section):
    prefix: ClassVar[str] = "TAINA_TRACE"
    viewer_url: str = knob(
        "",
        "Where a trace is seen, with {trace_id} in it (e.g. https://grafana/explore?traceId={trace_id}): the "
        "dashboard's call page links each call to its trace. Empty: no link.",
        form=(r"^(https?://.*\{trace_id\}.*)?$", "be an http(s) URL with {trace_id} in it"),
    )

    def url(self, trace_id: str) -> str | None:
        """The trace's page in the viewer, or None (no viewer set, or nothing traced)."""
        return self.viewer_url.replace("{trace_id}", trace_id) if self.viewer_url and trace_id else None


def enabled(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


@dataclass
class Tracing:
    provider: TracerProvider

    def close(self) -> None:
        """Send what is left and stop (at exit)."""
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        self.provider.shutdown()


_installed: Tracing | None = None


def configure_tracing(
    env: Mapping[str, str] | None = None, exporter: SpanExporter | None = None
) -> Tracing | None:
    """Set up tracing for this process if an OTLP endpoint is configured (or, in tests, ``exporter`` is given:
    each span exported as it ends). Once per process: later calls return what the first set up."""
    global _installed
    if _installed is not None:
        return _installed
    if exporter is None and not enabled(env):
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
        processor: BatchSpanProcessor | SimpleSpanProcessor = BatchSpanProcessor(exporter)
    else:
        processor = SimpleSpanProcessor(exporter)
    env = os.environ if env is None else env
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _installed = Tracing(provider)
    log.info("telemetry.tracing_on", endpoint=env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "(test exporter)"))  # fmt: skip
    return _installed
