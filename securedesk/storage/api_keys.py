"""API keys repository: the keys of the screening API, stored by their keyed hash (never the key itself)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Final, Protocol

from securedesk.errors import Conflict
from securedesk.storage.database import Database


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    name: str
    key_hash: str
    scopes: frozenset[str]
    channel: str
    rate_per_minute: int
    created_at: float
    created_by: str
    last_used_at: float | None = None
    revoked_at: float | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"ApiKeyRecord(id={self.id!r}, name={self.name!r}, scopes={sorted(self.scopes)!r})"


class ApiKeyRepository(Protocol):
    async def insert(self, record: ApiKeyRecord) -> None:
        """``Conflict`` when a live key already has this name."""
        ...

    async def by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...
    async def live_by_name(self, name: str) -> ApiKeyRecord | None: ...
    async def list(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]: ...
    async def revoke(self, key_id: str, *, now: float) -> bool:
        """Revoke a live key; False when it was not live."""
        ...

    async def replace(self, old_id: str, record: ApiKeyRecord, *, now: float) -> bool:
        """Revoke ``old_id`` and insert ``record`` in one transaction (a rotation); False when ``old_id`` is not
        live."""
        ...

    async def touch(self, key_id: str, *, now: float) -> None:
        """Record the key's last use."""
        ...


_COLUMNS: Final = (
    "id, name, key_hash, scopes, channel, rate_per_minute, created_at, created_by, last_used_at, revoked_at"
)


def _record(row: Any) -> ApiKeyRecord:
    values = tuple(row)
    return ApiKeyRecord(
        id=str(values[0]),
        name=str(values[1]),
        key_hash=str(values[2]),
        scopes=frozenset(scope for scope in str(values[3]).split(",") if scope),
        channel=str(values[4]),
        rate_per_minute=int(values[5]),
        created_at=float(values[6]),
        created_by=str(values[7]),
        last_used_at=None if values[8] is None else float(values[8]),
        revoked_at=None if values[9] is None else float(values[9]),
    )


def _params(record: ApiKeyRecord) -> tuple[object, ...]:
    return (
        record.id, record.name, record.key_hash, ",".join(sorted(record.scopes)), record.channel,
        record.rate_per_minute, record.created_at, record.created_by, record.last_used_at, record.revoked_at,
    )  # fmt: skip


_INSERT: Final = f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608


class SqliteApiKeyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, record: ApiKeyRecord) -> None:
        try:
            async with self._db.transaction() as conn:
                await conn.execute(_INSERT, _params(record))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"An API key named {record.name!r} exists already; revoke or rotate it.") from exc

    async def by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))  # noqa: S608
        return None if row is None else _record(row)

    async def live_by_name(self, name: str) -> ApiKeyRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM api_keys WHERE name = ? AND revoked_at IS NULL",  # noqa: S608
            (name,),
        )
        return None if row is None else _record(row)

    async def list(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = await self._db.fetch_all(f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY name, created_at")  # noqa: S608
        return [_record(row) for row in rows]

    async def revoke(self, key_id: str, *, now: float) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, key_id)
            )
            return cursor.rowcount == 1

    async def replace(self, old_id: str, record: ApiKeyRecord, *, now: float) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, old_id)
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute(_INSERT, _params(record))
            return True

    async def touch(self, key_id: str, *, now: float) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))
