"""Identity fixtures: a migrated database, the real audit log and vault, cheap argon2 parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from securedesk.audit import AuditLog
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.identity import Actor, Argon2Parameters, Identity, PasswordHasher, Role, StaffMember
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault

#: Fast parameters for tests that are not about cost (the real ones are exercised in test_passwords.py).
FAST = Argon2Parameters("test", time_cost=1, memory_kib=1024, parallelism=1)
ADMIN = Actor(name="cli:test", role="system", channel="cli")
PASSWORD = "correct horse battery staple"


def no_redaction(text: str) -> str:
    return text


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.database_path)
    yield database
    await database.close()


@pytest.fixture
def audit(db: Database, clock: FixedClock) -> AuditLog:
    return AuditLog(db, clock, no_redaction)


@pytest.fixture
async def cipher(settings: Settings, db: Database, clock: FixedClock) -> Vault:
    """The real vault (its ``encrypt_field``/``decrypt_field``), with a fresh key-encrypting key."""
    LocalKeyFile(settings.key_dir).add_version()
    return await Vault.load(settings, db, clock)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(FAST)


@pytest.fixture
def identity(
    settings: Settings,
    db: Database,
    audit: AuditLog,
    cipher: Vault,
    clock: FixedClock,
    hasher: PasswordHasher,
) -> Identity:
    return Identity.build(settings, db=db, audit=audit, cipher=cipher, clock=clock, hasher=hasher)


@dataclass(frozen=True)
class Enrolled:
    member: StaffMember
    secret: Sensitive
    password: Sensitive


def token_of(url: Sensitive) -> str:
    return url.reveal().rsplit("/enrol/", 1)[1]


class Enrol(Protocol):
    async def __call__(
        self, name: str, role: Role = Role.AGENT, *, queues: tuple[str, ...] = (), password: str = PASSWORD
    ) -> Enrolled: ...


@pytest.fixture
def enrol(identity: Identity, clock: FixedClock) -> Enrol:
    """Create and enrol an account, then move the clock one TOTP step on (the enrolment code's step is then past)."""

    async def enrol_one(
        name: str, role: Role = Role.AGENT, *, queues: tuple[str, ...] = (), password: str = PASSWORD
    ) -> Enrolled:
        link = await identity.accounts.add(name, role, actor=ADMIN, queues=queues)
        challenge = await identity.enrolment.begin(token_of(link.url))
        member = await identity.enrolment.complete(
            token_of(link.url), Sensitive(password), code_at(challenge.secret, clock.now())
        )
        clock.advance(30)
        return Enrolled(member, challenge.secret, Sensitive(password))

    return enrol_one


class AuditRows(Protocol):
    async def __call__(self) -> list[tuple[str, str, str, str | None]]: ...


@pytest.fixture
def audit_rows(db: Database) -> AuditRows:
    """(action, actor, outcome, reason) of every audit event, oldest first."""

    async def rows() -> list[tuple[str, str, str, str | None]]:
        found = await db.fetch_all("SELECT action, actor, outcome, reason FROM audit_events ORDER BY seq")
        return [(r["action"], r["actor"], r["outcome"], r["reason"]) for r in found]

    return rows


@pytest.fixture
def operator() -> Actor:
    return ADMIN
