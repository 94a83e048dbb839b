from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from securedesk.errors import SchemaTooNew, StorageError
from securedesk.storage import MIGRATIONS, Database


async def test_new_database_is_migrated_with_durable_pragmas(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "d" / "s.db")
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        pragmas = {}
        for name in ("journal_mode", "synchronous", "foreign_keys", "secure_delete"):
            row = await db.fetch_one(f"PRAGMA {name}")
            assert row is not None
            pragmas[name] = row[0]
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "secure_delete": 1}
    finally:
        await db.close()


async def test_migration_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await (await Database.open(path)).close()
    db = await Database.open(path)
    try:
        assert await db.migrate() == len(MIGRATIONS)
    finally:
        await db.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNew, match="newer than this SecureDesk supports"):
        await Database.open(path)


async def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        await Database.open(path)


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_1', 0)")
                raise RuntimeError("boom")
        assert await db.fetch_one("SELECT id FROM customers") is None
    finally:
        await db.close()


async def test_cancelled_transaction_leaves_no_open_transaction(tmp_path: Path) -> None:
    import asyncio

    db = await Database.open(tmp_path / "s.db")
    try:

        async def writer() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_c', 0)")
                await asyncio.sleep(10)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.fetch_one("SELECT id FROM customers") is None
        async with db.transaction() as conn:  # the connection is usable again: no transaction left open
            await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_d', 0)")
        row = await db.fetch_one("SELECT id FROM customers")
        assert row is not None
        assert row[0] == "cus_d"
    finally:
        await db.close()
