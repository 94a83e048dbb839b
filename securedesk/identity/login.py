"""Staff login (password + TOTP) with lockout, and step-up (a fresh TOTP code inside a session).

Every attempt costs exactly one argon2 verification (a dummy one for unknown or not-enrolled accounts) and ends in
one transaction with its audit event; every refusal is the same ``AuthenticationFailed`` with the same message, so
nothing tells an unknown account from a wrong password, a wrong code, a locked or a disabled account. The real reason
goes to the audit log and our own log only. The 10th consecutive failure locks the account for 30 minutes
(PCI DSS 8.3.4). If the audit event cannot be written, the login does not happen (``AuditError``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Final

import aiosqlite

from securedesk.clock import Clock
from securedesk.errors import AuditError, AuthenticationFailed, DecryptionFailed
from securedesk.identity.passwords import PasswordHasher
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.identity.sessions import NewSession, Session, Sessions, SessionsEnded
from securedesk.identity.totp import matching_step
from securedesk.sensitive import Sensitive
from securedesk.storage.staff import StaffRecord, StaffRepository

logger = logging.getLogger(__name__)

LOCKOUT_THRESHOLD: Final = 10
LOCKOUT_SECONDS: Final = 30 * 60
LOGIN_FAILED_MESSAGE: Final = "Login failed: check your name, password and authenticator code."
STEP_UP_FAILED_MESSAGE: Final = "The authenticator code was not accepted."

NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def normalize_name(name: str) -> str:
    return name.strip().lower()


class _Refusal(Exception):
    """Internal: why an attempt was refused (audit and log only, never the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def totp_secret_of(cipher: FieldCipher, staff: StaffRecord) -> Sensitive:
    if staff.totp_secret is None:
        raise DecryptionFailed()
    plain = cipher.decrypt_field(staff.totp_secret, table="staff", row_id=staff.id, column="totp_secret")
    return Sensitive(plain.decode("ascii"))


class Authenticator:
    def __init__(
        self,
        repo: StaffRepository,
        audit: AuditRecorder,
        cipher: FieldCipher,
        hasher: PasswordHasher,
        sessions: Sessions,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._audit = audit
        self._cipher = cipher
        self._hasher = hasher
        self._sessions = sessions
        self._clock = clock

    async def login(
        self,
        name: str,
        password: Sensitive,
        code: Sensitive,
        *,
        origin_ip: str | None = None,
        channel: str = "web",
        replaces: Sensitive | str | None = None,
    ) -> NewSession:
        """A new session for correct name, password and TOTP code; ``AuthenticationFailed`` otherwise.

        ``replaces`` is the session cookie the browser sent with the login form, if any: it is ended, and the new
        session always gets a fresh id (no session fixation).
        """
        now = self._clock.now()
        wanted = normalize_name(name)
        staff = await self._repo.get_staff_by_name(wanted) if NAME_PATTERN.fullmatch(wanted) else None
        password_ok = await self._hasher.verify(staff.password_hash if staff else None, password)
        try:
            if staff is None:
                raise _Refusal("unknown account")
            if staff.status == "disabled":
                raise _Refusal("account disabled")
            if staff.status != "active":
                raise _Refusal("account not enrolled")
            if now < staff.locked_until:
                raise _Refusal("account locked")
            if not password_ok or staff.password_hash is None:
                raise _Refusal("wrong password")
            step = self._match_code(staff, code, now)
            new_hash = await self._hasher.hash(password) if self._hasher.needs_rehash(staff.password_hash) else None
            ended: SessionsEnded | None = None
            async with self._repo.transaction() as conn:
                if not await self._repo.accept_login(conn, staff.id, totp_step=step, now=now):
                    raise _Refusal("code already used, or the account changed during the attempt")
                if new_hash is not None:
                    await self._repo.set_password_hash(conn, staff.id, new_hash)
                if replaces:
                    ended = await self._sessions.end_in(conn, replaces, reason="replaced at login", origin_ip=origin_ip)
                new = await self._sessions.start(conn, staff, now=now, origin_ip=origin_ip)
                await self._audit.record_in(
                    conn,
                    actor=staff.name,
                    role=staff.role,
                    action="auth.login",
                    target=f"staff:{staff.id}",
                    origin_ip=origin_ip,
                    channel=channel,
                    reason="password rehashed" if new_hash else None,
                )
        except _Refusal as refusal:
            await self._refuse(
                staff, refusal.reason, now=now, action="auth.login_failed", origin_ip=origin_ip, channel=channel
            )
            raise AuthenticationFailed(LOGIN_FAILED_MESSAGE) from None
        if ended is not None:
            await self._sessions.listeners.notify(ended)
        logger.info("Staff %s logged in (session %s)", staff.id, new.session.key[:16])
        return new

    async def step_up(self, session: Session, code: Sensitive, *, origin_ip: str | None = None) -> Session:
        """Verify a TOTP code inside a session (replay-safe) and return the session with ``mfa_at`` refreshed."""
        now = self._clock.now()
        staff = await self._repo.get_staff(session.principal.staff_id)
        try:
            if staff is None or staff.status != "active":
                raise _Refusal("account not active")
            if now < staff.locked_until:
                raise _Refusal("account locked")
            step = self._match_code(staff, code, now)
            async with self._repo.transaction() as conn:
                if not await self._repo.consume_totp_step(conn, staff.id, totp_step=step):
                    raise _Refusal("code already used")
                await self._repo.set_session_mfa(conn, session.key, now=now)
                await self._audit.record_in(
                    conn,
                    actor=staff.name,
                    role=staff.role,
                    action="auth.step_up",
                    target=f"session:{session.key[:16]}",
                    origin_ip=origin_ip,
                    channel="web",
                )
        except _Refusal as refusal:
            await self._refuse(
                staff, refusal.reason, now=now, action="auth.step_up", origin_ip=origin_ip, channel="web"
            )
            raise AuthenticationFailed(STEP_UP_FAILED_MESSAGE) from None
        return replace(session, mfa_at=now, last_seen_at=max(now, session.last_seen_at))

    def _match_code(self, staff: StaffRecord, code: Sensitive, now: float) -> int:
        try:
            secret = totp_secret_of(self._cipher, staff)
        except DecryptionFailed:
            logger.error("The TOTP secret of staff %s cannot be decrypted (key or data problem)", staff.id)
            raise _Refusal("TOTP secret unreadable") from None
        step = matching_step(secret, code, now)
        if step is None:
            raise _Refusal("wrong code")
        return step

    async def _refuse(
        self, staff: StaffRecord | None, reason: str, *, now: float, action: str, origin_ip: str | None, channel: str
    ) -> None:
        """Count the failure (locking at the threshold) and audit it, in one transaction.

        If the audit write fails, the failure is still counted (a broken audit log must not lift the lockout) and the
        ``AuditError`` propagates: the caller sees the same error whether or not the credentials were right.
        """
        counts = staff is not None and staff.status == "active" and now >= staff.locked_until
        logger.info("Staff authentication refused for %s: %s", staff.id if staff else "an unknown account", reason)
        try:
            async with self._repo.transaction() as conn:
                locked = await self._count_failure(conn, staff, now) if counts and staff else False
                await self._audit.record_in(
                    conn,
                    actor=staff.name if staff else "unknown",
                    role=staff.role if staff else "none",
                    action=action,
                    target=f"staff:{staff.id}" if staff else "",
                    outcome="failure",
                    origin_ip=origin_ip,
                    channel=channel,
                    reason=reason,
                )
                if locked and staff:
                    await self._audit.record_in(
                        conn,
                        actor=staff.name,
                        role=staff.role,
                        action="auth.lockout",
                        target=f"staff:{staff.id}",
                        origin_ip=origin_ip,
                        channel=channel,
                        reason=f"{LOCKOUT_THRESHOLD} consecutive failures; locked for {LOCKOUT_SECONDS} s",
                    )
        except AuditError:
            if counts and staff:
                async with self._repo.transaction() as conn:
                    await self._count_failure(conn, staff, now)
            raise

    async def _count_failure(self, conn: aiosqlite.Connection, staff: StaffRecord, now: float) -> bool:
        if await self._repo.add_failure(conn, staff.id, now=now) < LOCKOUT_THRESHOLD:
            return False
        await self._repo.lock(conn, staff.id, until=now + LOCKOUT_SECONDS)
        logger.warning("Staff %s locked out for %d s after %d failures", staff.id, LOCKOUT_SECONDS, LOCKOUT_THRESHOLD)
        return True
