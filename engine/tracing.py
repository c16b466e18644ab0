"""Tracing through the vendor-neutral OpenTelemetry API only: a trace per call, a span per turn, and under it
the turn's stages. With no SDK set up (the app sets one up in taina/telemetry.py only when an OTLP endpoint is
configured) every tracer is the API's no-op one and a span costs a function call. Nothing here runs per frame:
spans start and end at turn boundaries, and stages measured on the monotonic clock (end of speech, the final
transcript) are recorded afterwards with their real start and end times."""

from __future__ import annotations

import time

from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import Attributes

tracer = trace.get_tracer("taina.engine")


def epoch_ns(monotonic_s: float) -> int:
    """A time.monotonic() instant as the wall-clock nanoseconds a span's start or end is given in."""
    return time.time_ns() - int((time.monotonic() - monotonic_s) * 1e9)


def ids(span: Span | None = None) -> tuple[str, str]:
    """(trace id, span id) in hex of ``span`` (or the current span); empty strings when nothing is traced."""
    found = (span or trace.get_current_span()).get_span_context()
    if not found.is_valid:
        return "", ""
    return trace.format_trace_id(found.trace_id), trace.format_span_id(found.span_id)


def stage(name: str, started: float, ended: float, attributes: Attributes = None) -> None:
    """A stage already over, measured on the monotonic clock, as a child of the current span."""
    span = tracer.start_span(name, start_time=epoch_ns(started), attributes=attributes)
    span.end(end_time=epoch_ns(ended))


class Step:
    """A span made current until ``close`` (for code that cannot be wrapped in a ``with`` block, such as a
    loop body in a generator). Closing twice is harmless."""

    def __init__(self, name: str, attributes: Attributes = None) -> None:
        self.span = tracer.start_span(name, attributes=attributes)
        self._token: object | None = context.attach(trace.set_span_in_context(self.span))

    def failed(self, error: BaseException) -> None:
        self.span.set_status(Status(StatusCode.ERROR, str(error)))

    def close(self) -> None:
        if self._token is None:
            return
        token, self._token = self._token, None
        try:
            context.detach(token)  # type: ignore[arg-type]
        finally:
            self.span.end()
