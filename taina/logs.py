"""structlog set-up: one line per event, JSON off a terminal, with the session id bound by each session."""

from __future__ import annotations

import logging
import sys
from typing import ClassVar, Literal

import structlog

from engine.options import Section, knob


class LogSettings(Section):
    prefix: ClassVar[str] = "TAINA_LOG"
    level: Literal["debug", "info", "warning", "error"] = knob(
        "info", "Log level: debug, info, warning or error."
    )
    format: Literal["json", "console", "auto"] = knob(
        "auto", "Log format: json, console, or auto (console on a terminal, JSON otherwise)."
    )


def configure_logging(settings: LogSettings) -> None:
    level = getattr(logging, settings.level.upper())
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
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
