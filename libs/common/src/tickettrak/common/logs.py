"""Structured logging: console lines on a terminal, JSON lines otherwise (pods, CI, files).

Every configured secret is replaced by `***` in every event, whatever field it hides in: a last
line of defence behind `SecretStr`, for the day an upstream error message echoes a URL.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_secrets: list[str] = []
QUIET_LIBRARIES = ("pgserver", "httpx", "httpcore")


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`."""
    result: str = _redact_value(text)
    return result


def _redact_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if _secrets:
        for key, value in list(event.items()):
            event[key] = _redact_value(value)
    return event


def register_secrets(values: Iterable[str]) -> None:
    for value in values:
        if value and value not in _secrets:
            _secrets.append(value)


class _StderrLogger:
    """Writes each line to whatever `sys.stderr` is *now*.

    structlog's PrintLogger binds the stream at creation; a process that swaps stderr later (pytest's
    capture, a daemon redirect) would then write to a closed file.
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg

    @classmethod
    def factory(cls, *_: Any) -> _StderrLogger:
        return cls()


def configure_logging(fmt: str = "auto", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Set up structlog (and the stdlib root logger) once per process."""
    register_secrets(secrets)
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=_StderrLogger.factory,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=getattr(logging, level), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    # Libraries that narrate every step at INFO (pgserver prints whole pg_ctl transcripts): their
    # warnings still show, their chatter does not bury the stage's own lines.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, getattr(logging, level)))


def get_logger(name: str | None = None, **context: Any) -> Any:
    return structlog.get_logger(name, **context)
