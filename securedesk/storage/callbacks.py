"""Call-back requests repository: the customer's number as a vault field blob with a keyed index and a display mask,
the preferred window, and the request's way through the agents' queue."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

import aiosqlite

from securedesk.storage.database import Database

#: requested → claimed → done | no_answer | rescheduled; the last two go back to the queue.
CALLBACK_STATUSES: Final = ("requested", "claimed", "done", "no_answer", "rescheduled")
#: Customer-facing references: no vowels (no words), no 0/1/O/I (no misreading).
_REFERENCE_ALPHABET: Final = "23456789BCDFGHJKLMNPQRSTVWXZ"
OPEN_STATUSES: Final = ("requested", "claimed", "no_answer", "rescheduled")
CLAIMABLE_STATUSES: Final = ("requested", "no_answer", "rescheduled")


def new_callback_id() -> str:
    return "cb_" + secrets.token_hex(12)


def new_callback_reference() -> str:
    return "CB-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class CallbackRecord:
    id: str
    reference: str
    case_id: str | None
    customer_id: str | None
    queue: str
    phone: bytes  # field blob: opened only by an audited reveal
    phone_index: bytes
    phone_mask: str
    window_start: float
    window_end: float
    time_zone: str
    lang: str
    topic: str
    status: str
    created_at: float
    updated_at: float
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    attempts: int = 0
    session_key: bytes | None = None
    ip_key: bytes | None = None

    def __repr__(self) -> str:
        return f"CallbackRecord(id={self.id!r}, status={self.status!r}, phone={self.phone_mask!r})"


class CallbackRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    async def insert(self, conn: aiosqlite.Connection, record: CallbackRecord) -> CallbackRecord:
        """Insert; a reference already taken is replaced by a fresh one (the stored record is returned)."""
        ...

    async def get(self, callback_id: str) -> CallbackRecord | None: ...
    async def requested_since(self, column: str, key: bytes, *, since: float) -> list[float]:
        """Creation times (oldest first) of requests whose ``column`` (phone_index, session_key, ip_key) is ``key``."""
        ...

    async def queue(
        self, *, queues: Collection[str], statuses: Collection[str], limit: int = 200
    ) -> list[CallbackRecord]:
        """Requests in these queues and statuses, earliest window first."""
        ...

    async def for_customer(
        self, customer_id: str, case_ids: Collection[str], *, limit: int = 50
    ) -> list[CallbackRecord]: ...

    async def claim(self, callback_id: str, *, staff_id: str, staff_name: str, now: float) -> bool:
        """Take a claimable request; False when it is not claimable any more (someone else was faster)."""
        ...

    async def delete_untouched_since(self, before: float) -> int:
        """Forget requests (their encrypted numbers with them) that nothing happened to after ``before``."""
        ...

    async def finish(
        self,
        conn: aiosqlite.Connection,
        callback_id: str,
        *,
        staff_id: str,
        status: str,
        now: float,
        window: tuple[float, float] | None = None,
        called: bool,
    ) -> bool:
        """Move a request claimed by ``staff_id`` to ``status`` (a new window for rescheduled); False otherwise."""
        ...


_COLUMNS: Final = (
    "id, reference, case_id, customer_id, queue, phone, phone_index, phone_mask, window_start, window_end, "
    "time_zone, lang, topic, status, claimed_by, claimed_by_name, attempts, session_key, ip_key, created_at, "
    "updated_at"
)
_RATE_COLUMNS: Final = frozenset({"phone_index", "session_key", "ip_key"})


def _record(row: aiosqlite.Row) -> CallbackRecord:
    def blob(name: str) -> bytes | None:
        value = row[name]
        return None if value is None else bytes(value)

    return CallbackRecord(
        id=row["id"],
        reference=row["reference"],
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        queue=row["queue"],
        phone=bytes(row["phone"]),
        phone_index=bytes(row["phone_index"]),
        phone_mask=row["phone_mask"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        time_zone=row["time_zone"],
        lang=row["lang"],
        topic=row["topic"],
        status=row["status"],
        claimed_by=row["claimed_by"],
        claimed_by_name=row["claimed_by_name"],
        attempts=row["attempts"],
        session_key=blob("session_key"),
        ip_key=blob("ip_key"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _marks(values: Collection[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


class SqliteCallbackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    async def insert(self, conn: aiosqlite.Connection, record: CallbackRecord) -> CallbackRecord:
        for _ in range(8):
            async with conn.execute("SELECT 1 FROM callbacks WHERE reference = ?", (record.reference,)) as cursor:
                taken = await cursor.fetchone() is not None
            if not taken:
                break
            record = dataclasses.replace(record, reference=new_callback_reference())
        await conn.execute(
            f"INSERT INTO callbacks ({_COLUMNS}) VALUES ({_marks(_COLUMNS.split(', '))})",  # noqa: S608
            (
                record.id,
                record.reference,
                record.case_id,
                record.customer_id,
                record.queue,
                record.phone,
                record.phone_index,
                record.phone_mask,
                record.window_start,
                record.window_end,
                record.time_zone,
                record.lang,
                record.topic,
                record.status,
                record.claimed_by,
                record.claimed_by_name,
                record.attempts,
                record.session_key,
                record.ip_key,
                record.created_at,
                record.updated_at,
            ),
        )
        return record

    async def get(self, callback_id: str) -> CallbackRecord | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM callbacks WHERE id = ?", (callback_id,))  # noqa: S608
        return None if row is None else _record(row)

    async def requested_since(self, column: str, key: bytes, *, since: float) -> list[float]:
        if column not in _RATE_COLUMNS:
            raise ValueError(f"{column!r} is not a rate-limit column")
        rows = await self._db.fetch_all(
            f"SELECT created_at FROM callbacks WHERE {column} = ? AND created_at > ? ORDER BY created_at",  # noqa: S608
            (key, since),
        )
        return [float(row[0]) for row in rows]

    async def queue(
        self, *, queues: Collection[str], statuses: Collection[str], limit: int = 200
    ) -> list[CallbackRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM callbacks WHERE queue IN ({_marks(queues)}) "  # noqa: S608
            f"AND status IN ({_marks(statuses)}) ORDER BY window_start, created_at, id LIMIT ?",
            (*queues, *statuses, limit),
        )
        return [_record(row) for row in rows]

    async def for_customer(
        self, customer_id: str, case_ids: Collection[str], *, limit: int = 50
    ) -> list[CallbackRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM callbacks WHERE customer_id = ? OR case_id IN ({_marks(case_ids)}) "  # noqa: S608
            "ORDER BY created_at DESC, id LIMIT ?",
            (customer_id, *case_ids, limit),
        )
        return [_record(row) for row in rows]

    async def claim(self, callback_id: str, *, staff_id: str, staff_name: str, now: float) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE callbacks SET status = 'claimed', claimed_by = ?, claimed_by_name = ?, updated_at = ? "
                "WHERE id = ? AND status IN ('requested', 'no_answer', 'rescheduled')",
                (staff_id, staff_name, now, callback_id),
            )
            claimed = cursor.rowcount == 1
            await cursor.close()
        return claimed

    async def delete_untouched_since(self, before: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM callbacks WHERE updated_at <= ?", (before,))
            deleted = cursor.rowcount
            await cursor.close()
        return deleted

    async def finish(
        self,
        conn: aiosqlite.Connection,
        callback_id: str,
        *,
        staff_id: str,
        status: str,
        now: float,
        window: tuple[float, float] | None = None,
        called: bool,
    ) -> bool:
        if status not in CALLBACK_STATUSES or status in ("requested", "claimed"):
            raise ValueError(f"a claimed call-back finishes as done, no_answer or rescheduled, not {status!r}")
        assignments = ["status = ?", "updated_at = ?", "attempts = attempts + ?"]
        params: list[object] = [status, now, 1 if called else 0]
        if status != "done":
            assignments.append("claimed_by = NULL")
            assignments.append("claimed_by_name = NULL")
        if window is not None:
            assignments.extend(("window_start = ?", "window_end = ?"))
            params.extend(window)
        params.extend((callback_id, staff_id))
        cursor = await conn.execute(
            f"UPDATE callbacks SET {', '.join(assignments)} "  # noqa: S608
            "WHERE id = ? AND status = 'claimed' AND claimed_by = ?",
            params,
        )
        finished = cursor.rowcount == 1
        await cursor.close()
        return finished
