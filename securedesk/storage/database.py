"""One SQLite database file opened through aiosqlite: durable settings, versioned migrations, write transactions.

The connection runs with WAL, ``synchronous=FULL`` (a commit is on disk before we acknowledge anything, RFC 5321
§6.1 style), foreign keys on, and ``secure_delete`` on so that deleted secrets are overwritten in the file.
Migrations are the ``NNNN_name.sql`` files of ``securedesk/storage/migrations``, applied in order; the database's
``user_version`` is the number applied. A database migrated by a newer SecureDesk is refused.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from securedesk.errors import SchemaTooNew, StorageError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _load_migrations() -> tuple[Migration, ...]:
    folder = resources.files("securedesk.storage").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StorageError(
                f"Migration files are not numbered 1..n: expected {expected:04d}, found {migration.version:04d}."
            )
    return tuple(found)


MIGRATIONS: tuple[Migration, ...] = _load_migrations()


class Database:
    """An open database. Reads may run at any time; writes go through ``transaction()``, one at a time."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(
                f"Cannot open database {path}: {exc}", hint="check the data directory and its permissions"
            ) from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await db._configure()
            if migrate:
                await db.migrate()
            else:
                await db._check_version()
        except BaseException:
            await conn.close()
            raise
        return db

    async def _configure(self) -> None:
        try:
            mode = await self._scalar("PRAGMA journal_mode=WAL")
            if str(mode).lower() != "wal":
                raise StorageError(f"Database {self.path} could not switch to WAL mode (got {mode}).")
            for pragma in (
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA secure_delete=ON",
                "PRAGMA busy_timeout=5000",
            ):
                await self._conn.execute(pragma)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"Database {self.path} is not a usable SQLite database: {exc}") from exc

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self._conn.execute(sql, tuple(params)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def schema_version(self) -> int:
        return int(await self._scalar("PRAGMA user_version"))

    async def _check_version(self) -> int:
        current = await self.schema_version()
        if current > len(MIGRATIONS):
            raise SchemaTooNew(
                f"Database {self.path} is at schema version {current}, newer than this SecureDesk supports "
                f"({len(MIGRATIONS)}).",
                hint="run the SecureDesk version that created it, or restore a backup",
            )
        return current

    async def migrate(self) -> int:
        """Apply every migration not yet applied, each in its own transaction. Returns the new version."""
        current = await self._check_version()
        for migration in MIGRATIONS[current:]:
            async with self.transaction() as conn:
                for statement in _split_sql(migration.sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {migration.version:d}")
        return await self.schema_version()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any error. Writers are serialized."""
        async with self._write_lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"Cannot start a write transaction: {exc}") from exc
            except BaseException:
                # Cancelled while BEGIN was queued: it may still run in the connection's thread afterwards.
                await asyncio.shield(self._rollback())
                raise
            try:
                yield self._conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            try:
                await self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback()
                raise StorageError(f"Commit failed: {exc}") from exc

    async def _rollback(self) -> None:
        # Wait behind anything still queued on the connection's thread (a cancelled BEGIN or statement), then roll
        # back only if a transaction is open: SQLite rolls back by itself on some errors (disk full, I/O error),
        # and a second ROLLBACK would raise "no transaction is active" and hide the real error.
        await self._conn.execute("SELECT 1")
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))  # one hop to the connection's thread
        for row in rows:
            return row
        return None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def checkpoint(self, *, attempts: int = 50, pause_seconds: float = 0.02) -> None:
        """Move the WAL into the main file and truncate it, so deleted pages leave no copy in ``-wal``.

        A reader in another process can keep the checkpoint from completing (SQLite answers "busy"); we retry
        briefly and then say so, rather than pretend the residue is gone.
        """
        for _ in range(attempts):
            async with self._write_lock:
                row = await self._scalar_row("PRAGMA wal_checkpoint(TRUNCATE)")
            if row is not None and int(row[0]) == 0:
                return
            await asyncio.sleep(pause_seconds)
        raise StorageError(
            f"WAL checkpoint of {self.path} stayed busy; deleted data may remain in the -wal file until the next one.",
            hint="close other processes that read the database, then run the command again",
        )

    async def _scalar_row(self, sql: str) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql)
        for row in rows:
            return row
        return None

    async def is_healthy(self) -> bool:
        try:
            await self._scalar("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return True

    async def close(self) -> None:
        await self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (our scripts contain no semicolons inside literals or triggers)."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        buffer.append(line)
        if stripped.endswith(";") and sqlite3.complete_statement("\n".join(buffer)):
            statements.append("\n".join(buffer))
            buffer = []
    if buffer:
        statements.append("\n".join(buffer))
    return statements
