"""Fail closed: an error or timeout in detection, redaction, sealing or the audit write holds the message — counted,
audited when the audit log works, nothing sealed, nothing of the text returned — never a pass-through."""

from __future__ import annotations

import logging
import time

import pytest
from screening_support import (
    CANARIES,
    FailingDetector,
    MakeCase,
    MakeScreener,
    WritePolicy,
    audit_rows,
    compact,
    secret_count,
    uniform_policy,
)

from securedesk.detection import Detector
from securedesk.logging_setup import PAYLOAD_LOGGERS
from securedesk.metrics import Metrics
from securedesk.screening import HELD_TEXT, Decision, HoldReason, Screener
from securedesk.storage.database import Database

TEXT = "Card 4111 1111 1111 1111 exp 12/29 cvv 737, SSN 123-45-6789"
VAULT_ALL = uniform_policy("vault")


def held(metrics: Metrics, channel: str) -> float:
    return metrics.registry.get_sample_value("securedesk_messages_held_total", {"channel": channel}) or 0.0


def assert_no_canary(*texts: str) -> None:
    """No canary in any form; short texts (returned values, reprs) are also searched with separators removed."""
    for text in texts:
        for canary in CANARIES:
            assert canary not in text
            if len(text) < 2_000:
                assert compact(canary) not in compact(text)


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line and every attribute of every record, as the JSON formatter could write them."""
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in caplog.records) + caplog.text


@pytest.fixture(autouse=True)
def debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG everywhere, with the payload loggers held where ``configure_logging`` holds them in production."""
    caplog.set_level(logging.DEBUG)
    for name, minimum in PAYLOAD_LOGGERS.items():
        caplog.set_level(minimum, logger=name)


async def assert_held(
    screener: Screener,
    reason: HoldReason,
    *,
    db: Database,
    metrics: Metrics,
    channel: str = "chat",
    case_id: str | None = None,
) -> None:
    before = screener.holds
    screened = await screener.screen(TEXT, channel=channel, lang="en", case_id=case_id, sender="c@example.com")

    assert screened.decision is Decision.HOLD
    assert not screened.delivered
    assert screened.held_reason is reason
    assert screened.text == HELD_TEXT == ""
    assert screened.secrets == ()
    assert screened.nudge is None
    assert screener.holds == before + 1
    assert held(metrics, channel) == before + 1
    assert await secret_count(db) == 0
    assert_no_canary(repr(screened))


@pytest.mark.parametrize("channel", ["chat", "email", "form", "webhook"])
async def test_a_detector_error_holds_and_is_audited(
    channel: str,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    detector: Detector,
    db: Database,
    metrics: Metrics,
    make_case: MakeCase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A library error that echoes its input: its text must go nowhere.
    failing = FailingDetector(detector, error=RuntimeError("bad input near 4111 1111 1111 1111"))
    screener = make_screener(write_policy(VAULT_ALL), failing)
    case_id = await make_case("case_1")

    await assert_held(screener, HoldReason.DETECTION_FAILED, db=db, metrics=metrics, channel=channel, case_id=case_id)

    rows = await audit_rows(db)
    assert [(r["action"], r["outcome"], r["channel"], r["target"], r["reason"]) for r in rows] == [
        ("screening.hold", "error", channel, case_id, "decision=hold; held_reason=detection_failed; error=RuntimeError")
    ]
    assert_no_canary(log_text(caplog))
    assert "screening.hold" in caplog.text


async def test_a_detection_timeout_holds_without_waiting_for_the_detector(
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    detector: Detector,
    db: Database,
    metrics: Metrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = FailingDetector(detector, sleep=1.0)
    screener = make_screener(write_policy(VAULT_ALL), slow, detection_timeout_seconds=0.2)

    started = time.monotonic()
    await assert_held(screener, HoldReason.DETECTION_TIMEOUT, db=db, metrics=metrics)
    assert time.monotonic() - started < 0.9

    rows = await audit_rows(db)
    assert [(r["action"], r["reason"]) for r in rows] == [
        ("screening.hold", "decision=hold; held_reason=detection_timeout; error=TimeoutError")
    ]
    assert_no_canary(log_text(caplog))


async def test_the_screener_recovers_after_a_timeout(
    make_screener: MakeScreener, detector: Detector, db: Database, metrics: Metrics
) -> None:
    slow = FailingDetector(detector, sleep=0.5)
    screener = make_screener(None, slow, detection_timeout_seconds=0.1)
    await assert_held(screener, HoldReason.DETECTION_TIMEOUT, db=db, metrics=metrics)

    slow._sleep = 0.0
    screened = await screener.screen(TEXT, channel="chat", lang="en", case_id=None, sender=None)

    assert screened.decision is Decision.DELIVER_WITH_NUDGE
    assert screened.text == "Card [CARD •••• 1111] [EXPIRY removed] [CVV removed], SSN [SSN •••• 6789]"


async def test_a_redaction_that_leaves_a_finding_holds(
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    detector: Detector,
    db: Database,
    metrics: Metrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = FailingDetector(detector, miss_once=True)
    screener = make_screener(write_policy(VAULT_ALL), missing)

    await assert_held(screener, HoldReason.REDACTION_FAILED, db=db, metrics=metrics)

    assert missing.calls == 2  # the check scan of the redacted text found the SSN the first pass missed
    assert_no_canary(log_text(caplog))


async def test_a_vault_failure_holds_and_seals_nothing(
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    db: Database,
    metrics: Metrics,
    make_case: MakeCase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TRIGGER refuse_secrets BEFORE INSERT ON secrets BEGIN SELECT RAISE(ABORT, 'no space'); END"
        )
    screener = make_screener(write_policy(VAULT_ALL))

    await assert_held(screener, HoldReason.VAULT_FAILED, db=db, metrics=metrics, case_id=await make_case("c1"))

    rows = await audit_rows(db)
    assert [r["action"] for r in rows] == ["screening.hold"]
    assert rows[0]["reason"].startswith("decision=hold; held_reason=vault_failed; error=")
    assert_no_canary(log_text(caplog))


@pytest.mark.parametrize("action", ["vault", "redact", "block"])
async def test_an_audit_write_failure_holds_and_shreds_what_was_sealed(
    action: str,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    db: Database,
    metrics: Metrics,
    make_case: MakeCase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case_id = await make_case("c1")
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    screener = make_screener(write_policy(uniform_policy(action)))

    await assert_held(screener, HoldReason.AUDIT_FAILED, db=db, metrics=metrics, case_id=case_id)

    assert await audit_rows(db) == []  # the hold itself could not be recorded either: logged instead
    assert "screening.hold_not_audited" in caplog.text
    assert metrics.registry.get_sample_value("securedesk_audit_write_failures_total") == 2
    assert_no_canary(log_text(caplog))


async def test_a_held_message_with_sealed_values_already_in_the_case_keeps_them(
    make_screener: MakeScreener, write_policy: WritePolicy, db: Database, make_case: MakeCase
) -> None:
    """Shredding after an audit failure deletes only what this message sealed, never a secret reused by it."""
    screener = make_screener(write_policy(VAULT_ALL))
    case_id = await make_case("c1")
    first = await screener.screen("card 4111 1111 1111 1111", channel="form", lang="en", case_id=case_id, sender=None)
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )

    again = await screener.screen(TEXT, channel="form", lang="en", case_id=case_id, sender=None)

    assert again.decision is Decision.HOLD
    rows = await db.fetch_all("SELECT token FROM secrets")
    assert [row[0] for row in rows] == [first.secrets[0].token]


async def test_nothing_is_returned_or_logged_with_a_value_on_success_either(
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    db: Database,
    make_case: MakeCase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))

    screened = await screener.screen(TEXT, channel="form", lang="en", case_id=await make_case("c1"), sender=None)

    assert screened.decision is Decision.DELIVER_WITH_NUDGE
    rows = await audit_rows(db)
    assert len(rows) == 1
    assert_no_canary(screened.text, repr(screened), repr(screened.secrets), log_text(caplog), repr(rows))
