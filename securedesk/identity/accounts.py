"""Staff accounts: create (with a one-time enrolment link), list, change role or queues, disable; the first admin.

Each change commits together with its audit event or not at all. Disabling an account ends all its sessions in the
same transaction and then tells the ``SessionEndListeners`` (so open WebSockets close). Callers check
``Permission.USERS_MANAGE`` before calling; the CLI acts as the operator of the machine.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

import aiosqlite

from securedesk.clock import Clock
from securedesk.errors import InvalidInput, NotFound
from securedesk.identity.login import NAME_PATTERN, normalize_name
from securedesk.identity.roles import Role
from securedesk.identity.seams import AuditRecorder
from securedesk.identity.sessions import Sessions
from securedesk.identity.tokens import new_token, token_hash
from securedesk.sensitive import Sensitive
from securedesk.storage.staff import EnrolmentRecord, StaffRecord, StaffRepository

#: How long an enrolment link stays valid.
ENROLMENT_SECONDS: Final = 24 * 3600
QUEUE_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
FIRST_ADMIN_NAME: Final = "admin"


@dataclass(frozen=True)
class Actor:
    """Who performs an account change, for the audit log (a logged-in admin, or the operator at the CLI)."""

    name: str
    role: str
    origin_ip: str | None = None
    channel: str = "system"


@dataclass(frozen=True)
class StaffMember:
    """An account as shown to administrators: no hash, no secret."""

    id: str
    name: str
    role: Role
    status: str
    queues: tuple[str, ...]
    created_at: float
    enrolled_at: float | None
    disabled_at: float | None
    locked_until: float

    @classmethod
    def of(cls, record: StaffRecord) -> StaffMember:
        return cls(
            id=record.id,
            name=record.name,
            role=Role(record.role),
            status=record.status,
            queues=record.queues,
            created_at=record.created_at,
            enrolled_at=record.enrolled_at,
            disabled_at=record.disabled_at,
            locked_until=record.locked_until,
        )


@dataclass(frozen=True)
class EnrolmentLink:
    """A one-time link ``{public_base_url}/enrol/<token>``: give it to the person only, over a trusted channel."""

    member: StaffMember
    url: Sensitive
    expires_at: float


def parse_queues(queues: Iterable[str]) -> tuple[str, ...]:
    cleaned = sorted({q.strip().lower() for q in queues if q.strip()})
    for queue in cleaned:
        if not QUEUE_PATTERN.fullmatch(queue):
            raise InvalidInput(
                f"Queue name {queue!r} is not valid.", hint="use 1-64 lowercase letters, digits, '.', '_' or '-'"
            )
    return tuple(cleaned)


class Accounts:
    def __init__(
        self, repo: StaffRepository, audit: AuditRecorder, sessions: Sessions, clock: Clock, *, public_base_url: str
    ) -> None:
        self._repo = repo
        self._audit = audit
        self._sessions = sessions
        self._clock = clock
        self._base_url = public_base_url.rstrip("/")

    async def get(self, name: str) -> StaffMember:
        return StaffMember.of(await self._record(name))

    async def list(self) -> list[StaffMember]:
        return [StaffMember.of(record) for record in await self._repo.list_staff()]

    async def add(self, name: str, role: Role, *, actor: Actor, queues: Iterable[str] = ()) -> EnrolmentLink:
        """A pending account and its enrolment link (valid ``ENROLMENT_SECONDS``, single use)."""
        wanted = normalize_name(name)
        if not NAME_PATTERN.fullmatch(wanted):
            raise InvalidInput(
                f"Staff name {name!r} is not valid.",
                hint="use 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        queue_list = parse_queues(queues)
        now = self._clock.now()
        record = StaffRecord(
            id=f"stf_{secrets.token_hex(8)}",
            name=wanted,
            role=role.value,
            status="pending",
            password_hash=None,
            totp_secret=None,
            totp_last_step=0,
            failed_logins=0,
            locked_until=0.0,
            created_at=now,
            updated_at=now,
            enrolled_at=None,
            disabled_at=None,
            queues=queue_list,
        )
        try:
            async with self._repo.transaction() as conn:
                await self._repo.insert_staff(conn, record)  # the name is UNIQUE (case-insensitive)
                await self._audit.record_in(
                    conn,
                    actor=actor.name,
                    role=actor.role,
                    action="user.create",
                    target=f"staff:{record.id}",
                    origin_ip=actor.origin_ip,
                    channel=actor.channel,
                    reason=f"name {wanted}, role {role.value}, queues {','.join(queue_list) or '-'}",
                )
                link = await self._issue_link(conn, record, now)
        except sqlite3.IntegrityError as exc:
            raise InvalidInput(f"A staff account named {wanted!r} already exists.", hint="choose another name") from exc
        return link

    async def reissue_enrolment(self, name: str, *, actor: Actor) -> EnrolmentLink:
        """Reset an account's password and TOTP (lost device, forgotten password): sessions end, old links die, and a
        new link is issued; the account is pending until enrolled again."""
        record = await self._record(name)
        if record.status == "disabled":
            raise InvalidInput(f"Staff account {record.name!r} is disabled.", hint="disabled accounts stay disabled")
        now = self._clock.now()
        async with self._repo.transaction() as conn:
            ended = await self._sessions.end_all_in(conn, record, reason="enrolment reset", origin_ip=actor.origin_ip)
            await self._repo.reset_credentials(conn, record.id, now=now)
            await self._repo.delete_enrolments_of(conn, record.id)
            await self._audit.record_in(
                conn,
                actor=actor.name,
                role=actor.role,
                action="user.enrolment_reset",
                target=f"staff:{record.id}",
                origin_ip=actor.origin_ip,
                channel=actor.channel,
            )
            pending = replace(record, status="pending", password_hash=None, totp_secret=None, enrolled_at=None)
            link = await self._issue_link(conn, pending, now)
        await self._sessions.listeners.notify(ended)
        return link

    async def set_role(self, name: str, role: Role, *, actor: Actor) -> StaffMember:
        record = await self._record(name)
        if record.role == role.value:
            return StaffMember.of(record)
        await self._keep_an_admin(record)
        async with self._repo.transaction() as conn:
            await self._repo.set_role(conn, record.id, role.value, now=self._clock.now())
            await self._audit.record_in(
                conn,
                actor=actor.name,
                role=actor.role,
                action="user.role_change",
                target=f"staff:{record.id}",
                origin_ip=actor.origin_ip,
                channel=actor.channel,
                reason=f"{record.role} -> {role.value}",
            )
        return await self.get(record.name)

    async def set_queues(self, name: str, queues: Iterable[str], *, actor: Actor) -> StaffMember:
        record = await self._record(name)
        queue_list = parse_queues(queues)
        async with self._repo.transaction() as conn:
            await self._repo.set_queues(conn, record.id, queue_list)
            await self._audit.record_in(
                conn,
                actor=actor.name,
                role=actor.role,
                action="user.queues_change",
                target=f"staff:{record.id}",
                origin_ip=actor.origin_ip,
                channel=actor.channel,
                reason=f"{','.join(record.queues) or '-'} -> {','.join(queue_list) or '-'}",
            )
        return await self.get(record.name)

    async def disable(self, name: str, *, actor: Actor) -> StaffMember:
        """Disable an account for good: its sessions end now, and listeners close its WebSockets."""
        record = await self._record(name)
        if record.status == "disabled":
            return StaffMember.of(record)
        await self._keep_an_admin(record)
        async with self._repo.transaction() as conn:
            await self._repo.set_disabled(conn, record.id, now=self._clock.now())
            await self._repo.delete_enrolments_of(conn, record.id)
            await self._audit.record_in(
                conn,
                actor=actor.name,
                role=actor.role,
                action="user.disable",
                target=f"staff:{record.id}",
                origin_ip=actor.origin_ip,
                channel=actor.channel,
            )
            ended = await self._sessions.end_all_in(conn, record, reason="account disabled", origin_ip=actor.origin_ip)
        await self._sessions.listeners.notify(ended)
        return await self.get(record.name)

    async def ensure_first_admin(self, *, actor: Actor, name: str = FIRST_ADMIN_NAME) -> EnrolmentLink | None:
        """Create the first admin and return its enrolment link; None when an admin (enabled) already exists."""
        if await self._repo.count_staff(role=Role.ADMIN.value) > 0:
            return None
        return await self.add(name, Role.ADMIN, actor=actor)

    async def _record(self, name: str) -> StaffRecord:
        record = await self._repo.get_staff_by_name(normalize_name(name))
        if record is None:
            raise NotFound(f"No staff account named {normalize_name(name)!r}.", hint="see `securedesk users list`")
        return record

    async def _keep_an_admin(self, record: StaffRecord) -> None:
        if record.role == Role.ADMIN.value and await self._repo.count_staff(role=Role.ADMIN.value) <= 1:
            raise InvalidInput(
                "The last administrator account cannot be disabled or given another role.",
                hint="create and enrol another admin first",
            )

    async def _issue_link(self, conn: aiosqlite.Connection, record: StaffRecord, now: float) -> EnrolmentLink:
        token = new_token()
        expires_at = now + ENROLMENT_SECONDS
        await self._repo.insert_enrolment(
            conn,
            EnrolmentRecord(
                token_hash=token_hash(token),
                staff_id=record.id,
                created_at=now,
                expires_at=expires_at,
                totp_secret=None,
            ),
        )
        url = Sensitive(f"{self._base_url}/enrol/{token.reveal()}")
        return EnrolmentLink(member=StaffMember.of(record), url=url, expires_at=expires_at)
