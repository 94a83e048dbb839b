from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from securedesk.audit import GENESIS_HASH, AuditLog, event_hash
from securedesk.clock import FixedClock
from securedesk.errors import AuditError
from securedesk.storage import Database


async def test_first_event_has_every_field_and_links_to_genesis(log: AuditLog, clock: FixedClock) -> None:
    clock.set(1_800_000_000.25)
    event = await log.record(
        actor="alice",
        role="agent",
        action="secret.reveal",
        target="tok_abc",
        origin_ip="192.0.2.7",
        channel="web",
        reason="customer asked to confirm",
    )
    assert event.as_dict() == {
        "seq": 1,
        "time": "2027-01-15T08:00:00.250000Z",
        "actor": "alice",
        "role": "agent",
        "origin_ip": "192.0.2.7",
        "channel": "web",
        "action": "secret.reveal",
        "target": "tok_abc",
        "outcome": "success",
        "reason": "customer asked to confirm",
        "prev_hash": GENESIS_HASH,
        "hash": event_hash(event),
    }
    stored = await log.store.event(1)
    assert stored == event


async def test_events_chain_in_sequence(log: AuditLog) -> None:
    first = await log.record(actor="a", role="agent", action="case.view")
    second = await log.record(actor="b", role="agent", action="case.view")
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.hash == event_hash(second)


async def test_reason_is_screened_before_it_is_stored(log: AuditLog, db_path: Path) -> None:
    await log.record(actor="alice", role="agent", action="secret.reveal", reason="card 4111111111111111 exp 12/29")
    with sqlite3.connect(db_path) as raw:
        stored = raw.execute("SELECT reason FROM audit_events WHERE seq = 1").fetchone()[0]
        dump = "\n".join(raw.iterdump())
    assert stored == "card ################ exp ##/##"
    assert "4111111111111111" not in dump


async def test_empty_reason_and_origin_are_stored_as_null(log: AuditLog) -> None:
    event = await log.record(actor="a", role="agent", action="case.view", reason="", origin_ip="")
    assert (event.reason, event.origin_ip) == (None, None)


async def test_long_reason_is_truncated_after_screening(log: AuditLog) -> None:
    event = await log.record(actor="a", role="agent", action="secret.reveal", reason="x" * 5000 + "4111")
    assert event.reason is not None
    assert len(event.reason) == 2000
    assert event.reason.endswith("… [truncated]")


async def test_text_that_sqlite_and_utf8_cannot_carry_is_cleaned(log: AuditLog) -> None:
    event = await log.record(actor="a\x00b", role="agent", action="case.view", reason="lone \ud800 surrogate")
    assert (event.actor, event.reason) == ("a\ufffdb", "lone ? surrogate")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "Login"}, "dotted lowercase"),
        ({"action": "auth"}, "dotted lowercase"),
        ({"action": "auth.login; DROP"}, "dotted lowercase"),
        ({"role": "Admin"}, "role"),
        ({"channel": "web socket"}, "channel"),
        ({"outcome": "ok"}, "outcome must be one of success, failure, denied, error"),
        ({"actor": ""}, "actor"),
        ({"target": "t" * 1001}, "target"),
    ],
)
async def test_malformed_events_are_refused_and_counted(log: AuditLog, changes: dict[str, str], message: str) -> None:
    fields = {"actor": "alice", "role": "agent", "action": "case.view", **changes}
    with pytest.raises(AuditError, match=message):
        await log.record(**fields)
    assert log.failures == 1
    assert await log.store.head() is None


async def test_record_in_commits_with_the_callers_transaction(log: AuditLog, db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_1', 0)")
        await log.record_in(conn, actor="alice", role="agent", action="customer.create", target="cus_1")
    assert (await log.store.head() or (0, ""))[0] == 1


async def test_record_in_rolls_back_with_the_callers_transaction(log: AuditLog, db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await log.record_in(conn, actor="alice", role="agent", action="customer.create", target="cus_1")
            raise RuntimeError("the caller's own step failed")
    assert await log.store.head() is None
    after = await log.record(actor="alice", role="agent", action="case.view")
    assert (after.seq, after.prev_hash) == (1, GENESIS_HASH), "the rolled-back event leaves no gap"
    assert (await log.verify()).ok


async def test_store_refuses_an_append_that_does_not_extend_the_head(log: AuditLog, db: Database) -> None:
    first = await log.record(actor="alice", role="agent", action="case.view")
    second = await log.record(actor="alice", role="agent", action="case.view")
    async with db.transaction() as conn:
        for stale in (
            first,
            dataclasses.replace(second, seq=3, prev_hash=first.hash),
            dataclasses.replace(second, seq=4, prev_hash=second.hash),
        ):
            assert not await log.store.append_in(conn, stale)
    assert (await log.store.head() or (0, ""))[0] == 2


async def test_record_in_outside_a_transaction_is_refused(log: AuditLog, db: Database) -> None:
    conn = db._conn  # the connection itself, with no transaction open
    with pytest.raises(AuditError, match="needs a write transaction"):
        await log.record_in(conn, actor="alice", role="agent", action="case.view")
    assert log.failures == 1


async def test_200_concurrent_appends_make_one_chain_without_gaps(log: AuditLog) -> None:
    events = await asyncio.gather(
        *(log.record(actor=f"agent{i}", role="agent", action="case.view", target=f"case_{i}") for i in range(200))
    )
    assert sorted(e.seq for e in events) == list(range(1, 201))
    by_seq = {e.seq: e for e in events}
    assert all(by_seq[s].prev_hash == by_seq[s - 1].hash for s in range(2, 201))
    report = await log.verify()
    assert (report.ok, report.events_checked, report.last_sequence) == (True, 200, 200)


async def test_two_logs_on_two_connections_do_not_fork_the_chain(db_path: Path, clock: FixedClock) -> None:
    # Two processes' worth of connections: BEGIN IMMEDIATE plus reading the head inside it serializes them.
    first_db = await Database.open(db_path)
    second_db = await Database.open(db_path)
    try:
        first = AuditLog(first_db, clock, str.upper)
        second = AuditLog(second_db, clock, str.upper)
        await asyncio.gather(
            *((first if i % 2 else second).record(actor=f"a{i}", role="agent", action="case.view") for i in range(60))
        )
        report = await first.verify()
        assert (report.ok, report.last_sequence) == (True, 60)
    finally:
        await first_db.close()
        await second_db.close()


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", "append-only: events cannot be changed"),
        ("DELETE FROM audit_events WHERE seq = 1", "append-only: events cannot be deleted"),
        ("UPDATE audit_checkpoints SET sequence = 9", "audit_checkpoints is append-only"),
        ("DELETE FROM audit_checkpoints", "audit_checkpoints is append-only"),
    ],
)
async def test_database_refuses_update_and_delete(log: AuditLog, db_path: Path, statement: str, message: str) -> None:
    await log.record(actor="alice", role="agent", action="case.view")
    await log.checkpoint()
    with sqlite3.connect(db_path) as raw, pytest.raises(sqlite3.IntegrityError, match=message):
        raw.execute(statement)
