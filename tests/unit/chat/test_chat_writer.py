"""``ChatWriter``: writes that arrive while a transaction commits share the next one (group commit); each caller
returns once its rows are committed; a bad row fails alone."""

from __future__ import annotations

import asyncio
import json

import pytest

from securedesk.channels.chat.writer import ChatWriter, MessageWrite
from securedesk.clock import FixedClock
from securedesk.storage.cases import (
    CaseRecord,
    CaseTouch,
    MessageRecord,
    SqliteCaseRepository,
    new_case_id,
    new_reference,
)
from securedesk.storage.database import Database


def case_record(clock: FixedClock) -> CaseRecord:
    now = clock.now()
    return CaseRecord(id=new_case_id(), reference=new_reference(), channel="chat", created_at=now, updated_at=now)


def message(case_id: str, number: int, *, at: float) -> MessageWrite:
    record = MessageRecord(
        id=f"msg_{number:024d}",
        case_id=case_id,
        direction="inbound",
        sender_kind="customer",
        body=f"hello {number}",
        created_at=at,
        meta={"lang": "en"},
    )
    return MessageWrite(record, CaseTouch(case_id, at + 1, subject="hello" if number == 0 else None))


class CountingRepository(SqliteCaseRepository):
    """The real repository, counting the write transactions it was asked for."""

    transactions = 0

    def transaction(self):  # type: ignore[no-untyped-def]
        self.transactions += 1
        return super().transaction()


async def test_concurrent_writes_share_transactions(db: Database, clock: FixedClock) -> None:
    cases = CountingRepository(db)
    writer = ChatWriter(cases)
    opened = await asyncio.gather(*(writer.open_case(case_record(clock), lang="fr") for _ in range(3)))
    assert cases.transactions == 1  # three new conversations, one commit

    await asyncio.gather(*(writer.write(message(opened[n % 3].id, n, at=clock.now())) for n in range(30)))

    assert cases.transactions == 2
    rows = await db.fetch_all("SELECT case_id, body FROM messages ORDER BY rowid")
    assert [row["body"] for row in rows] == [f"hello {n}" for n in range(30)]
    for case in opened:
        stored = await cases.get_case(case.id)
        assert stored is not None
        assert stored.updated_at == clock.now() + 1
        assert stored.customer_id is not None
    first = await cases.get_case(opened[0].id)
    assert first is not None
    assert first.subject == "hello"
    customers = await db.fetch_all("SELECT preferred_lang, email FROM customers")
    assert [(row["preferred_lang"], row["email"]) for row in customers] == [("fr", None)] * 3


async def test_a_bad_row_fails_alone(db: Database, clock: FixedClock) -> None:
    cases = SqliteCaseRepository(db)
    writer = ChatWriter(cases)
    case = await writer.open_case(case_record(clock), lang="en")

    results = await asyncio.gather(
        writer.write(message(case.id, 1, at=clock.now())),
        writer.write(message("case_does_not_exist", 2, at=clock.now())),  # the foreign key refuses it
        writer.write(message(case.id, 3, at=clock.now())),
        return_exceptions=True,
    )

    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], Exception)
    rows = await db.fetch_all("SELECT body, meta FROM messages ORDER BY rowid")
    assert [(row["body"], json.loads(row["meta"])) for row in rows] == [
        ("hello 1", {"lang": "en"}),
        ("hello 3", {"lang": "en"}),
    ]


async def test_a_lone_failure_is_raised_to_its_caller(db: Database, clock: FixedClock) -> None:
    writer = ChatWriter(SqliteCaseRepository(db))
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await writer.write(message("case_does_not_exist", 1, at=clock.now()))
