"""Audit fixtures: a migrated database in tmp_path, an in-memory signing key, and a log whose redactor masks digits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from securedesk.audit import AuditLog
from securedesk.clock import FixedClock
from securedesk.storage import Database
from securedesk.vault.signing import SigningKey


def mask_digits(text: str) -> str:
    """A redactor that is easy to assert on: every digit becomes '#'."""
    return re.sub(r"[0-9]", "#", text)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path)
    yield database
    await database.close()


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def log(db: Database, clock: FixedClock, signing_key: SigningKey) -> AuditLog:
    return AuditLog(db, clock, mask_digits, signing_key=signing_key)


Fill = Callable[[AuditLog, int], Awaitable[None]]


@pytest.fixture
def fill(clock: FixedClock) -> Fill:
    """Append ``count`` events one second apart: actors alice, bob, carol in turn; actions case.view and
    secret.reveal in turn; every fourth event (counting from the first) denied; targets case_<n> where n counts
    from 1 within one call."""

    async def append(log: AuditLog, count: int) -> None:
        actors = ("alice", "bob", "carol")
        for i in range(count):
            await log.record(
                actor=actors[i % 3],
                role="agent",
                action=("case.view", "secret.reveal")[i % 2],
                target=f"case_{i + 1}",
                outcome="success" if i % 4 else "denied",
                origin_ip="192.0.2.10",
                channel="web",
            )
            clock.advance(1)

    return append
