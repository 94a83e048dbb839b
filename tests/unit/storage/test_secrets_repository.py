"""The SQLite secrets repository: rows, guards and compare-and-swap updates, without any cryptography."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from securedesk.errors import InvalidInput
from securedesk.storage.database import Database
from securedesk.storage.secrets import (
    EncryptedColumn,
    FieldHeaderChange,
    IndexRootRecord,
    KeyVersionRecord,
    Rewrap,
    SecretRecord,
    SqliteSecretRepository,
)
from securedesk.storage.store import ENCRYPTED_COLUMNS, SqliteStore


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "s.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def repo(db: Database) -> SqliteSecretRepository:
    repository = SqliteSecretRepository(db)
    for version in (1, 2):
        await repository.add_key_version(KeyVersionRecord(version, bytes([version]) * 16, 10.0, None))
    return repository


def record(token: str, **changes: object) -> SecretRecord:
    base = SecretRecord(
        token=token,
        kind="CREDIT_CARD",
        brand="VISA",
        last4="1111",
        case_id=None,
        customer_id=None,
        source="chat",
        kek_version=1,
        wrapped_key=b"w" * 60,
        ciphertext=b"c" * 44,
        blind_index=b"i" * 32,
        created_at=100.0,
        expires_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_insert_get_delete(repo: SqliteSecretRepository) -> None:
    r = record("tok_a", expires_at=500.0)
    assert await repo.insert([r]) is True
    assert await repo.get("tok_a") == r
    assert await repo.get("tok_b") is None
    assert await repo.delete("tok_a") is True
    assert await repo.delete("tok_a") is False


async def test_insert_refuses_unknown_or_retired_versions_all_or_nothing(repo: SqliteSecretRepository) -> None:
    assert await repo.insert([record("tok_a"), record("tok_b", kek_version=3)]) is False
    assert await repo.get("tok_a") is None
    assert await repo.retire_key_version(2, at=50.0) is True
    assert await repo.insert([record("tok_c", kek_version=2)]) is False
    with pytest.raises(InvalidInput, match="refers to a case or customer that does not exist"):
        await repo.insert([record("tok_d"), record("tok_e", case_id="case_missing")])
    assert await repo.get("tok_d") is None
    assert await repo.count_by_kek_version() == {}


async def test_add_key_version_keeps_the_first_row(repo: SqliteSecretRepository) -> None:
    stored = await repo.add_key_version(KeyVersionRecord(1, b"x" * 16, 99.0, None))
    assert stored == KeyVersionRecord(1, b"\x01" * 16, 10.0, None)
    assert [v.version for v in await repo.key_versions()] == [1, 2]


async def test_find_filters_expiry_and_order(repo: SqliteSecretRepository, db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO customers (id, created_at) VALUES ('cus_a', 0), ('cus_b', 0)")
        await conn.execute(
            "INSERT INTO cases (id, reference, customer_id, channel, created_at, updated_at)"
            " VALUES ('case_a', 'SD-A', 'cus_a', 'chat', 0, 0)"
        )
    await repo.insert(
        [
            record("tok_old", customer_id="cus_a", case_id="case_a", created_at=1.0),
            record("tok_new", customer_id="cus_a", created_at=2.0),
            record("tok_b", customer_id="cus_b", created_at=3.0, expires_at=200.0),
            record("tok_ssn", kind="US_SSN", brand=None, created_at=4.0),
        ]
    )
    index = b"i" * 32

    async def found(**kw: object) -> str | None:
        hit = await repo.find(
            "CREDIT_CARD",
            index,
            case_id=kw.get("case_id"),  # type: ignore[arg-type]
            customer_id=kw.get("customer_id"),
            now=kw.get("now", 150.0),
        )  # type: ignore[arg-type]
        return None if hit is None else hit.token

    assert await found() == "tok_b"
    assert await found(now=200.0) == "tok_new"
    assert await found(customer_id="cus_a") == "tok_new"
    assert await found(case_id="case_a") == "tok_old"
    assert await found(customer_id="cus_c") is None
    assert await repo.find("CREDIT_CARD", b"j" * 32, case_id=None, customer_id=None, now=0) is None


async def test_delete_expired_in_batches(repo: SqliteSecretRepository) -> None:
    await repo.insert([record(f"tok_{i}", expires_at=float(i)) for i in range(10)] + [record("tok_keep")])
    assert await repo.delete_expired(now=5.0, limit=4) == 4
    assert await repo.delete_expired(now=5.0, limit=4) == 2
    assert await repo.delete_expired(now=5.0, limit=4) == 0
    assert await repo.count_by_kek_version() == {1: 5}


async def test_rewrap_is_compare_and_swap(repo: SqliteSecretRepository) -> None:
    await repo.insert([record("tok_a"), record("tok_b"), record("tok_c", kek_version=2)])
    below = await repo.wrapped_keys_below(2, limit=10)
    assert sorted(w.token for w in below) == ["tok_a", "tok_b"]
    changed = await repo.rewrap(
        [
            Rewrap("tok_a", 1, 2, b"n" * 60),
            Rewrap("tok_b", 2, 2, b"n" * 60),  # stale: tok_b is on version 1, so this one is skipped
            Rewrap("tok_gone", 1, 2, b"n" * 60),
        ]
    )
    assert changed == 1
    assert await repo.count_by_kek_version() == {1: 1, 2: 2}
    a = await repo.get("tok_a")
    assert a is not None
    assert (a.kek_version, a.wrapped_key) == (2, b"n" * 60)
    assert [w.token for w in await repo.wrapped_keys_below(2, limit=10)] == ["tok_b"]


async def test_retire_checks_use_in_the_same_transaction(repo: SqliteSecretRepository) -> None:
    await repo.insert([record("tok_a")])
    root = await repo.create_index_root(IndexRootRecord(2, b"r" * 60, 1.0))
    assert await repo.create_index_root(IndexRootRecord(1, b"other", 2.0)) == root
    assert await repo.uses_kek_version(1)
    assert await repo.uses_kek_version(2)
    assert await repo.retire_key_version(1, at=5.0) is False
    assert await repo.retire_key_version(2, at=5.0) is False
    assert await repo.rewrap_index_root(old_version=1, new_version=1, wrapped_key=b"x") is False
    assert await repo.rewrap_index_root(old_version=2, new_version=1, wrapped_key=b"s" * 60) is True
    assert await repo.retire_key_version(2, at=5.0) is True
    assert await repo.retire_key_version(2, at=9.0) is True
    assert [(v.version, v.retired_at) for v in await repo.key_versions()] == [(1, None), (2, 5.0)]


async def test_field_headers_page_and_swap_in_place(repo: SqliteSecretRepository, db: Database) -> None:
    column = EncryptedColumn("notes", "id", "blob")
    assert await repo.field_headers(column, after="", limit=10, size=3) == []  # no such table yet
    body = bytes(range(256)) * 4  # NULs and every byte value, after the header
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, blob BLOB)")
        rows = [(f"n{i}", bytes([i, 0, i]) + body) for i in range(5)]
        await conn.executemany("INSERT INTO notes VALUES (?, ?)", rows)
        await conn.execute("INSERT INTO notes VALUES ('z', NULL)")
    first = await repo.field_headers(column, after="", limit=3, size=3)
    assert first == [("n0", b"\x00\x00\x00"), ("n1", b"\x01\x00\x01"), ("n2", b"\x02\x00\x02")]
    second = await repo.field_headers(column, after="n2", limit=3, size=3)
    assert second == [("n3", b"\x03\x00\x03"), ("n4", b"\x04\x00\x04")]
    changed = await repo.replace_field_headers(
        column, [FieldHeaderChange("n0", b"\x00\x00\x00", b"\xff\x00Z"), FieldHeaderChange("n1", b"old", b"new")]
    )
    assert changed == 1
    rows = await db.fetch_all("SELECT id, typeof(blob), blob FROM notes WHERE id IN ('n0', 'n1') ORDER BY id")
    assert [(r[0], r[1], bytes(r[2])) for r in rows] == [
        ("n0", "blob", b"\xff\x00Z" + body),
        ("n1", "blob", b"\x01\x00\x01" + body),
    ]
    with pytest.raises(ValueError, match="must have the length"):
        await repo.replace_field_headers(column, [FieldHeaderChange("n2", b"\x02\x00\x02", b"x")])


@pytest.mark.parametrize("names", [("staff; DROP", "id", "x"), ("t", "id", "x y"), ("T", "id", "x")])
def test_encrypted_columns_are_plain_identifiers(names: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="is not a plain SQL identifier"):
        EncryptedColumn(*names)


async def test_store_aggregates_the_repository(db: Database) -> None:
    store = SqliteStore(db)
    assert isinstance(store.secrets, SqliteSecretRepository)
    assert {(c.table, c.column) for c in ENCRYPTED_COLUMNS} >= {("staff", "totp_secret")}
