"""Protected-form requests repository: one-time links to a form for a case, stored by the hash of their token."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

import aiosqlite

from securedesk.storage.database import Database

FORM_KINDS: Final = ("card", "national_id", "iban")


@dataclass(frozen=True)
class FormRequestRecord:
    id: str
    token_hash: str
    case_id: str
    kind: str  # "card" | "national_id" | "iban"
    lang: str
    created_by: str
    created_at: float
    expires_at: float
    used_at: float | None = None
    secret_token: str | None = None
    entity_type: str | None = None


class FormRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    async def insert(self, conn: aiosqlite.Connection, record: FormRequestRecord) -> None:
        """Inside the caller's transaction (the request and its audit event commit together)."""
        ...

    async def by_token_hash(self, token_hash: str) -> FormRequestRecord | None: ...
    async def for_case(self, case_id: str, *, limit: int = 50) -> list[FormRequestRecord]:
        """The case's form requests, newest first."""
        ...

    async def claim(self, form_id: str, *, now: float) -> bool:
        """Burn the link (``used_at``) if it is unused and unexpired; False if another submission won or it expired."""
        ...

    async def release(self, form_id: str) -> None:
        """Undo ``claim`` (the submission could not be completed, nothing was kept)."""
        ...

    async def record_submission(
        self, conn: aiosqlite.Connection, form_id: str, *, secret_token: str, entity_type: str
    ) -> None:
        """Inside the caller's transaction: which vaulted value the link's submission became."""
        ...


_COLUMNS: Final = (
    "id, token_hash, case_id, kind, lang, created_by, created_at, expires_at, used_at, secret_token, entity_type"
)


def _record(row: aiosqlite.Row) -> FormRequestRecord:
    return FormRequestRecord(
        id=row["id"],
        token_hash=row["token_hash"],
        case_id=row["case_id"],
        kind=row["kind"],
        lang=row["lang"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        secret_token=row["secret_token"],
        entity_type=row["entity_type"],
    )


class SqliteFormRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    async def insert(self, conn: aiosqlite.Connection, record: FormRequestRecord) -> None:
        await conn.execute(
            f"INSERT INTO form_requests ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.id,
                record.token_hash,
                record.case_id,
                record.kind,
                record.lang,
                record.created_by,
                record.created_at,
                record.expires_at,
                record.used_at,
                record.secret_token,
                record.entity_type,
            ),
        )

    async def by_token_hash(self, token_hash: str) -> FormRequestRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM form_requests WHERE token_hash = ?",  # noqa: S608
            (token_hash,),
        )
        return None if row is None else _record(row)

    async def for_case(self, case_id: str, *, limit: int = 50) -> list[FormRequestRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM form_requests WHERE case_id = ? ORDER BY created_at DESC, id LIMIT ?",  # noqa: S608
            (case_id, limit),
        )
        return [_record(row) for row in rows]

    async def claim(self, form_id: str, *, now: float) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE form_requests SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                (now, form_id, now),
            )
            claimed = cursor.rowcount == 1
            await cursor.close()
        return claimed

    async def release(self, form_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE form_requests SET used_at = NULL WHERE id = ? AND secret_token IS NULL", (form_id,)
            )

    async def record_submission(
        self, conn: aiosqlite.Connection, form_id: str, *, secret_token: str, entity_type: str
    ) -> None:
        await conn.execute(
            "UPDATE form_requests SET secret_token = ?, entity_type = ? WHERE id = ?",
            (secret_token, entity_type, form_id),
        )
