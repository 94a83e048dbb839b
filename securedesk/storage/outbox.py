"""Outbox repository: screened messages waiting for the relay, their delivery state, and quarantined attachments.

Enqueueing takes the connection of a transaction the caller holds, so a message, its case entry and its outbox row
commit together (the SMTP 250 follows that commit). The relay's state changes commit on their own.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

import aiosqlite

from securedesk.storage.database import Database

STATES: Final = ("pending", "delivered", "failed", "gave_up")
KINDS: Final = ("inbound", "autoreply", "chat")  # chat: a JSON envelope for the webhook (channels/chat/relay.py)


def new_outbox_id() -> str:
    return "out_" + secrets.token_hex(12)


def new_quarantine_id() -> str:
    return "qua_" + secrets.token_hex(12)


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    message_id: str
    kind: str  # "inbound" | "autoreply" | "chat"
    case_id: str | None
    mail_from: str
    rcpt_to: tuple[str, ...]
    content: bytes
    state: str  # "pending" | "delivered" | "failed" | "gave_up"
    attempts: int
    created_at: float
    next_attempt_at: float
    last_attempt_at: float | None = None
    finished_at: float | None = None
    last_error: str | None = None
    reply_key: str | None = None
    sealed: bool = False  # ``content`` is a vault field blob (table "outbox", the entry's id, column "content")


#: Where a sealed entry's content blob is bound (``Vault.encrypt_field``'s AAD).
SEALED_TABLE: Final = "outbox"
SEALED_COLUMN: Final = "content"


@dataclass(frozen=True)
class QuarantinedAttachment:
    id: str
    case_id: str | None
    content_type: str
    filename: str | None
    size: int
    content: bytes  # ciphertext from the vault's encrypt_field
    created_at: float


class OutboxRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    # --- writes inside the caller's transaction ---
    async def enqueue(self, conn: aiosqlite.Connection, entry: OutboxEntry) -> bool:
        """Insert unless ``(message_id, kind)`` is already queued; ``False`` for a duplicate."""
        ...

    async def insert_quarantined(self, conn: aiosqlite.Connection, record: QuarantinedAttachment) -> None: ...

    # --- reads ---
    async def contains(self, message_id: str, kind: str) -> bool: ...
    async def get(self, entry_id: str) -> OutboxEntry | None: ...
    async def due(self, *, now: float, limit: int) -> list[OutboxEntry]: ...
    async def next_due_at(self) -> float | None: ...
    async def count_autoreplies_since(self, reply_key: str, since: float) -> int: ...
    async def count_by_state(self) -> dict[str, int]: ...
    async def list_problems(self, *, limit: int = 100) -> list[OutboxEntry]:
        """Failed and given-up entries, newest first, without content (for admins)."""
        ...

    async def get_quarantined(self, quarantine_id: str) -> QuarantinedAttachment | None: ...

    # --- relay state changes, each committed on its own ---
    async def mark_delivered(self, entry_id: str, *, now: float) -> None: ...
    async def mark_retry(self, entry_id: str, *, now: float, next_attempt_at: float, error: str) -> None: ...
    async def mark_finished(self, entry_id: str, *, state: str, now: float, error: str) -> None:
        """``failed`` (refused for good) or ``gave_up`` (lifetime over)."""
        ...


_COLUMNS: Final = (
    "id, message_id, kind, case_id, mail_from, rcpt_to, content, state, attempts, created_at, next_attempt_at, "
    "last_attempt_at, finished_at, last_error, reply_key, sealed"
)

_COLUMNS_WITHOUT_CONTENT: Final = _COLUMNS.replace("content", "x'' AS content")


def _entry(row: aiosqlite.Row) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        message_id=row["message_id"],
        kind=row["kind"],
        case_id=row["case_id"],
        mail_from=row["mail_from"],
        rcpt_to=tuple(json.loads(row["rcpt_to"])),
        content=bytes(row["content"]),
        state=row["state"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        finished_at=row["finished_at"],
        last_error=row["last_error"],
        reply_key=row["reply_key"],
        sealed=bool(row["sealed"]),
    )


class SqliteOutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    async def enqueue(self, conn: aiosqlite.Connection, entry: OutboxEntry) -> bool:
        cursor = await conn.execute(
            f"INSERT OR IGNORE INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                entry.id,
                entry.message_id,
                entry.kind,
                entry.case_id,
                entry.mail_from,
                json.dumps(entry.rcpt_to),
                entry.content,
                entry.state,
                entry.attempts,
                entry.created_at,
                entry.next_attempt_at,
                entry.last_attempt_at,
                entry.finished_at,
                entry.last_error,
                entry.reply_key,
                int(entry.sealed),
            ),
        )
        inserted = cursor.rowcount == 1
        await cursor.close()
        return inserted

    async def insert_quarantined(self, conn: aiosqlite.Connection, record: QuarantinedAttachment) -> None:
        await conn.execute(
            "INSERT INTO email_quarantine (id, case_id, content_type, filename, size, content, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.case_id,
                record.content_type,
                record.filename,
                record.size,
                record.content,
                record.created_at,
            ),
        )

    async def contains(self, message_id: str, kind: str) -> bool:
        row = await self._db.fetch_one("SELECT 1 FROM outbox WHERE message_id = ? AND kind = ?", (message_id, kind))
        return row is not None

    async def get(self, entry_id: str) -> OutboxEntry | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (entry_id,))  # noqa: S608
        return None if row is None else _entry(row)

    async def due(self, *, now: float, limit: int) -> list[OutboxEntry]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "  # noqa: S608
            "ORDER BY next_attempt_at, created_at LIMIT ?",
            (now, limit),
        )
        return [_entry(row) for row in rows]

    async def next_due_at(self) -> float | None:
        row = await self._db.fetch_one("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
        return None if row is None or row[0] is None else float(row[0])

    async def count_autoreplies_since(self, reply_key: str, since: float) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM outbox WHERE reply_key = ? AND created_at >= ?", (reply_key, since)
        )
        return 0 if row is None else int(row[0])

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        counts = dict.fromkeys(STATES, 0)
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    async def list_problems(self, *, limit: int = 100) -> list[OutboxEntry]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS_WITHOUT_CONTENT} FROM outbox "  # noqa: S608
            "WHERE state IN ('failed', 'gave_up') ORDER BY finished_at DESC LIMIT ?",
            (limit,),
        )
        return [_entry(row) for row in rows]

    async def get_quarantined(self, quarantine_id: str) -> QuarantinedAttachment | None:
        row = await self._db.fetch_one(
            "SELECT id, case_id, content_type, filename, size, content, created_at FROM email_quarantine WHERE id = ?",
            (quarantine_id,),
        )
        if row is None:
            return None
        return QuarantinedAttachment(
            id=row["id"],
            case_id=row["case_id"],
            content_type=row["content_type"],
            filename=row["filename"],
            size=row["size"],
            content=bytes(row["content"]),
            created_at=row["created_at"],
        )

    async def mark_delivered(self, entry_id: str, *, now: float) -> None:
        # The content is emptied: the help desk has it now, and secure_delete overwrites the freed pages.
        await self._update(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, finished_at = ?, "
            "content = x'', last_error = NULL WHERE id = ? AND state = 'pending'",
            (now, now, entry_id),
        )

    async def mark_retry(self, entry_id: str, *, now: float, next_attempt_at: float, error: str) -> None:
        await self._update(
            "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, last_error = ? "
            "WHERE id = ? AND state = 'pending'",
            (now, next_attempt_at, error, entry_id),
        )

    async def mark_finished(self, entry_id: str, *, state: str, now: float, error: str) -> None:
        if state not in ("failed", "gave_up"):
            raise ValueError(f"an outbox entry finishes as failed or gave_up, not {state!r}")
        await self._update(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, last_attempt_at = ?, finished_at = ?, "
            "last_error = ? WHERE id = ? AND state = 'pending'",
            (state, now, now, error, entry_id),
        )

    async def _update(self, sql: str, params: Sequence[object]) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(sql, tuple(params))
