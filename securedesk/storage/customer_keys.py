"""Customer keys repository: the server key of the customer paths, stored only as a vault field blob."""

from __future__ import annotations

from typing import Protocol

from securedesk.errors import StorageError
from securedesk.storage.database import Database


class CustomerKeyRepository(Protocol):
    async def get(self, purpose: str) -> bytes | None:
        """The stored blob for ``purpose``, or None."""
        ...

    async def create(self, purpose: str, blob: bytes, *, now: float) -> bytes:
        """Store ``blob`` unless a key for ``purpose`` exists; return the stored blob (another process may have won)."""
        ...


class SqliteCustomerKeyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, purpose: str) -> bytes | None:
        row = await self._db.fetch_one("SELECT key_blob FROM customer_keys WHERE purpose = ?", (purpose,))
        return None if row is None else bytes(row[0])

    async def create(self, purpose: str, blob: bytes, *, now: float) -> bytes:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO customer_keys (purpose, key_blob, created_at) VALUES (?, ?, ?)",
                (purpose, blob, now),
            )
            async with conn.execute("SELECT key_blob FROM customer_keys WHERE purpose = ?", (purpose,)) as cursor:
                row = await cursor.fetchone()
        if row is None:  # the insert above makes this impossible short of a bug
            raise StorageError(f"The customer key {purpose!r} could not be stored.")
        return bytes(row[0])
