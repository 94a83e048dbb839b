"""Server-side staff sessions: random ids stored only hashed, idle and absolute limits, logout, CSRF, step-up freshness.

The web layer puts the id in the ``__Host-securedesk`` cookie (``SESSION_COOKIE`` says how) and calls
``authenticate`` on every request and WebSocket. Ending sessions (logout, expiry, a disabled account) is recorded in
the audit log and announced to ``SessionEndListeners`` so the chat layer can close that person's WebSockets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Final

import aiosqlite

from securedesk.clock import Clock
from securedesk.errors import AuditError, AuthenticationFailed, PermissionDenied, StepUpRequired
from securedesk.identity.roles import Principal, Role
from securedesk.identity.seams import AuditRecorder
from securedesk.identity.tokens import new_token, token_hash
from securedesk.sensitive import Sensitive
from securedesk.storage.staff import SessionRecord, StaffRecord, StaffRepository

logger = logging.getLogger(__name__)

SESSION_COOKIE_NAME: Final = "__Host-securedesk"
#: Seconds within which a TOTP code must have been entered for sensitive actions (reveal).
STEP_UP_SECONDS: Final = 300
SESSION_INVALID_MESSAGE: Final = "You are not logged in, or your session has ended: please log in again."


@dataclass(frozen=True)
class CookiePolicy:
    """How the web layer must set the session cookie.

    ``__Host-`` requires Secure, Path=/ and no Domain; no Max-Age or Expires makes it a browser-session cookie, while
    the server enforces the idle and absolute limits whatever the browser keeps.
    """

    name: str = SESSION_COOKIE_NAME
    secure: bool = True
    httponly: bool = True
    samesite: str = "strict"
    path: str = "/"
    domain: None = None
    max_age: None = None


SESSION_COOKIE: Final = CookiePolicy()


@dataclass(frozen=True)
class Session:
    """A live session, as loaded for one request. ``key`` (a hash of the id) is safe to log and to index by."""

    key: str
    principal: Principal
    created_at: float
    last_seen_at: float
    mfa_at: float
    idle_expires_at: float
    absolute_expires_at: float
    csrf_token: str
    origin_ip: str | None


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``token`` is the cookie value, handed out only here."""

    token: Sensitive
    session: Session


@dataclass(frozen=True)
class SessionsEnded:
    staff_id: str
    session_keys: tuple[str, ...]
    reason: str


SessionEndListener = Callable[[SessionsEnded], Awaitable[None]]


class SessionEndListeners:
    """Callbacks told when sessions end (logout, expiry, a disabled account); the chat layer closes WebSockets."""

    def __init__(self) -> None:
        self._listeners: list[SessionEndListener] = []

    def add(self, listener: SessionEndListener) -> None:
        self._listeners.append(listener)

    def remove(self, listener: SessionEndListener) -> None:
        self._listeners.remove(listener)

    async def notify(self, event: SessionsEnded) -> None:
        # A failing listener must not stop the others, nor undo the end of the sessions.
        for listener in list(self._listeners):
            try:
                await listener(event)
            except Exception:
                logger.exception("A session-end listener failed for staff %s", event.staff_id)


def csrf_token_for(token: Sensitive | str) -> str:
    """The CSRF token of a session, derived from its id (so nothing more is stored, and it cannot lead back to it)."""
    raw = token.reveal() if isinstance(token, Sensitive) else token
    digest = hmac.new(raw.encode("utf-8", "replace"), b"securedesk/csrf/v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def principal_of(staff: StaffRecord) -> Principal:
    return Principal(staff_id=staff.id, name=staff.name, role=Role(staff.role), queues=frozenset(staff.queues))


class Sessions:
    def __init__(
        self,
        repo: StaffRepository,
        audit: AuditRecorder,
        clock: Clock,
        *,
        idle_seconds: int,
        absolute_seconds: int,
        listeners: SessionEndListeners | None = None,
    ) -> None:
        if idle_seconds <= 0 or absolute_seconds <= 0:
            raise ValueError("session limits must be positive")
        self._repo = repo
        self._audit = audit
        self._clock = clock
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self.listeners = listeners if listeners is not None else SessionEndListeners()

    def _session(self, record: SessionRecord, staff: StaffRecord, csrf_token: str) -> Session:
        return Session(
            key=record.id_hash,
            principal=principal_of(staff),
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            mfa_at=record.mfa_at,
            idle_expires_at=min(record.last_seen_at + self.idle_seconds, record.created_at + self.absolute_seconds),
            absolute_expires_at=record.created_at + self.absolute_seconds,
            csrf_token=csrf_token,
            origin_ip=record.origin_ip,
        )

    async def start(
        self, conn: aiosqlite.Connection, staff: StaffRecord, *, now: float, origin_ip: str | None
    ) -> NewSession:
        """A brand-new session (a fresh random id: never one the client chose), inside the login's transaction."""
        token = new_token()
        record = SessionRecord(
            id_hash=token_hash(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            mfa_at=now,
            origin_ip=origin_ip,
        )
        await self._repo.insert_session(conn, record)
        return NewSession(token=token, session=self._session(record, staff, csrf_token_for(token)))

    async def authenticate(self, token: Sensitive | str | None) -> Session:
        """The live session for a cookie value, its idle clock restarted; ``AuthenticationFailed`` otherwise."""
        if not token:
            raise AuthenticationFailed(SESSION_INVALID_MESSAGE)
        record = await self._repo.get_session(token_hash(token))
        if record is None:
            raise AuthenticationFailed(SESSION_INVALID_MESSAGE)
        now = self._clock.now()
        staff = await self._repo.get_staff(record.staff_id)
        if staff is None or staff.status != "active":
            await self._end_quietly(record, staff, reason="account not active")
            raise AuthenticationFailed(SESSION_INVALID_MESSAGE)
        if now >= record.created_at + self.absolute_seconds:
            await self._end_quietly(record, staff, reason="absolute timeout")
            raise AuthenticationFailed(SESSION_INVALID_MESSAGE)
        if now >= record.last_seen_at + self.idle_seconds:
            await self._end_quietly(record, staff, reason="idle timeout")
            raise AuthenticationFailed(SESSION_INVALID_MESSAGE)
        async with self._repo.transaction() as conn:
            await self._repo.touch_session(conn, record.id_hash, now=now)
        return self._session(replace(record, last_seen_at=max(now, record.last_seen_at)), staff, csrf_token_for(token))

    def check_csrf(self, session: Session, submitted: str | None) -> None:
        """Raise ``PermissionDenied`` unless ``submitted`` is this session's CSRF token (constant-time comparison)."""
        expected = session.csrf_token.encode("ascii")
        given = (submitted or "").encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise PermissionDenied(
                "The form has expired or did not come from this site: reload the page and try again."
            )

    def require_recent_mfa(self, session: Session, *, within: float = STEP_UP_SECONDS) -> None:
        """Raise ``StepUpRequired`` unless a TOTP code was entered in this session less than ``within`` seconds ago."""
        if self._clock.now() >= session.mfa_at + within:
            raise StepUpRequired("This action needs a fresh authenticator code: enter one to continue.")

    async def end(self, token: Sensitive | str, *, reason: str = "logout", origin_ip: str | None = None) -> bool:
        """Log out: the session is deleted server-side. False if there was no such session.

        Ending a session never waits on the audit log: if its event cannot be written the session still ends, and the
        ``AuditError`` is raised afterwards so the failure is seen and counted.
        """
        record = await self._repo.get_session(token_hash(token))
        if record is None:
            return False
        staff = await self._repo.get_staff(record.staff_id)
        await self._end_recorded(record, staff, reason=reason, origin_ip=origin_ip)
        return True

    async def end_in(
        self, conn: aiosqlite.Connection, token: Sensitive | str, *, reason: str, origin_ip: str | None = None
    ) -> SessionsEnded | None:
        """End one session inside the caller's transaction (e.g. the old session at a new login); audited there."""
        record = await self._repo.get_session(token_hash(token))
        if record is None or not await self._repo.delete_session(conn, record.id_hash):
            return None
        staff = await self._repo.get_staff(record.staff_id)
        await self._record_end(conn, record, staff, reason=reason, origin_ip=origin_ip)
        return SessionsEnded(record.staff_id, (record.id_hash,), reason)

    async def end_all_in(
        self, conn: aiosqlite.Connection, staff: StaffRecord, *, reason: str, origin_ip: str | None = None
    ) -> SessionsEnded:
        """End every session of ``staff`` inside the caller's transaction; the caller notifies after commit."""
        records = await self._repo.list_sessions(staff.id)
        await self._repo.delete_sessions_of(conn, staff.id)
        for record in records:
            await self._record_end(conn, record, staff, reason=reason, origin_ip=origin_ip)
        return SessionsEnded(staff.id, tuple(r.id_hash for r in records), reason)

    async def purge_expired(self) -> int:
        """End every session past its idle or absolute limit (run periodically); returns how many ended."""
        now = self._clock.now()
        expired: dict[str, tuple[SessionRecord, str]] = {}
        for record in await self._repo.list_sessions_idle_since(now - self.idle_seconds):
            expired[record.id_hash] = (record, "idle timeout")
        for record in await self._repo.list_sessions_started_before(now - self.absolute_seconds):
            expired[record.id_hash] = (record, "absolute timeout")
        for record, reason in expired.values():
            await self._end_recorded(record, await self._repo.get_staff(record.staff_id), reason=reason)
        return len(expired)

    async def _record_end(
        self,
        conn: aiosqlite.Connection,
        record: SessionRecord,
        staff: StaffRecord | None,
        *,
        reason: str,
        origin_ip: str | None = None,
    ) -> None:
        await self._audit.record_in(
            conn,
            actor=staff.name if staff else record.staff_id,
            role=staff.role if staff else "none",
            action="session.end",
            target=f"session:{record.id_hash[:16]}",
            origin_ip=origin_ip,
            channel="web",
            reason=reason,
        )

    async def _end_recorded(
        self, record: SessionRecord, staff: StaffRecord | None, *, reason: str, origin_ip: str | None = None
    ) -> None:
        try:
            async with self._repo.transaction() as conn:
                if await self._repo.delete_session(conn, record.id_hash):
                    await self._record_end(conn, record, staff, reason=reason, origin_ip=origin_ip)
        except AuditError:
            async with self._repo.transaction() as conn:
                await self._repo.delete_session(conn, record.id_hash)
            await self.listeners.notify(SessionsEnded(record.staff_id, (record.id_hash,), reason))
            raise
        await self.listeners.notify(SessionsEnded(record.staff_id, (record.id_hash,), reason))

    async def _end_quietly(self, record: SessionRecord, staff: StaffRecord | None, *, reason: str) -> None:
        # The request is refused either way; a failed audit write here is logged (and counted by the audit log).
        try:
            await self._end_recorded(record, staff, reason=reason)
        except AuditError:
            logger.warning(
                "Session %s ended (%s) but its audit event could not be written", record.id_hash[:16], reason
            )
