"""Structured logs: one JSON object per line, configured once by an entry point from ``Settings.log_level``.

Callers log an event name and put data in ``extra={"fields": {...}}``. Exceptions are logged as their type and stack
frames; the text of an exception that is not ours is left out, because a library may echo its input in it.
Libraries that log payloads at DEBUG (aiosqlite: SQL parameters, websockets: frames) are held at INFO or above
whatever the level, so that DEBUG logging cannot write a card number to disk; aiosmtpd, which logs every SMTP
command line at INFO ("MAIL FROM:<cust.378282246310005@example.org>": an address, and maybe a number in it), is held
at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final, TextIO

from securedesk.clock import utc_iso
from securedesk.errors import ConfigError, SecureDeskError

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: Minimum level for libraries whose DEBUG (or INFO) output contains message content or query parameters.
PAYLOAD_LOGGERS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "aiosqlite": logging.INFO,
        "mail.log": logging.WARNING,  # INFO: each command line, envelope addresses included
        "websockets": logging.INFO,
        "multipart": logging.INFO,
        "python_multipart": logging.INFO,
        "presidio-analyzer": logging.WARNING,
        "uvicorn.access": logging.WARNING,
    }
)

_RESERVED: Final = frozenset({"ts", "level", "logger", "event", "error"})
_MAX_FRAMES: Final = 30


class JsonLineFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "logger": …, "event": …, <fields>, "error": {…}}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": utc_iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                entry[str(key) if str(key) not in _RESERVED else f"field_{key}"] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = describe_exception(record.exc_info[1], record.exc_info[2])
        return json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))


def describe_exception(exc: BaseException, tb: TracebackType | None = None) -> dict[str, Any]:
    """An exception as loggable data: type, our own message only, stack frames, and the types it was raised from."""
    described: dict[str, Any] = {"type": _qualified_name(exc)}
    if isinstance(exc, SecureDeskError):
        # Our messages never carry sensitive values (errors.py); other libraries' messages may echo input.
        described["message"] = str(exc)
    frames = traceback.extract_tb(tb if tb is not None else exc.__traceback__)
    described["stack"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-_MAX_FRAMES:]]
    causes: list[str] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < 5:
        causes.append(_qualified_name(cause))
        cause = cause.__cause__ or cause.__context__
    if causes:
        described["caused_by"] = causes
    return described


def _qualified_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class _SecureDeskHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we installed, so that configuring twice replaces it instead of doubling every line."""


def configure_logging(level: str, *, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (default stderr) as JSON lines at ``level``."""
    name = level.strip().upper()
    if name not in LEVELS:
        raise ConfigError(f"Log level {level!r} is not one of {', '.join(LEVELS)}.", hint="set SECUREDESK_LOG_LEVEL")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _SecureDeskHandler):
            root.removeHandler(handler)
    handler = _SecureDeskHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root.addHandler(handler)
    root.setLevel(name)
    for logger_name, minimum in PAYLOAD_LOGGERS.items():
        logging.getLogger(logger_name).setLevel(max(minimum, logging.getLevelName(name)))
