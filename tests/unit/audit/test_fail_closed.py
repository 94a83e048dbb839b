"""No audit record, no action: every way the write can fail raises AuditError, is counted, and stops the caller."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from securedesk.audit import AuditExport, AuditFilters, AuditLog, AuditPage
from securedesk.clock import FixedClock
from securedesk.errors import AuditError
from securedesk.storage import Database

Breaker = Callable[[Database, Path], Awaitable[None]]


async def insert_trigger_refuses(db: Database, db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "CREATE TRIGGER audit_read_only BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit table is read-only'); END"
        )


async def connection_is_read_only(db: Database, db_path: Path) -> None:
    await db.fetch_one("PRAGMA query_only = ON")


async def connection_is_closed(db: Database, db_path: Path) -> None:
    await db.close()


BREAKERS = [insert_trigger_refuses, connection_is_read_only, connection_is_closed]


@pytest.fixture(params=BREAKERS, ids=lambda breaker: breaker.__name__)
def breaker(request: pytest.FixtureRequest) -> Breaker:
    breaker: Breaker = request.param
    return breaker


async def test_record_raises_and_counts(log: AuditLog, db: Database, db_path: Path, breaker: Breaker) -> None:
    await log.record(actor="alice", role="agent", action="case.view")
    await breaker(db, db_path)
    for attempt in (1, 2):
        with pytest.raises(AuditError, match=r"could not be written \(\w+\); the action was not performed") as caught:
            await log.record(actor="alice", role="agent", action="secret.reveal", reason="customer asked")
        assert log.failures == attempt
        assert caught.value.http_status == 503
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT max(seq) FROM audit_events").fetchone()[0] == 1


async def test_export_produces_no_file(log: AuditLog, db: Database, db_path: Path, breaker: Breaker) -> None:
    await log.record(actor="alice", role="agent", action="case.view")
    await breaker(db, db_path)
    result: AuditExport | None = None
    with pytest.raises(AuditError):
        result = await log.export(AuditFilters(), "csv", actor="carol", role="compliance")
    assert result is None
    assert log.failures == 1


async def test_search_returns_no_results(log: AuditLog, db: Database, db_path: Path, breaker: Breaker) -> None:
    await log.record(actor="alice", role="agent", action="case.view")
    await breaker(db, db_path)
    result: AuditPage | None = None
    with pytest.raises(AuditError):
        result = await log.search(AuditFilters(), actor="carol", role="compliance")
    assert result is None
    assert log.failures == 1


async def test_guarded_change_in_the_same_transaction_is_rolled_back(
    log: AuditLog, db: Database, db_path: Path
) -> None:
    await insert_trigger_refuses(db, db_path)
    with pytest.raises(AuditError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_1', 0)")
            await log.record_in(conn, actor="alice", role="agent", action="customer.create", target="cus_1")
    assert await db.fetch_one("SELECT id FROM customers") is None
    assert log.failures == 1


async def test_redactor_failure_fails_closed(db: Database, clock: FixedClock) -> None:
    def broken_redactor(text: str) -> str:
        raise RuntimeError("detector unavailable")

    log = AuditLog(db, clock, broken_redactor)
    with pytest.raises(AuditError, match="RuntimeError"):
        await log.record(actor="alice", role="agent", action="secret.reveal", reason="because")
    with pytest.raises(AuditError):
        await log.search(AuditFilters(target="case_1"), actor="carol", role="compliance")
    assert log.failures == 2
    assert await log.store.head() is None


async def test_log_recovers_when_the_fault_is_gone(log: AuditLog, db: Database, db_path: Path) -> None:
    await log.record(actor="alice", role="agent", action="case.view")
    await connection_is_read_only(db, db_path)
    with pytest.raises(AuditError):
        await log.record(actor="alice", role="agent", action="case.view")
    await db.fetch_one("PRAGMA query_only = OFF")
    event = await log.record(actor="alice", role="agent", action="case.view")
    assert event.seq == 2
    report = await log.verify()
    assert (report.ok, report.events_checked, log.failures) == (True, 2, 1)


async def test_full_disk_fails_closed_and_leaves_the_chain_intact(log: AuditLog, db: Database, db_path: Path) -> None:
    # Cap the file at its current size on both connections and use up the free pages from the side; the next
    # audit event that needs a new page cannot be written.
    row = await db.fetch_one("PRAGMA page_count")
    assert row is not None
    await db.fetch_one(f"PRAGMA max_page_count = {int(row[0])}")
    with sqlite3.connect(db_path, isolation_level=None) as raw:
        raw.execute(f"PRAGMA max_page_count = {int(row[0])}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for i in range(100_000):
                raw.execute("INSERT INTO customers (id, created_at) VALUES (?, 0)", (f"cus_{i:06d}",))
    written = 0
    with pytest.raises(AuditError, match="OperationalError"):
        for _ in range(10_000):
            await log.record(actor="alice", role="agent", action="case.view", reason="x" * 200)
            written += 1
    assert log.failures == 1
    with pytest.raises(AuditError):
        await log.export(AuditFilters(), "jsonl", actor="carol", role="compliance")
    assert log.failures == 2
    await db.fetch_one("PRAGMA max_page_count = 1000000")
    report = await log.verify()
    assert (report.ok, report.last_sequence) == (True, written)


async def test_failures_reach_the_metric(db: Database, db_path: Path, clock: FixedClock, breaker: Breaker) -> None:
    from securedesk.metrics import Metrics

    metrics = Metrics(process_metrics=False)
    log = AuditLog(db, clock, lambda text: text, on_failure=metrics.record_audit_failure)
    await log.record(actor="alice", role="agent", action="case.view")
    await breaker(db, db_path)
    with pytest.raises(AuditError):
        await log.record(actor="alice", role="agent", action="secret.reveal", reason="customer asked")
    assert log.failures == 1
    assert "securedesk_audit_write_failures_total 1.0" in metrics.render().decode()
