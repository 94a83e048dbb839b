"""Verified-lookup repository: one-time-code challenges, customer sessions, and what a verified customer may read
(their cases and the display data of the values on file: kind, brand, last four, never a value)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

import aiosqlite

from securedesk.storage.database import Database


@dataclass(frozen=True)
class ChallengeRecord:
    id: str
    identifier_key: bytes
    ip_key: bytes | None
    browser_key: bytes
    customer_id: str | None  # None: a decoy for an identifier we do not know
    code_hash: bytes
    attempts: int
    created_at: float
    expires_at: float
    used_at: float | None = None

    def __repr__(self) -> str:
        return f"ChallengeRecord(id={self.id!r}, attempts={self.attempts})"


@dataclass(frozen=True)
class LookupSessionRecord:
    token_hash: str
    customer_id: str
    browser_key: bytes
    challenge_id: str
    created_at: float
    expires_at: float
    ended_at: float | None = None

    def __repr__(self) -> str:
        return f"LookupSessionRecord(customer_id={self.customer_id!r}, expires_at={self.expires_at})"


@dataclass(frozen=True)
class CustomerCase:
    id: str
    reference: str
    subject: str  # redacted
    status: str
    queue: str
    lang: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ItemOnFile:
    """Display data of one vaulted value: never more than the last four characters."""

    token: str
    case_id: str | None
    kind: str
    brand: str | None
    last4: str
    source: str
    created_at: float


class LookupRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    # --- who a lookup identifier names ---
    async def customer_by_email(self, email: str) -> tuple[str, str] | None:
        """``(customer id, contact address)`` for an address (case-insensitive), or None."""
        ...

    async def customer_by_case_reference(self, reference: str) -> tuple[str, str] | None:
        """``(customer id, contact address)`` of the customer of the case with this reference, or None."""
        ...

    # --- challenges ---
    async def insert_challenge(self, conn: aiosqlite.Connection, record: ChallengeRecord) -> None: ...
    async def issued_since(
        self, *, identifier_key: bytes | None = None, ip_key: bytes | None = None, since: float
    ) -> list[float]:
        """Creation times (oldest first) of the challenges for this identifier (or this address) since ``since``."""
        ...

    async def open_challenge(self, browser_key: bytes, *, now: float) -> ChallengeRecord | None:
        """The newest unexpired, unused challenge started in this browser."""
        ...

    async def count_attempt(self, challenge_id: str, *, max_attempts: int) -> int | None:
        """Add one attempt if fewer than ``max_attempts`` were made; the new count, or None when it was full."""
        ...

    async def mark_used(self, conn: aiosqlite.Connection, challenge_id: str, *, now: float) -> bool: ...
    async def close_open_challenges(self, conn: aiosqlite.Connection, browser_key: bytes, *, now: float) -> None:
        """A new challenge in a browser replaces the ones it had open."""
        ...

    # --- sessions ---
    async def insert_session(self, conn: aiosqlite.Connection, record: LookupSessionRecord) -> None: ...
    async def session(self, token_hash: str) -> LookupSessionRecord | None: ...
    async def end_session(self, token_hash: str, *, now: float) -> bool: ...

    # --- what a verified customer reads ---
    async def cases_of(self, customer_id: str, *, limit: int = 50) -> list[CustomerCase]: ...
    async def case_of(self, customer_id: str, case_id: str) -> CustomerCase | None:
        """The case if it belongs to this customer; None otherwise (another customer's case does not exist here)."""
        ...

    async def items_on_file(self, customer_id: str, case_ids: Sequence[str], *, now: float) -> list[ItemOnFile]: ...

    async def delete_expired(self, *, now: float) -> int:
        """Forget challenges and sessions that ended or expired (rate-limit windows are far shorter than a day)."""
        ...


_CHALLENGE_COLUMNS: Final = (
    "id, identifier_key, ip_key, browser_key, customer_id, code_hash, attempts, created_at, expires_at, used_at"
)
_SESSION_COLUMNS: Final = "token_hash, customer_id, browser_key, challenge_id, created_at, expires_at, ended_at"
_CASE_COLUMNS: Final = "id, reference, subject, status, queue, lang, created_at, updated_at"
#: Challenges are kept this long after they expire, so that issuance windows can count them.
_KEEP_SECONDS: Final = 86_400.0


def _challenge(row: aiosqlite.Row) -> ChallengeRecord:
    return ChallengeRecord(
        id=row["id"],
        identifier_key=bytes(row["identifier_key"]),
        ip_key=None if row["ip_key"] is None else bytes(row["ip_key"]),
        browser_key=bytes(row["browser_key"]),
        customer_id=row["customer_id"],
        code_hash=bytes(row["code_hash"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
    )


def _session(row: aiosqlite.Row) -> LookupSessionRecord:
    return LookupSessionRecord(
        token_hash=row["token_hash"],
        customer_id=row["customer_id"],
        browser_key=bytes(row["browser_key"]),
        challenge_id=row["challenge_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
    )


def _case(row: aiosqlite.Row) -> CustomerCase:
    return CustomerCase(
        id=row["id"],
        reference=row["reference"],
        subject=row["subject"],
        status=row["status"],
        queue=row["queue"],
        lang=row["lang"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqliteLookupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    async def customer_by_email(self, email: str) -> tuple[str, str] | None:
        row = await self._db.fetch_one(
            "SELECT id, email FROM customers WHERE email = ? COLLATE NOCASE AND email IS NOT NULL", (email,)
        )
        return None if row is None else (str(row[0]), str(row[1]))

    async def customer_by_case_reference(self, reference: str) -> tuple[str, str] | None:
        row = await self._db.fetch_one(
            "SELECT customers.id, customers.email FROM cases JOIN customers ON customers.id = cases.customer_id "
            "WHERE cases.reference = ? AND customers.email IS NOT NULL",
            (reference,),
        )
        return None if row is None else (str(row[0]), str(row[1]))

    async def insert_challenge(self, conn: aiosqlite.Connection, record: ChallengeRecord) -> None:
        await conn.execute(
            f"INSERT INTO lookup_challenges ({_CHALLENGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.id,
                record.identifier_key,
                record.ip_key,
                record.browser_key,
                record.customer_id,
                record.code_hash,
                record.attempts,
                record.created_at,
                record.expires_at,
                record.used_at,
            ),
        )

    async def issued_since(
        self, *, identifier_key: bytes | None = None, ip_key: bytes | None = None, since: float
    ) -> list[float]:
        if (identifier_key is None) == (ip_key is None):
            raise ValueError("count by exactly one of identifier_key and ip_key")
        column, key = ("identifier_key", identifier_key) if identifier_key is not None else ("ip_key", ip_key)
        rows = await self._db.fetch_all(
            f"SELECT created_at FROM lookup_challenges WHERE {column} = ? AND created_at > ? "  # noqa: S608
            "ORDER BY created_at",
            (key, since),
        )
        return [float(row[0]) for row in rows]

    async def open_challenge(self, browser_key: bytes, *, now: float) -> ChallengeRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_CHALLENGE_COLUMNS} FROM lookup_challenges "  # noqa: S608
            "WHERE browser_key = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id LIMIT 1",
            (browser_key, now),
        )
        return None if row is None else _challenge(row)

    async def count_attempt(self, challenge_id: str, *, max_attempts: int) -> int | None:
        async with (
            self._db.transaction() as conn,
            conn.execute(
                "UPDATE lookup_challenges SET attempts = attempts + 1 WHERE id = ? AND attempts < ? RETURNING attempts",
                (challenge_id, max_attempts),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def mark_used(self, conn: aiosqlite.Connection, challenge_id: str, *, now: float) -> bool:
        cursor = await conn.execute(
            "UPDATE lookup_challenges SET used_at = ? WHERE id = ? AND used_at IS NULL", (now, challenge_id)
        )
        used = cursor.rowcount == 1
        await cursor.close()
        return used

    async def close_open_challenges(self, conn: aiosqlite.Connection, browser_key: bytes, *, now: float) -> None:
        await conn.execute(
            "UPDATE lookup_challenges SET used_at = ? WHERE browser_key = ? AND used_at IS NULL", (now, browser_key)
        )

    async def insert_session(self, conn: aiosqlite.Connection, record: LookupSessionRecord) -> None:
        await conn.execute(
            f"INSERT INTO lookup_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.token_hash,
                record.customer_id,
                record.browser_key,
                record.challenge_id,
                record.created_at,
                record.expires_at,
                record.ended_at,
            ),
        )

    async def session(self, token_hash: str) -> LookupSessionRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_SESSION_COLUMNS} FROM lookup_sessions WHERE token_hash = ?",  # noqa: S608
            (token_hash,),
        )
        return None if row is None else _session(row)

    async def end_session(self, token_hash: str, *, now: float) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE lookup_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL", (now, token_hash)
            )
            ended = cursor.rowcount == 1
            await cursor.close()
        return ended

    async def cases_of(self, customer_id: str, *, limit: int = 50) -> list[CustomerCase]:
        rows = await self._db.fetch_all(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE customer_id = ? "  # noqa: S608
            "ORDER BY updated_at DESC, id LIMIT ?",
            (customer_id, limit),
        )
        return [_case(row) for row in rows]

    async def case_of(self, customer_id: str, case_id: str) -> CustomerCase | None:
        row = await self._db.fetch_one(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ? AND customer_id = ?",  # noqa: S608
            (case_id, customer_id),
        )
        return None if row is None else _case(row)

    async def items_on_file(self, customer_id: str, case_ids: Sequence[str], *, now: float) -> list[ItemOnFile]:
        placeholders = ", ".join("?" for _ in case_ids) or "NULL"
        rows = await self._db.fetch_all(
            "SELECT token, case_id, kind, brand, last4, source, created_at FROM secrets "  # noqa: S608
            f"WHERE (customer_id = ? OR case_id IN ({placeholders})) AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY created_at DESC, token",
            (customer_id, *case_ids, now),
        )
        return [
            ItemOnFile(
                token=row["token"],
                case_id=row["case_id"],
                kind=row["kind"],
                brand=row["brand"],
                last4=row["last4"],
                source=row["source"],
                created_at=row["created_at"],
            )
            for row in rows
        ]

    async def delete_expired(self, *, now: float) -> int:
        async with self._db.transaction() as conn:
            first = await conn.execute("DELETE FROM lookup_challenges WHERE expires_at < ?", (now - _KEEP_SECONDS,))
            second = await conn.execute(
                "DELETE FROM lookup_sessions WHERE expires_at < ? OR ended_at IS NOT NULL", (now,)
            )
            deleted = first.rowcount + second.rowcount
            await first.close()
            await second.close()
        return deleted
