"""Vault fixtures: a migrated database, a key directory with KEK version 1, a loaded vault, an audit recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from vault_support import AuditRecorder, CaseMaker

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault


@pytest.fixture
def audit() -> AuditRecorder:
    return AuditRecorder()


@pytest.fixture
def keys(settings: Settings) -> LocalKeyFile:
    provider = LocalKeyFile(settings.key_dir)
    assert provider.add_version() == 1
    return provider


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.database_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def vault(settings: Settings, db: Database, clock: FixedClock, keys: LocalKeyFile) -> Vault:
    return await Vault.load(settings, db, clock)


@pytest.fixture
def make_case(db: Database) -> CaseMaker:
    """``await make_case("case_1", customer_id=None)`` inserts a case (and its customer) and returns the case id."""

    async def make(case_id: str, *, customer_id: str | None = None) -> str:
        async with db.transaction() as conn:
            if customer_id is not None:
                await conn.execute("INSERT OR IGNORE INTO customers (id, created_at) VALUES (?, 0)", (customer_id,))
            await conn.execute(
                "INSERT INTO cases (id, reference, customer_id, channel, created_at, updated_at)"
                " VALUES (?, ?, ?, 'chat', 0, 0)",
                (case_id, f"SD-{case_id.upper()}", customer_id),
            )
        return case_id

    return make
