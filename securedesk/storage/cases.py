"""Cases repository: customers' cases and their (redacted) messages, shared by every channel.

Writes take the connection of a transaction the caller holds, so that a message and what goes with it (an outbox
row, an audit event) commit together. Bodies and subjects stored here are screened text only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import aiosqlite

from securedesk.storage.database import Database

#: Customer-facing case references: no vowels (no words), no 0/1/O/I (no misreading), six characters.
_REFERENCE_ALPHABET: Final = "23456789BCDFGHJKLMNPQRSTVWXZ"
LANGS: Final = ("en", "fr", "sv")


def new_case_id() -> str:
    return "case_" + secrets.token_hex(12)


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_customer_id() -> str:
    return "cus_" + secrets.token_hex(12)


def new_reference() -> str:
    return "SD-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class CaseRecord:
    id: str
    reference: str
    channel: str  # "chat" | "email" | "form" | "webhook"
    created_at: float
    updated_at: float
    customer_id: str | None = None
    subject: str = ""
    status: str = "open"  # "open" | "pending" | "closed"
    queue: str = "general"
    assigned_to: str | None = None
    lang: str = "en"


@dataclass(frozen=True)
class MessageRecord:
    id: str
    case_id: str
    direction: str  # "inbound" | "outbound" | "internal"
    sender_kind: str  # "customer" | "agent" | "system"
    body: str  # redacted text only
    created_at: float
    sender_id: str | None = None
    content_type: str = "text/plain"
    state: str = "delivered"  # "delivered" | "held" | "blocked" | "retracted"
    meta: Mapping[str, Any] = field(default_factory=dict)  # entity counts, tokens, withheld parts; never values


@dataclass(frozen=True)
class VaultedItem:
    """Display data of a value vaulted for a case (read from the vault's table; never its ciphertext)."""

    token: str
    kind: str
    brand: str | None
    last4: str
    source: str  # "chat", "email", "form", …: the channel that sealed it
    created_at: float
    expires_at: float | None = None

    @property
    def mask(self) -> str:
        """``VISA •••• 1111``, as ``securedesk.vault.SecretRef.mask`` shows it."""
        return f"{self.brand or self.kind} •••• {self.last4}"


@dataclass(frozen=True)
class CaseTouch:
    """A case that got a message: its new ``updated_at``, and its subject if it had none yet."""

    case_id: str
    updated_at: float
    subject: str | None = None


class CaseRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    # --- writes inside the caller's transaction ---
    async def ensure_customer(self, conn: aiosqlite.Connection, *, email: str, now: float) -> str:
        """The id of the customer with this contact address, created if there is none."""
        ...

    async def insert_case(self, conn: aiosqlite.Connection, record: CaseRecord) -> CaseRecord:
        """Insert; a reference that is already taken is replaced by a fresh one (the stored record is returned)."""
        ...

    async def update_case(
        self,
        conn: aiosqlite.Connection,
        case_id: str,
        *,
        now: float,
        subject: str | None = None,
        lang: str | None = None,
        status: str | None = None,
    ) -> None: ...

    async def insert_message(self, conn: aiosqlite.Connection, record: MessageRecord) -> None: ...
    async def delete_case(self, conn: aiosqlite.Connection, case_id: str) -> None:
        """Remove a case with its messages and vaulted values (``ON DELETE CASCADE``)."""
        ...

    async def delete_empty_cases(self, conn: aiosqlite.Connection, *, channel: str) -> int:
        """Remove the cases of ``channel`` that have no message (with their vaulted values); return how many.

        For a channel that opens its case before the message is committed (email), these are the leftovers of a
        process that died in between: no message was acknowledged for them."""
        ...

    # --- reads ---
    async def get_case(self, case_id: str) -> CaseRecord | None: ...
    async def get_case_by_reference(self, reference: str) -> CaseRecord | None: ...
    async def list_cases(
        self, *, status: str | None = None, queue: str | None = None, limit: int = 100
    ) -> list[CaseRecord]: ...
    async def list_messages(self, case_id: str) -> list[MessageRecord]: ...

    # --- chat and the agent console ---
    async def insert_anonymous_customer(self, conn: aiosqlite.Connection, *, lang: str, now: float) -> str:
        """A customer known only by their chat conversation (no contact address)."""
        ...

    async def update_message(
        self, conn: aiosqlite.Connection, message_id: str, *, body: str, meta: Mapping[str, Any]
    ) -> bool:
        """Replace a stored message's (redacted) body and meta, e.g. when a later chat message completed a number
        that it held the first part of. False when there is no such message."""
        ...

    async def insert_messages(self, conn: aiosqlite.Connection, records: Sequence[MessageRecord]) -> None:
        """Several messages in one statement (a chat's group commit)."""
        ...

    async def touch_cases(self, conn: aiosqlite.Connection, touches: Sequence[CaseTouch]) -> None:
        """Set ``updated_at`` (and a subject where one is given) of several cases in one statement."""
        ...

    async def get_message(self, message_id: str) -> MessageRecord | None: ...
    async def list_cases_in_queues(self, queues: Collection[str], *, limit: int = 100) -> list[CaseRecord]:
        """Cases in any of ``queues`` (an agent's), most recently updated first."""
        ...

    async def list_vaulted(self, case_id: str, *, now: float) -> list[VaultedItem]:
        """Display data of every unexpired value vaulted for the case, whatever sealed it, oldest first."""
        ...


_CASE_COLUMNS: Final = (
    "id, reference, customer_id, channel, subject, status, queue, assigned_to, lang, created_at, updated_at"
)
_MESSAGE_COLUMNS: Final = "id, case_id, direction, sender_kind, sender_id, body, content_type, state, meta, created_at"


def _case(row: aiosqlite.Row) -> CaseRecord:
    return CaseRecord(
        id=row["id"],
        reference=row["reference"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        subject=row["subject"],
        status=row["status"],
        queue=row["queue"],
        assigned_to=row["assigned_to"],
        lang=row["lang"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _message(row: aiosqlite.Row) -> MessageRecord:
    return MessageRecord(
        id=row["id"],
        case_id=row["case_id"],
        direction=row["direction"],
        sender_kind=row["sender_kind"],
        sender_id=row["sender_id"],
        body=row["body"],
        content_type=row["content_type"],
        state=row["state"],
        meta=json.loads(row["meta"]),
        created_at=row["created_at"],
    )


class SqliteCaseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    async def ensure_customer(self, conn: aiosqlite.Connection, *, email: str, now: float) -> str:
        async with conn.execute("SELECT id FROM customers WHERE email = ?", (email,)) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return str(row[0])
        customer_id = new_customer_id()
        await conn.execute("INSERT INTO customers (id, email, created_at) VALUES (?, ?, ?)", (customer_id, email, now))
        return customer_id

    async def insert_case(self, conn: aiosqlite.Connection, record: CaseRecord) -> CaseRecord:
        for _ in range(8):
            async with conn.execute("SELECT 1 FROM cases WHERE reference = ?", (record.reference,)) as cursor:
                taken = await cursor.fetchone() is not None
            if not taken:
                break
            record = CaseRecord(**{**record.__dict__, "reference": new_reference()})
        await conn.execute(
            f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.id,
                record.reference,
                record.customer_id,
                record.channel,
                record.subject,
                record.status,
                record.queue,
                record.assigned_to,
                record.lang,
                record.created_at,
                record.updated_at,
            ),
        )
        return record

    async def update_case(
        self,
        conn: aiosqlite.Connection,
        case_id: str,
        *,
        now: float,
        subject: str | None = None,
        lang: str | None = None,
        status: str | None = None,
    ) -> None:
        assignments = ["updated_at = ?"]
        params: list[object] = [now]
        for column, value in (("subject", subject), ("lang", lang), ("status", status)):
            if value is not None:
                assignments.append(f"{column} = ?")
                params.append(value)
        params.append(case_id)
        await conn.execute(f"UPDATE cases SET {', '.join(assignments)} WHERE id = ?", params)  # noqa: S608

    async def insert_message(self, conn: aiosqlite.Connection, record: MessageRecord) -> None:
        await conn.execute(
            f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.id,
                record.case_id,
                record.direction,
                record.sender_kind,
                record.sender_id,
                record.body,
                record.content_type,
                record.state,
                json.dumps(dict(record.meta), sort_keys=True),
                record.created_at,
            ),
        )

    async def delete_case(self, conn: aiosqlite.Connection, case_id: str) -> None:
        await conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))

    async def delete_empty_cases(self, conn: aiosqlite.Connection, *, channel: str) -> int:
        cursor = await conn.execute(
            "DELETE FROM cases WHERE channel = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE case_id = cases.id)",
            (channel,),
        )
        return max(cursor.rowcount, 0)

    async def get_case(self, case_id: str) -> CaseRecord | None:
        row = await self._db.fetch_one(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))  # noqa: S608
        return None if row is None else _case(row)

    async def get_case_by_reference(self, reference: str) -> CaseRecord | None:
        row = await self._db.fetch_one(f"SELECT {_CASE_COLUMNS} FROM cases WHERE reference = ?", (reference,))  # noqa: S608
        return None if row is None else _case(row)

    async def list_cases(
        self, *, status: str | None = None, queue: str | None = None, limit: int = 100
    ) -> list[CaseRecord]:
        conditions: list[str] = []
        params: list[object] = []
        if status is not None:
            conditions.append("status = ?")
            params.append(status)
        if queue is not None:
            conditions.append("queue = ?")
            params.append(queue)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        params.append(limit)
        rows = await self._db.fetch_all(
            f"SELECT {_CASE_COLUMNS} FROM cases {where}ORDER BY updated_at DESC LIMIT ?",  # noqa: S608
            params,
        )
        return [_case(row) for row in rows]

    async def list_messages(self, case_id: str) -> list[MessageRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE case_id = ? ORDER BY created_at, rowid",  # noqa: S608
            (case_id,),
        )
        return [_message(row) for row in rows]

    async def insert_anonymous_customer(self, conn: aiosqlite.Connection, *, lang: str, now: float) -> str:
        customer_id = new_customer_id()
        await conn.execute(
            "INSERT INTO customers (id, preferred_lang, created_at) VALUES (?, ?, ?)",
            (customer_id, lang if lang in LANGS else "en", now),
        )
        return customer_id

    async def update_message(
        self, conn: aiosqlite.Connection, message_id: str, *, body: str, meta: Mapping[str, Any]
    ) -> bool:
        cursor = await conn.execute(
            "UPDATE messages SET body = ?, meta = ? WHERE id = ?",
            (body, json.dumps(dict(meta), sort_keys=True), message_id),
        )
        updated = cursor.rowcount == 1
        await cursor.close()
        return updated

    async def insert_messages(self, conn: aiosqlite.Connection, records: Sequence[MessageRecord]) -> None:
        await conn.executemany(
            f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [
                (
                    r.id,
                    r.case_id,
                    r.direction,
                    r.sender_kind,
                    r.sender_id,
                    r.body,
                    r.content_type,
                    r.state,
                    json.dumps(dict(r.meta), sort_keys=True),
                    r.created_at,
                )
                for r in records
            ],
        )

    async def touch_cases(self, conn: aiosqlite.Connection, touches: Sequence[CaseTouch]) -> None:
        await conn.executemany(
            "UPDATE cases SET updated_at = max(updated_at, ?), subject = COALESCE(?, subject) WHERE id = ?",
            [(t.updated_at, t.subject, t.case_id) for t in touches],
        )

    async def get_message(self, message_id: str) -> MessageRecord | None:
        row = await self._db.fetch_one(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))  # noqa: S608
        return None if row is None else _message(row)

    async def list_cases_in_queues(self, queues: Collection[str], *, limit: int = 100) -> list[CaseRecord]:
        wanted = sorted(set(queues))
        if not wanted:
            return []
        marks = ", ".join("?" for _ in wanted)
        rows = await self._db.fetch_all(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE queue IN ({marks}) ORDER BY updated_at DESC LIMIT ?",  # noqa: S608
            [*wanted, limit],
        )
        return [_case(row) for row in rows]

    async def list_vaulted(self, case_id: str, *, now: float) -> list[VaultedItem]:
        rows = await self._db.fetch_all(
            "SELECT token, kind, brand, last4, source, created_at, expires_at FROM secrets "
            "WHERE case_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, rowid",
            (case_id, now),
        )
        return [
            VaultedItem(
                token=row["token"],
                kind=row["kind"],
                brand=row["brand"],
                last4=row["last4"],
                source=row["source"],
                created_at=row["created_at"],
                expires_at=row["expires_at"],
            )
            for row in rows
        ]
