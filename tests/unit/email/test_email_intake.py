"""EmailIntake on a real database, screened by the real Screener, with a fixed clock: decisions, the once-an-hour
auto-reply, fail-closed holds and clean-up on failure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from email_screening import STRICT_POLICY, RaisingScreener, Screening, open_screening

from securedesk.channels.email.intake import EmailIntake, InboundEmail
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.errors import DetectionError, MessageBlocked, MimeTooComplex
from securedesk.screening import Decision
from securedesk.storage import Database
from securedesk.storage.cases import SqliteCaseRepository
from securedesk.storage.outbox import SqliteOutboxRepository

VISA = "4111 1111 1111 1111"


@dataclass
class Parts:
    intake: EmailIntake
    screening: Screening
    woken: list[int]


MakeIntake = Callable[..., Awaitable[Parts]]


@pytest.fixture
async def make_intake(
    settings: Settings, db: Database, clock: FixedClock, detector: Detector
) -> AsyncIterator[MakeIntake]:
    """``make_intake(policy_path=…, screener_class=…, **settings_changes)``: an intake on the real screening stack."""
    built: list[Screening] = []

    async def make(policy_path: Path | None = None, screener_class: type = RaisingScreener, **changes: object) -> Parts:
        configured = settings.replace(mime_max_depth=3, **changes)
        extra = {} if policy_path is None else {"policy_path": policy_path}
        screening = await open_screening(
            configured, db, clock, detector=detector, screener_class=screener_class, **extra
        )
        built.append(screening)
        woken: list[int] = []
        intake = EmailIntake(
            settings=configured,
            screener=screening.screener,
            cases=SqliteCaseRepository(db),
            outbox=SqliteOutboxRepository(db),
            policy=screening.policy,
            clock=clock,
            encryptor=screening.vault,
            on_queued=lambda: woken.append(1),
        )
        return Parts(intake, screening, woken)

    yield make
    for screening in built:
        screening.screener.close()


def inbound(message_id: str, body: str = f"card {VISA}\n") -> InboundEmail:
    msg = EmailMessage()
    msg["From"] = "jane@example.com"
    msg["Subject"] = "hello"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return InboundEmail("jane@example.com", ("support@support.securedesk.test",), msg.as_bytes())


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await db.fetch_all(sql)]


async def test_deliver_with_nudge_queues_message_and_one_auto_reply_per_hour(
    make_intake: MakeIntake, db: Database, clock: FixedClock
) -> None:
    parts = await make_intake()
    first = await parts.intake.accept(inbound("<1@x>"))
    assert (first.code, first.decision) == (250, Decision.DELIVER_WITH_NUDGE)
    assert first.text == f"2.0.0 Queued as {first.case_reference}"
    clock.advance(3599)
    await parts.intake.accept(inbound("<2@x>"))
    clock.advance(2)
    await parts.intake.accept(inbound("<3@x>"))
    assert await rows(db, "SELECT kind, count(*) FROM outbox GROUP BY kind ORDER BY kind") == [
        ("autoreply", 2),
        ("inbound", 3),
    ]
    assert parts.woken == [1, 1, 1]
    # One screening event per message, on the message's own case (types and counts only).
    events = await rows(
        db, "SELECT a.action, a.channel, a.reason FROM audit_events a JOIN cases c ON c.id = a.target ORDER BY seq"
    )
    assert events == [("screening.redact", "email", "decision=deliver_with_nudge; CREDIT_CARD=1; actions=redact")] * 3
    [(body, meta)] = await rows(db, "SELECT body, meta FROM messages WHERE body LIKE '%' LIMIT 1")
    assert body == "card [CARD •••• 1111]\n"
    assert json.loads(str(meta))["decision"] == "deliver_with_nudge"


async def test_screener_hold_is_refused_with_451_and_leaves_nothing_behind(
    make_intake: MakeIntake, db: Database
) -> None:
    # A detection time limit no real detection can meet: the real Screener holds the message (fail closed).
    parts = await make_intake(detection_timeout_seconds=1e-9)
    with pytest.raises(DetectionError) as caught:
        await parts.intake.accept(inbound("<h@x>"))
    assert caught.value.smtp_reply == (451, "4.3.0 Message could not be screened, please try again later")
    assert await rows(db, "SELECT count(*) FROM cases") == [(0,)]
    assert await rows(db, "SELECT count(*) FROM messages") == [(0,)]
    assert await rows(db, "SELECT count(*) FROM outbox") == [(0,)]
    assert parts.woken == []
    assert await rows(db, "SELECT action, outcome, reason FROM audit_events WHERE action = 'screening.hold'") == [
        ("screening.hold", "error", "decision=hold; held_reason=detection_timeout; error=TimeoutError")
    ]
    # The same message once screening works again: accepted (the hold stored nothing, not even its Message-ID).
    working = await make_intake()
    assert (await working.intake.accept(inbound("<h@x>"))).code == 250


async def test_block_commits_the_case_then_refuses(make_intake: MakeIntake, db: Database) -> None:
    parts = await make_intake(policy_path=STRICT_POLICY)
    with pytest.raises(MessageBlocked):
        await parts.intake.accept(inbound("<b@x>"))
    assert await rows(db, "SELECT state, body FROM messages") == [("blocked", "card [CARD •••• 1111]\n")]
    assert await rows(db, "SELECT kind FROM outbox") == [("autoreply",)]
    assert await rows(db, "SELECT count(*) FROM secrets") == [(0,)]  # a refused message keeps nothing


async def test_values_vaulted_for_a_message_that_fails_to_commit_are_removed_with_its_case(
    make_intake: MakeIntake, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default policy vaults IBANs: the Screener seals the value on the new case before the intake commits.
    parts = await make_intake()
    iban = "Mitt konto SE45 5000 0000 0583 9825 7466, tack\n"
    sealed: list[int] = []

    async def commit_fails(*args: object, **kwargs: object) -> object:
        sealed.extend(int(row[0]) for row in await db.fetch_all("SELECT count(*) FROM secrets"))
        raise OSError("disk full")

    monkeypatch.setattr(parts.intake, "_commit", commit_fails)
    with pytest.raises(OSError, match="disk full"):
        await parts.intake.accept(inbound("<v@x>", iban))
    assert sealed == [1]
    assert await rows(db, "SELECT count(*) FROM cases") == [(0,)]
    assert await rows(db, "SELECT count(*) FROM secrets") == [(0,)]
    monkeypatch.undo()
    outcome = await parts.intake.accept(inbound("<v@x>", iban))
    assert (outcome.code, outcome.decision) == (250, Decision.DELIVER)
    assert await rows(db, "SELECT kind, last4 FROM secrets") == [("IBAN_CODE", "7466")]


async def test_screening_failure_leaves_no_case_behind(make_intake: MakeIntake, db: Database) -> None:
    parts = await make_intake()
    screener = parts.screening.screener
    assert isinstance(screener, RaisingScreener)
    screener.error = RuntimeError("unexpected")
    with pytest.raises(RuntimeError):
        await parts.intake.accept(inbound("<f@x>"))
    assert await rows(db, "SELECT count(*) FROM cases") == [(0,)]
    assert parts.woken == []


async def test_too_deep_is_refused_before_anything_is_stored(make_intake: MakeIntake, db: Database) -> None:
    parts = await make_intake()
    inner = EmailMessage()
    inner.set_content("x")
    for _ in range(5):
        outer = EmailMessage()
        outer.set_content("wrap")
        outer.add_attachment(inner)
        inner = outer
    with pytest.raises(MimeTooComplex):
        await parts.intake.accept(InboundEmail("a@x.test", ("s@support.securedesk.test",), inner.as_bytes()))
    assert await rows(db, "SELECT count(*) FROM cases") == [(0,)]
    assert await rows(db, "SELECT count(*) FROM audit_events WHERE action LIKE 'screening.%'") == [(0,)]


async def test_cases_left_unfinished_by_a_killed_process_are_removed_before_mail_is_accepted(
    make_intake: MakeIntake, db: Database
) -> None:
    parts = await make_intake()
    done = await parts.intake.accept(inbound("<done@x>"))
    # What a process killed between opening the case and the commit leaves: an email case without a message.
    await parts.intake._open_case("jane@example.com")
    await parts.intake._open_case("")
    async with db.transaction() as conn:  # another channel's empty case is none of the email channel's business
        await conn.execute(
            "INSERT INTO cases (id, reference, channel, created_at, updated_at) VALUES ('case_chat', 'SD-CHAT', "
            "'chat', 0, 0)"
        )
    assert await rows(db, "SELECT count(*) FROM cases") == [(4,)]
    assert await parts.intake.discard_unfinished() == 2
    assert set(await rows(db, "SELECT reference FROM cases")) == {("SD-CHAT",), (done.case_reference,)}
    assert await parts.intake.discard_unfinished() == 0


async def test_a_number_in_the_sender_address_reaches_no_store_no_envelope_and_no_auto_reply(
    make_intake: MakeIntake, db: Database
) -> None:
    parts = await make_intake()
    address = "cust.378282246310005@example.org"
    msg = EmailMessage()
    msg["From"] = address
    msg["Subject"] = "my order"
    msg["Message-ID"] = "<addr@x>"
    msg.set_content(f"card {VISA}\n")
    outcome = await parts.intake.accept(InboundEmail(address, ("support@support.securedesk.test",), msg.as_bytes()))

    assert (outcome.code, outcome.decision) == (250, Decision.DELIVER_WITH_NUDGE)
    assert await rows(db, "SELECT kind, mail_from FROM outbox ORDER BY kind") == [("inbound", "")]
    assert await rows(db, "SELECT count(*) FROM customers") == [(0,)]
    stored = []
    for table in ("outbox", "messages", "cases"):
        stored += [str(row) for row in await rows(db, f"SELECT * FROM {table}")]  # noqa: S608
    assert "378282246310005" not in "\n".join(stored)
