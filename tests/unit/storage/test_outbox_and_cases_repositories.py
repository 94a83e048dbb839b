"""The outbox and cases repositories on a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from securedesk.storage import Database
from securedesk.storage.cases import CaseRecord, MessageRecord, SqliteCaseRepository, new_case_id, new_message_id
from securedesk.storage.outbox import OutboxEntry, SqliteOutboxRepository, new_outbox_id


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "s.db")
    yield database  # type: ignore[misc]
    await database.close()


def entry(message_id: str, *, now: float = 100.0, kind: str = "inbound", reply_key: str | None = None) -> OutboxEntry:
    return OutboxEntry(
        id=new_outbox_id(),
        message_id=message_id,
        kind=kind,
        case_id=None,
        mail_from="a@example.com",
        rcpt_to=("s@support.securedesk.test",),
        content=b"Subject: x\r\n\r\nbody\r\n",
        state="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        reply_key=reply_key,
    )


async def test_enqueue_is_idempotent_by_message_id_and_kind(db: Database) -> None:
    outbox = SqliteOutboxRepository(db)
    async with outbox.transaction() as conn:
        assert await outbox.enqueue(conn, entry("<m@x>"))
        assert not await outbox.enqueue(conn, entry("<m@x>"))
        assert await outbox.enqueue(conn, entry("<m@x>", kind="autoreply"))
    assert await outbox.contains("<m@x>", "inbound")
    assert await outbox.count_by_state() == {"pending": 2, "delivered": 0, "failed": 0, "gave_up": 0}


async def test_due_retry_delivered_and_finished(db: Database) -> None:
    outbox = SqliteOutboxRepository(db)
    first, second = entry("<a@x>", now=100.0), entry("<b@x>", now=150.0)
    async with outbox.transaction() as conn:
        await outbox.enqueue(conn, second)
        await outbox.enqueue(conn, first)
    assert [e.message_id for e in await outbox.due(now=120.0, limit=10)] == ["<a@x>"]
    await outbox.mark_retry(first.id, now=120.0, next_attempt_at=180.0, error="smtp 451 4.3.0")
    assert [e.message_id for e in await outbox.due(now=160.0, limit=10)] == ["<b@x>"]
    assert await outbox.next_due_at() == 150.0
    await outbox.mark_delivered(second.id, now=160.0)
    await outbox.mark_finished(first.id, state="failed", now=190.0, error="smtp 550 5.7.1")
    done = await outbox.get(second.id)
    failed = await outbox.get(first.id)
    assert done is not None
    assert (done.state, done.attempts, done.content, done.finished_at) == ("delivered", 1, b"", 160.0)
    assert failed is not None
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 2, "smtp 550 5.7.1")
    assert failed.content == first.content  # kept for an admin to look at or send again
    [problem] = await outbox.list_problems()
    assert (problem.id, problem.content) == (first.id, b"")
    with pytest.raises(ValueError, match="failed or gave_up"):
        await outbox.mark_finished(first.id, state="delivered", now=1.0, error="x")


async def test_autoreplies_are_counted_per_address_and_window(db: Database) -> None:
    outbox = SqliteOutboxRepository(db)
    async with outbox.transaction() as conn:
        await outbox.enqueue(conn, entry("<r1@x>", now=1000.0, kind="autoreply", reply_key="jane@example.com"))
    assert await outbox.count_autoreplies_since("jane@example.com", 999.0) == 1
    assert await outbox.count_autoreplies_since("jane@example.com", 1001.0) == 0
    assert await outbox.count_autoreplies_since("joe@example.com", 0.0) == 0


async def test_cases_customers_and_messages(db: Database) -> None:
    cases = SqliteCaseRepository(db)
    async with cases.transaction() as conn:
        customer = await cases.ensure_customer(conn, email="Jane@Example.com", now=1.0)
        assert await cases.ensure_customer(conn, email="jane@example.com", now=2.0) == customer
        case = await cases.insert_case(
            conn,
            CaseRecord(
                id=new_case_id(),
                reference="SD-BCDFGH",
                channel="email",
                created_at=1.0,
                updated_at=1.0,
                customer_id=customer,
            ),
        )
        clash = await cases.insert_case(
            conn,
            CaseRecord(id=new_case_id(), reference="SD-BCDFGH", channel="chat", created_at=1.0, updated_at=1.0),
        )
        await cases.update_case(conn, case.id, now=5.0, subject="Ma carte [CARD •••• 1111]", lang="fr")
        await cases.insert_message(
            conn,
            MessageRecord(
                id=new_message_id(),
                case_id=case.id,
                direction="inbound",
                sender_kind="customer",
                body="masked",
                created_at=5.0,
                meta={"entities": {"CREDIT_CARD": 1}},
            ),
        )
    assert clash.reference != "SD-BCDFGH"
    stored = await cases.get_case(case.id)
    assert stored is not None
    assert (stored.subject, stored.lang, stored.updated_at, stored.customer_id) == (
        "Ma carte [CARD •••• 1111]",
        "fr",
        5.0,
        customer,
    )
    assert (await cases.get_case_by_reference("SD-BCDFGH")) == stored
    [message] = await cases.list_messages(case.id)
    assert message.meta == {"entities": {"CREDIT_CARD": 1}}
    assert [c.id for c in await cases.list_cases(status="open")] == [case.id, clash.id]
    async with cases.transaction() as conn:
        await cases.delete_case(conn, case.id)
    assert await cases.list_messages(case.id) == []
