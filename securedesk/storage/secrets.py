"""Secrets repository: the rows of the vault (sealed secrets, KEK versions, the wrapped index root) and the columns
of other tables that hold vault field blobs. Queries only; what the bytes mean is ``securedesk.vault``'s business.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import aiosqlite

from securedesk.errors import InvalidInput, StorageError
from securedesk.storage.database import Database


@dataclass(frozen=True, slots=True)
class SecretRecord:
    token: str
    kind: str
    brand: str | None
    last4: str
    case_id: str | None
    customer_id: str | None
    source: str
    kek_version: int
    wrapped_key: bytes
    ciphertext: bytes
    blind_index: bytes
    created_at: float
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class KeyVersionRecord:
    version: int
    check_value: bytes
    created_at: float
    retired_at: float | None


@dataclass(frozen=True, slots=True)
class IndexRootRecord:
    kek_version: int
    wrapped_key: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """What re-wrapping one secret's data key needs: the wrapped key and the fields its AAD binds."""

    token: str
    kind: str
    case_id: str | None
    kek_version: int
    wrapped_key: bytes


@dataclass(frozen=True, slots=True)
class Rewrap:
    token: str
    old_version: int
    new_version: int
    wrapped_key: bytes


_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """A column of another table holding ``Vault.encrypt_field`` blobs, so that rotation re-wraps them too."""

    table: str
    id_column: str
    column: str

    def __post_init__(self) -> None:
        for name in (self.table, self.id_column, self.column):
            if not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"{name!r} is not a plain SQL identifier.")


@dataclass(frozen=True, slots=True)
class FieldHeaderChange:
    """Replace the first ``len(old_header)`` bytes of one blob (same length), if they are still ``old_header``."""

    row_id: str
    old_header: bytes
    new_header: bytes


class SecretRepository(Protocol):
    # --- KEK versions and the index root ---
    async def key_versions(self) -> list[KeyVersionRecord]: ...
    async def add_key_version(self, record: KeyVersionRecord) -> KeyVersionRecord:
        """Insert unless present; returns the stored row (which may differ: the caller compares check values)."""
        ...

    async def uses_kek_version(self, version: int) -> bool:
        """Whether a secret or the index root is wrapped by ``version``."""
        ...

    async def retire_key_version(self, version: int, *, at: float) -> bool:
        """Mark retired if no secret and not the index root uses it (checked in the same transaction)."""
        ...

    async def index_root(self) -> IndexRootRecord | None: ...
    async def create_index_root(self, record: IndexRootRecord) -> IndexRootRecord:
        """Insert unless one exists; returns the stored one (another process may have won)."""
        ...

    async def rewrap_index_root(self, *, old_version: int, new_version: int, wrapped_key: bytes) -> bool: ...

    # --- secrets ---
    async def insert(self, records: Sequence[SecretRecord]) -> bool:
        """All or nothing; ``False`` (nothing inserted) when a record's KEK version is unknown or retired."""
        ...

    async def get(self, token: str) -> SecretRecord | None: ...
    async def find(
        self, kind: str, blind_index: bytes, *, case_id: str | None, customer_id: str | None, now: float
    ) -> SecretRecord | None:
        """The newest unexpired secret with this blind index, within the case and customer when given."""
        ...

    async def delete(self, token: str) -> bool: ...
    async def delete_expired(self, *, now: float, limit: int) -> int: ...
    async def count_by_kek_version(self) -> dict[int, int]: ...
    async def wrapped_keys_below(self, version: int, *, limit: int) -> list[WrappedKey]:
        """Secrets whose data key is wrapped by a version lower than ``version``."""
        ...

    async def rewrap(self, changes: Sequence[Rewrap]) -> int:
        """Apply in one transaction; a row changed meanwhile (other version, or deleted) is skipped."""
        ...

    # --- columns of other tables holding field blobs (only their headers travel: blobs may be large) ---
    async def field_headers(
        self, column: EncryptedColumn, *, after: str, limit: int, size: int
    ) -> list[tuple[str, bytes]]:
        """``(row id, first size bytes)`` of non-NULL blobs with row id > ``after``, in id order; empty if the
        table does not exist."""
        ...

    async def replace_field_headers(self, column: EncryptedColumn, changes: Sequence[FieldHeaderChange]) -> int:
        """Apply in one transaction, leaving the rest of each blob in place; a row whose header changed meanwhile
        is skipped."""
        ...

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database and truncate it (deleted secrets leave no copy there)."""
        ...


_COLUMNS: Final = (
    "token, kind, brand, last4, case_id, customer_id, source, kek_version, wrapped_key, ciphertext, blind_index, "
    "created_at, expires_at"
)


def _secret(row: aiosqlite.Row) -> SecretRecord:
    return SecretRecord(
        token=row["token"],
        kind=row["kind"],
        brand=row["brand"],
        last4=row["last4"],
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        source=row["source"],
        kek_version=int(row["kek_version"]),
        wrapped_key=bytes(row["wrapped_key"]),
        ciphertext=bytes(row["ciphertext"]),
        blind_index=bytes(row["blind_index"]),
        created_at=float(row["created_at"]),
        expires_at=None if row["expires_at"] is None else float(row["expires_at"]),
    )


_IN_USE: Final = (
    "SELECT EXISTS (SELECT 1 FROM secrets WHERE kek_version = ?)"
    " OR EXISTS (SELECT 1 FROM vault_index_root WHERE kek_version = ?)"
)


class _Refused(Exception):
    """Rolls a transaction back on purpose."""


class SqliteSecretRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- KEK versions and the index root ---

    async def key_versions(self) -> list[KeyVersionRecord]:
        rows = await self._db.fetch_all(
            "SELECT version, check_value, created_at, retired_at FROM vault_key_versions ORDER BY version"
        )
        return [
            KeyVersionRecord(int(r[0]), bytes(r[1]), float(r[2]), None if r[3] is None else float(r[3])) for r in rows
        ]

    async def add_key_version(self, record: KeyVersionRecord) -> KeyVersionRecord:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO vault_key_versions (version, check_value, created_at, retired_at)"
                " VALUES (?, ?, ?, ?)",
                (record.version, record.check_value, record.created_at, record.retired_at),
            )
            async with conn.execute(
                "SELECT version, check_value, created_at, retired_at FROM vault_key_versions WHERE version = ?",
                (record.version,),
            ) as cursor:
                row = await cursor.fetchone()
        if row is None:  # pragma: no cover - the row was inserted or existed in the same transaction
            raise StorageError(f"KEK version {record.version} could not be recorded.")
        return KeyVersionRecord(int(row[0]), bytes(row[1]), float(row[2]), None if row[3] is None else float(row[3]))

    async def uses_kek_version(self, version: int) -> bool:
        row = await self._db.fetch_one(_IN_USE, (version, version))
        return row is not None and bool(row[0])

    async def retire_key_version(self, version: int, *, at: float) -> bool:
        try:
            async with self._db.transaction() as conn:
                async with conn.execute(_IN_USE, (version, version)) as cursor:
                    row = await cursor.fetchone()
                if row is None or row[0]:
                    raise _Refused()
                await conn.execute(
                    "UPDATE vault_key_versions SET retired_at = COALESCE(retired_at, ?) WHERE version = ?",
                    (at, version),
                )
        except _Refused:
            return False
        return True

    async def index_root(self) -> IndexRootRecord | None:
        row = await self._db.fetch_one("SELECT kek_version, wrapped_key, created_at FROM vault_index_root WHERE id = 1")
        return None if row is None else IndexRootRecord(int(row[0]), bytes(row[1]), float(row[2]))

    async def create_index_root(self, record: IndexRootRecord) -> IndexRootRecord:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO vault_index_root (id, kek_version, wrapped_key, created_at) VALUES (1, ?, ?, ?)",
                (record.kek_version, record.wrapped_key, record.created_at),
            )
        stored = await self.index_root()
        if stored is None:  # pragma: no cover - inserted just above
            raise StorageError("The blind-index root could not be recorded.")
        return stored

    async def rewrap_index_root(self, *, old_version: int, new_version: int, wrapped_key: bytes) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE vault_index_root SET kek_version = ?, wrapped_key = ? WHERE id = 1 AND kek_version = ?",
                (new_version, wrapped_key, old_version),
            )
            return cursor.rowcount == 1

    # --- secrets ---

    async def insert(self, records: Sequence[SecretRecord]) -> bool:
        if not records:
            return True
        params = [
            (
                r.token,
                r.kind,
                r.brand,
                r.last4,
                r.case_id,
                r.customer_id,
                r.source,
                r.kek_version,
                r.wrapped_key,
                r.ciphertext,
                r.blind_index,
                r.created_at,
                r.expires_at,
                r.kek_version,
            )
            for r in records
        ]
        try:
            async with self._db.transaction() as conn:
                # The guard makes sealing and `keys retire` exclusive: nothing is written under a retired version.
                cursor = await conn.executemany(
                    f"INSERT INTO secrets ({_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"  # noqa: S608
                    " WHERE EXISTS (SELECT 1 FROM vault_key_versions WHERE version = ? AND retired_at IS NULL)",
                    params,
                )
                if cursor.rowcount != len(records):
                    raise _Refused()
        except _Refused:
            return False
        except sqlite3.IntegrityError as exc:
            raise InvalidInput(
                "A secret refers to a case or customer that does not exist.", hint="create the case first"
            ) from exc
        return True

    async def get(self, token: str) -> SecretRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM secrets WHERE token = ?",  # noqa: S608 - constant columns
            (token,),
        )
        return None if row is None else _secret(row)

    async def find(
        self, kind: str, blind_index: bytes, *, case_id: str | None, customer_id: str | None, now: float
    ) -> SecretRecord | None:
        # The blind index is the selective one; without statistics SQLite might prefer the customer's index.
        sql = (
            f"SELECT {_COLUMNS} FROM secrets INDEXED BY secrets_by_blind_index"  # noqa: S608 - constant columns
            " WHERE blind_index = ? AND kind = ?"
        )
        params: list[Any] = [blind_index, kind]
        if case_id is not None:
            sql += " AND case_id = ?"
            params.append(case_id)
        if customer_id is not None:
            sql += " AND customer_id = ?"
            params.append(customer_id)
        sql += " AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, rowid DESC LIMIT 1"
        params.append(now)
        row = await self._db.fetch_one(sql, params)
        return None if row is None else _secret(row)

    async def delete(self, token: str) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM secrets WHERE token = ?", (token,))
            return cursor.rowcount == 1

    async def delete_expired(self, *, now: float, limit: int) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM secrets WHERE rowid IN"
                " (SELECT rowid FROM secrets WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
                (now, limit),
            )
            return cursor.rowcount

    async def count_by_kek_version(self) -> dict[int, int]:
        rows = await self._db.fetch_all("SELECT kek_version, COUNT(*) FROM secrets GROUP BY kek_version")
        return {int(r[0]): int(r[1]) for r in rows}

    async def wrapped_keys_below(self, version: int, *, limit: int) -> list[WrappedKey]:
        rows = await self._db.fetch_all(
            "SELECT token, kind, case_id, kek_version, wrapped_key FROM secrets WHERE kek_version < ? LIMIT ?",
            (version, limit),
        )
        return [WrappedKey(r[0], r[1], r[2], int(r[3]), bytes(r[4])) for r in rows]

    async def rewrap(self, changes: Sequence[Rewrap]) -> int:
        if not changes:
            return 0
        async with self._db.transaction() as conn:
            cursor = await conn.executemany(
                "UPDATE secrets SET kek_version = ?, wrapped_key = ? WHERE token = ? AND kek_version = ?",
                [(c.new_version, c.wrapped_key, c.token, c.old_version) for c in changes],
            )
            return cursor.rowcount

    # --- columns of other tables holding field blobs ---

    async def field_headers(
        self, column: EncryptedColumn, *, after: str, limit: int, size: int
    ) -> list[tuple[str, bytes]]:
        if not await self._table_exists(column.table):
            return []
        rows = await self._db.fetch_all(
            f"SELECT {column.id_column}, substr(CAST({column.column} AS BLOB), 1, ?)"  # noqa: S608 - identifiers
            f" FROM {column.table} WHERE {column.id_column} > ? AND {column.column} IS NOT NULL"
            f" ORDER BY {column.id_column} LIMIT ?",
            (size, after, limit),
        )
        return [(str(r[0]), bytes(r[1])) for r in rows]

    async def replace_field_headers(self, column: EncryptedColumn, changes: Sequence[FieldHeaderChange]) -> int:
        if not changes:
            return 0
        if any(len(c.new_header) != len(c.old_header) for c in changes):
            raise ValueError("A replacement header must have the length of the header it replaces.")
        async with self._db.transaction() as conn:
            # ``||`` yields text; the cast turns it back into the same bytes (NULs included).
            cursor = await conn.executemany(
                f"UPDATE {column.table} SET {column.column} ="  # noqa: S608 - validated identifiers
                f" CAST(? || substr(CAST({column.column} AS BLOB), ?) AS BLOB)"
                f" WHERE {column.id_column} = ? AND substr(CAST({column.column} AS BLOB), 1, ?) = ?",
                [(c.new_header, len(c.old_header) + 1, c.row_id, len(c.old_header), c.old_header) for c in changes],
            )
            return cursor.rowcount

    async def checkpoint(self) -> None:
        await self._db.checkpoint()

    async def _table_exists(self, table: str) -> bool:
        row = await self._db.fetch_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return row is not None
