"""Screening fixtures: the real detector, a real vault on a tmp SQLite file with a real key file, the real audit log,
policies written into tmp_path, and a factory for a Screener wired to all of them."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from screening_support import MakeCase, MakeScreener, WritePolicy

from securedesk.audit import AuditLog
from securedesk.audit.reasons import ReasonScreen
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.detection.conversation import TextAnalyzer
from securedesk.metrics import Metrics
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.database_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def vault(settings: Settings, db: Database, clock: FixedClock) -> Vault:
    LocalKeyFile(settings.key_dir).add_version()
    return await Vault.load(settings, db, clock)


@pytest.fixture
def audit(db: Database, clock: FixedClock, detector: Detector) -> AuditLog:
    return AuditLog(db, clock, ReasonScreen(detector=detector))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(process_metrics=False)


@pytest.fixture
def write_policy(tmp_path: Path) -> WritePolicy:
    """``write_policy(text)`` → a PolicyHolder on that TOML, written into tmp_path."""
    counter = iter(range(1_000))

    def write(text: str) -> PolicyHolder:
        path = tmp_path / f"policy{next(counter)}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return PolicyHolder.load(path)

    return write


@pytest.fixture
def default_policy() -> PolicyHolder:
    return PolicyHolder.load(Path(__file__).parents[3] / "policies" / "default.toml")


@pytest.fixture
def make_screener(
    settings: Settings,
    vault: Vault,
    audit: AuditLog,
    metrics: Metrics,
    clock: FixedClock,
    detector: Detector,
    default_policy: PolicyHolder,
) -> Iterator[MakeScreener]:
    """``make_screener(policy=None, detector=None, **settings_changes)`` → a Screener built by ``Screener.build``
    (closed after the test)."""
    built: list[Screener] = []

    def make(policy: PolicyHolder | None = None, analyzer: TextAnalyzer | None = None, **changes: Any) -> Screener:
        screener = Screener.build(
            settings.replace(public_base_url="https://desk.example", **changes),
            vault=vault,
            audit=audit,
            policy_holder=policy if policy is not None else default_policy,
            detector=analyzer if analyzer is not None else detector,
            metrics=metrics,
            clock=clock,
        )
        built.append(screener)
        return screener

    yield make
    for screener in built:
        screener.close()


@pytest.fixture
def make_case(db: Database) -> MakeCase:
    """``await make_case("case_1", customer_id=None)`` inserts a case (and its customer); returns the case id."""

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
