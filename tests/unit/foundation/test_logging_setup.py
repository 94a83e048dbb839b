"""Structured logs: one JSON object per line; our error messages kept, foreign ones dropped; payload loggers held."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from securedesk.errors import ConfigError, KeyUnavailable
from securedesk.logging_setup import PAYLOAD_LOGGERS, configure_logging, describe_exception


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {name: logging.getLogger(name).level for name in PAYLOAD_LOGGERS})
    out = io.StringIO()
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_records_are_json_lines_with_fields(stream: io.StringIO) -> None:
    configure_logging("info", stream=stream)
    logging.getLogger("securedesk.test").info(
        "http.request", extra={"fields": {"route": "/cases/{case_id}", "status": 200, "level": "spoofed"}}
    )
    logging.getLogger("securedesk.test").debug("not shown at INFO")

    [line] = _lines(stream)
    assert line["level"] == "info"
    assert line["logger"] == "securedesk.test"
    assert line["event"] == "http.request"
    assert line["route"] == "/cases/{case_id}"
    assert line["status"] == 200
    assert line["field_level"] == "spoofed"  # a field never overwrites the record's own keys
    assert str(line["ts"]).endswith("Z")


def test_configuring_twice_does_not_duplicate_lines(stream: io.StringIO) -> None:
    configure_logging("INFO", stream=stream)
    configure_logging("INFO", stream=stream)
    logging.getLogger("securedesk.test").warning("once")

    assert [line["event"] for line in _lines(stream)] == ["once"]


def test_exceptions_keep_our_message_and_drop_foreign_ones(stream: io.StringIO) -> None:
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("securedesk.test")
    try:
        try:
            int("4111111111111111x")
        except ValueError as inner:
            raise KeyUnavailable("No key-encrypting key in var/keys.") from inner
    except KeyUnavailable:
        log.exception("startup.failed")
    try:
        raise ValueError("card 4111111111111111 is invalid")
    except ValueError:
        log.exception("request.failed")

    ours, foreign = _lines(stream)
    assert ours["error"]["type"] == "securedesk.errors.KeyUnavailable"  # type: ignore[index]
    assert ours["error"]["message"] == "No key-encrypting key in var/keys."  # type: ignore[index]
    assert ours["error"]["caused_by"] == ["ValueError"]  # type: ignore[index]
    assert foreign["error"]["type"] == "ValueError"  # type: ignore[index]
    assert "message" not in foreign["error"]  # type: ignore[operator]
    assert "4111111111111111" not in stream.getvalue()
    assert "test_logging_setup.py" in foreign["error"]["stack"][-1]  # type: ignore[index]


def test_payload_loggers_stay_quiet_even_at_debug(stream: io.StringIO) -> None:
    configure_logging("DEBUG", stream=stream)
    logging.getLogger("aiosqlite").debug("executing ('4111111111111111',)")
    logging.getLogger("mail.log").debug("b'4111111111111111'")
    logging.getLogger("mail.log").info("%r >> %r", ("127.0.0.1", 5), b"MAIL FROM:<cust.378282246310005@example.org>")
    logging.getLogger("websockets.server").debug("< TEXT '4111111111111111'")
    logging.getLogger("securedesk.test").debug("ours at debug")

    assert [line["event"] for line in _lines(stream)] == ["ours at debug"]


def test_unknown_level_is_a_config_error(stream: io.StringIO) -> None:
    with pytest.raises(ConfigError, match="Log level 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        configure_logging("LOUD", stream=stream)


def test_describe_exception_without_traceback() -> None:
    described = describe_exception(RuntimeError("secret"))
    assert described == {"type": "RuntimeError", "stack": []}
