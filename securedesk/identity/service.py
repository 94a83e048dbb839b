"""``Identity``: the staff-identity parts wired together from ``Settings``, and ``ensure_first_admin`` for ``init``."""

from __future__ import annotations

from dataclasses import dataclass

from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.identity.accounts import FIRST_ADMIN_NAME, Accounts, Actor
from securedesk.identity.enrolment import Enrolment
from securedesk.identity.login import Authenticator
from securedesk.identity.passwords import PasswordHasher, PasswordPolicy
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.identity.sessions import SessionEndListeners, Sessions
from securedesk.storage.database import Database
from securedesk.storage.staff import SqliteStaffRepository, StaffRepository


@dataclass(frozen=True)
class Identity:
    """Everything the web layer needs for staff: accounts, login and step-up, sessions, enrolment, and the
    listeners told when sessions end."""

    accounts: Accounts
    authenticator: Authenticator
    sessions: Sessions
    enrolment: Enrolment
    listeners: SessionEndListeners

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        db: Database,
        audit: AuditRecorder,
        cipher: FieldCipher,
        clock: Clock,
        hasher: PasswordHasher | None = None,
        policy: PasswordPolicy | None = None,
        repo: StaffRepository | None = None,
    ) -> Identity:
        repo = repo if repo is not None else SqliteStaffRepository(db)
        hasher = hasher if hasher is not None else PasswordHasher()
        listeners = SessionEndListeners()
        sessions = _sessions(settings, repo, audit, clock, listeners)
        return cls(
            accounts=Accounts(repo, audit, sessions, clock, public_base_url=settings.public_base_url),
            authenticator=Authenticator(repo, audit, cipher, hasher, sessions, clock),
            sessions=sessions,
            enrolment=Enrolment(repo, audit, cipher, hasher, policy if policy is not None else PasswordPolicy(), clock),
            listeners=listeners,
        )


def _sessions(
    settings: Settings, repo: StaffRepository, audit: AuditRecorder, clock: Clock, listeners: SessionEndListeners
) -> Sessions:
    return Sessions(
        repo,
        audit,
        clock,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
        listeners=listeners,
    )


def accounts_for(settings: Settings, *, db: Database, audit: AuditRecorder, clock: Clock) -> Accounts:
    """Account management alone (no vault needed): for the CLI and ``init``."""
    repo = SqliteStaffRepository(db)
    sessions = _sessions(settings, repo, audit, clock, SessionEndListeners())
    return Accounts(repo, audit, sessions, clock, public_base_url=settings.public_base_url)


async def ensure_first_admin(
    settings: Settings,
    *,
    db: Database,
    audit: AuditRecorder,
    actor: Actor,
    clock: Clock | None = None,
    name: str = FIRST_ADMIN_NAME,
) -> str | None:
    """For ``securedesk init``: create the first admin (pending) and return its one-time enrolment link, or None
    when an enabled admin account already exists. ``actor`` is who runs init, e.g.
    ``Actor(cli_actor(), "system", channel="cli")``."""
    accounts = accounts_for(settings, db=db, audit=audit, clock=clock if clock is not None else SystemClock())
    link = await accounts.ensure_first_admin(actor=actor, name=name)
    return None if link is None else link.url.reveal()
