"""Chat fixtures: the real detector, vault (tmp SQLite, real key file), audit log, policy and Screener; the cases
repository on the same database; and ``make_chat`` for a ``ChatService`` on a fixed clock (helpers: chat_support.py)."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_support import MakeChat, MakeScreener

from securedesk.audit import AuditLog
from securedesk.audit.reasons import ReasonScreen
from securedesk.channels.chat import ChatRelayQueue, ChatService
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.detection.conversation import TextAnalyzer
from securedesk.metrics import Metrics
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage.cases import SqliteCaseRepository
from securedesk.storage.database import Database
from securedesk.storage.outbox import SqliteOutboxRepository
from securedesk.vault import LocalKeyFile, Vault

POLICY_DIR = Path(__file__).parents[3] / "policies"


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))


@pytest.fixture
def chat_settings(settings: Settings) -> Settings:
    return settings.replace(public_base_url="https://desk.example")


@pytest.fixture
async def db(chat_settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(chat_settings.database_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def vault(chat_settings: Settings, db: Database, clock: FixedClock) -> Vault:
    LocalKeyFile(chat_settings.key_dir).add_version()
    return await Vault.load(chat_settings, db, clock)


@pytest.fixture
def audit(db: Database, clock: FixedClock, detector: Detector) -> AuditLog:
    return AuditLog(db, clock, ReasonScreen(detector=detector))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(process_metrics=False)


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], PolicyHolder]:
    """``write_policy(extra)``: the default policy with ``extra`` TOML appended, as a PolicyHolder."""
    counter = iter(range(1_000))

    def write(extra: str) -> PolicyHolder:
        path = tmp_path / f"policy{next(counter)}.toml"
        base = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")
        path.write_text(base + "\n" + textwrap.dedent(extra), encoding="utf-8")
        return PolicyHolder.load(path)

    return write


@pytest.fixture
def policy() -> PolicyHolder:
    return PolicyHolder.load(POLICY_DIR / "default.toml")


@pytest.fixture
def cases(db: Database) -> SqliteCaseRepository:
    return SqliteCaseRepository(db)


@pytest.fixture
def make_screener(
    chat_settings: Settings,
    vault: Vault,
    audit: AuditLog,
    metrics: Metrics,
    clock: FixedClock,
    detector: Detector,
    policy: PolicyHolder,
) -> Iterator[MakeScreener]:
    built: list[Screener] = []

    def make(holder: PolicyHolder | None = None, analyzer: TextAnalyzer | None = None) -> Screener:
        screener = Screener.build(
            chat_settings,
            vault=vault,
            audit=audit,
            policy_holder=holder or policy,
            detector=analyzer or detector,
            metrics=metrics,
            clock=clock,
        )
        built.append(screener)
        return screener

    yield make
    for screener in built:
        screener.close()


@pytest.fixture
async def make_chat(
    chat_settings: Settings,
    make_screener: MakeScreener,
    cases: SqliteCaseRepository,
    clock: FixedClock,
    metrics: Metrics,
    db: Database,
) -> AsyncIterator[MakeChat]:
    """``make_chat(screener=None, relay=False, **settings_changes)`` → a ChatService (closed after the test)."""
    built: list[ChatService] = []

    def make(screener: Screener | None = None, *, relay: bool = False, **changes: Any) -> ChatService:
        service = ChatService(
            settings=chat_settings.replace(**changes),
            screener=screener or make_screener(),
            cases=cases,
            clock=clock,
            metrics=metrics,
            relay=ChatRelayQueue(SqliteOutboxRepository(db), clock) if relay else None,
        )
        built.append(service)
        return service

    yield make
    for service in built:
        await service.close()
