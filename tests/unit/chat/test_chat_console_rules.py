"""``AgentConsole``: queue-scoped case lists and views (audited), and reveals — reason, object and policy checks, rate
limit, and the ``secret.reveal`` event written before the value leaves (no event, no value)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from chat_support import CARD, agent

from securedesk.audit import AuditLog
from securedesk.channels.chat import AgentConsole, RevealRate
from securedesk.clock import FixedClock
from securedesk.errors import AuditError, InvalidInput, NotFound, ObjectNotVisible, PermissionDenied, RateLimited
from securedesk.identity import Role
from securedesk.policy import PolicyHolder
from securedesk.sensitive import Sensitive
from securedesk.storage.cases import CaseRecord, SqliteCaseRepository, new_case_id, new_reference
from securedesk.storage.database import Database
from securedesk.vault import Vault


@pytest.fixture
def console(
    cases: SqliteCaseRepository, vault: Vault, audit: AuditLog, policy: PolicyHolder, clock: FixedClock
) -> AgentConsole:
    return AgentConsole(cases=cases, vault=vault, audit=audit, policy=policy, clock=clock, reveal_per_hour=3)


async def make_case(
    cases: SqliteCaseRepository, clock: FixedClock, *, queue: str = "general", channel: str = "chat"
) -> CaseRecord:
    now = clock.now()
    async with cases.transaction() as conn:
        return await cases.insert_case(
            conn,
            CaseRecord(
                id=new_case_id(),
                reference=new_reference(),
                channel=channel,
                created_at=now,
                updated_at=now,
                queue=queue,
            ),
        )


async def audit_rows(db: Database) -> list[tuple[str, str, str, str | None, str]]:
    rows = await db.fetch_all("SELECT action, actor, outcome, reason, target FROM audit_events ORDER BY seq")
    return [(r["action"], r["actor"], r["outcome"], r["reason"], r["target"]) for r in rows]


async def test_the_list_holds_the_cases_of_the_agents_queues(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock
) -> None:
    general = await make_case(cases, clock)
    clock.advance(1)
    email = await make_case(cases, clock, channel="email")
    await make_case(cases, clock, queue="billing")

    assert [c.id for c in await console.list_cases(agent())] == [email.id, general.id]
    assert [c.id for c in await console.list_cases(agent(queues=()))] == []
    with pytest.raises(PermissionDenied):
        await console.list_cases(agent(role=Role.COMPLIANCE))


async def test_opening_a_case_is_audited_and_shows_every_vaulted_item(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database
) -> None:
    case = await make_case(cases, clock)
    await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)
    await vault.seal(
        "IBAN_CODE", Sensitive("GB82WEST12345698765432"), case_id=case.id, source="chat", retention_days=90
    )

    view = await console.open_case(agent(), case.id, origin_ip="203.0.113.7")

    assert view.case.id == case.id
    assert [(i.mask, i.source) for i in view.vaulted] == [("VISA •••• 1111", "form"), ("IBAN_CODE •••• 5432", "chat")]
    assert await audit_rows(db) == [("case.view", "alice", "success", None, f"case:{case.id}")]


@pytest.mark.parametrize(
    ("principal", "error"),
    [(agent("bob", queues=("billing",)), ObjectNotVisible), (agent("eve", role=Role.ADMIN), PermissionDenied)],
)
async def test_a_case_outside_reach_is_not_shown_nor_audited_as_viewed(
    console: AgentConsole,
    cases: SqliteCaseRepository,
    clock: FixedClock,
    db: Database,
    principal: object,
    error: type[Exception],
) -> None:
    case = await make_case(cases, clock)
    with pytest.raises(error):
        await console.open_case(principal, case.id, origin_ip=None)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await console.open_case(agent(), "case_missing", origin_ip=None)
    assert await audit_rows(db) == []


async def test_a_reveal_is_audited_with_its_reason_before_the_value_is_returned(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database
) -> None:
    case = await make_case(cases, clock)
    ref = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)

    item, value = await console.reveal(
        agent(), case.id, ref.token, "  refund   to card 4111 1111 1111 1111 ", origin_ip="203.0.113.7"
    )

    assert value.reveal() == CARD
    assert item.mask == "VISA •••• 1111"
    assert await audit_rows(db) == [
        (
            "secret.reveal",
            "alice",
            "success",
            "refund to card [CARD •••• 1111]",
            f"case:{case.id};secret:{ref.token};kind:CREDIT_CARD",
        ),
    ]


async def test_no_audit_event_means_no_value(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database
) -> None:
    case = await make_case(cases, clock)
    ref = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)
    with sqlite3.connect(db.path) as raw:
        raw.execute(
            "CREATE TRIGGER no_reveals BEFORE INSERT ON audit_events WHEN NEW.action = 'secret.reveal' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )

    with pytest.raises(AuditError):
        await console.reveal(agent(), case.id, ref.token, "customer asked for a refund", origin_ip=None)


@pytest.mark.parametrize("reason", ["", "   ", "ok", "x" * 501])
async def test_a_reveal_needs_a_stated_reason(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database, reason: str
) -> None:
    case = await make_case(cases, clock)
    ref = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)

    with pytest.raises(InvalidInput):
        await console.reveal(agent(), case.id, ref.token, reason, origin_ip=None)
    assert await audit_rows(db) == []


async def test_a_token_of_another_case_is_not_found(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database
) -> None:
    mine, other = await make_case(cases, clock), await make_case(cases, clock)
    ref = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=other.id, source="form", retention_days=14)

    with pytest.raises(NotFound):
        await console.reveal(agent(), mine.id, ref.token, "customer asked for a refund", origin_ip=None)
    with pytest.raises(NotFound):
        await console.reveal(agent(), mine.id, "tok_unknown", "customer asked for a refund", origin_ip=None)
    assert await audit_rows(db) == []


async def test_the_policy_decides_who_may_reveal_each_kind(
    cases: SqliteCaseRepository,
    vault: Vault,
    audit: AuditLog,
    clock: FixedClock,
    write_policy: Callable[[str], PolicyHolder],
) -> None:
    holder = write_policy("[entities.CREDIT_CARD.channels.form]\nreveal_roles = []\n")
    console = AgentConsole(cases=cases, vault=vault, audit=audit, policy=holder, clock=clock, reveal_per_hour=3)
    case = await make_case(cases, clock)
    card = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)
    iban = await vault.seal(
        "IBAN_CODE", Sensitive("GB82WEST12345698765432"), case_id=case.id, source="form", retention_days=90
    )
    view = await console.open_case(agent(), case.id, origin_ip=None)

    assert [console.may_reveal(agent(), case, item) for item in view.vaulted] == [False, True]
    with pytest.raises(PermissionDenied):
        await console.reveal(agent(), case.id, card.token, "customer asked for a refund", origin_ip=None)
    _, value = await console.reveal(agent(), case.id, iban.token, "refund to this account", origin_ip=None)
    assert value.reveal() == "GB82WEST12345698765432"


async def test_reveals_are_rate_limited_per_agent(
    console: AgentConsole, cases: SqliteCaseRepository, clock: FixedClock, vault: Vault, db: Database
) -> None:
    case = await make_case(cases, clock)
    ref = await vault.seal("CREDIT_CARD", Sensitive(CARD), case_id=case.id, source="form", retention_days=14)
    for _ in range(3):
        await console.reveal(agent(), case.id, ref.token, "customer asked for a refund", origin_ip=None)

    with pytest.raises(RateLimited):
        await console.reveal(agent(), case.id, ref.token, "customer asked for a refund", origin_ip=None)
    await console.reveal(agent("bob"), case.id, ref.token, "another agent, own limit", origin_ip=None)
    clock.advance(3_600)
    await console.reveal(agent(), case.id, ref.token, "an hour later", origin_ip=None)

    outcomes = [(action, actor, outcome) for action, actor, outcome, _, _ in await audit_rows(db)]
    assert outcomes == [("secret.reveal", "alice", "success")] * 3 + [
        ("secret.reveal", "alice", "denied"),
        ("secret.reveal", "bob", "success"),
        ("secret.reveal", "alice", "success"),
    ]


def test_the_reveal_rate_counts_per_staff_member(clock: FixedClock) -> None:
    rate = RevealRate(clock, per_hour=1)
    rate.admit("a")
    rate.admit("b")
    with pytest.raises(RateLimited):
        rate.admit("a")
    clock.advance(3_599.9)
    with pytest.raises(RateLimited):
        rate.admit("b")
    clock.advance(0.1)
    rate.admit("a")
