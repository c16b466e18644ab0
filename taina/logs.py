"""structlog set-up: one line per event, JSON off a terminal. Each call's lines carry its conversation id
(``session_id`` and ``conversation_id``, bound by the session) and the turn they belong to (``turn``), and, when
tracing is on, the trace and span they were written under (``trace_id``, ``span_id``)."""

from __future__ import annotations

import logging
import sys
from typing import ClassVar, Literal

import structlog

from engine.options import Section, knob
from engine.tracing import ids


class LogSettings(Section):
    prefix: ClassVar[str] = "TAINA_LOG"
    level: Literal["debug", "info", "warning", "error"] = knob(
        "info", "Log level: debug, info, warning or error."
    )
    format: Literal["json", "console", "auto"] = knob(
        "auto", "Log format: json, console, or auto (console on a terminal, JSON otherwise)."
    )


def add_trace_ids(
    _logger: object, _method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """The current span's trace and span ids (nothing when tracing is off or no span is current)."""
    trace_id, span_id = ids()
    if trace_id:
        event.setdefault("trace_id", trace_id)
        event.setdefault("span_id", span_id)
    return event


def configure_logging(settings: LogSettings) -> None:
    level = getattr(logging, settings.level.upper())
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if as_json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library; keep their chatter at warnings and above.
    logging.basicConfig(
        stream=sys.stderr, level=max(level, logging.WARNING), format="%(levelname)s %(name)s %(message)s"
    )


class _CurrentStderr:
    """Whatever sys.stderr is when a line is written (not the one at configure time, which a test harness or a
    redirect may have closed since)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
