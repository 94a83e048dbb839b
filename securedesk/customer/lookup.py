"""Verified lookup: a customer names themselves by email address or case reference, gets a one-time code through the
``Notifier``, and enters it in the same browser to open a short customer session.

Codes: 6 digits from ``secrets``, valid 10 minutes, single use, 5 attempts, stored as an HMAC under the server key
bound to their challenge id, compared in constant time, and bound to the browser that asked (its keyed cookie hash).
Issuance is limited per identifier and per client address, counted in the database.

No enumeration: an unknown address or reference gets exactly the same treatment — a challenge is created (a decoy
that no code opens), the same rate limits count it, the same audit event is written, and the caller gets the same
answer; only the delivery, which runs after the response is sent, differs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from securedesk.clock import Clock
from securedesk.customer.keys import CustomerKeys
from securedesk.customer.notifier import Notifier
from securedesk.errors import AuthenticationFailed, LinkGone, RateLimited, ValidationFailed
from securedesk.identity import AuditRecorder
from securedesk.sensitive import Sensitive
from securedesk.storage.lookup import ChallengeRecord, LookupRepository, LookupSessionRecord
from securedesk.throttling import RateLimit

CODE_DIGITS: Final = 6
CUSTOMER_ACTOR: Final = "customer"
CUSTOMER_ROLE: Final = "customer"
MAX_IDENTIFIER_CHARS: Final = 254
_REFERENCE: Final = re.compile(r"SD-[23456789BCDFGHJKLMNPQRSTVWXZ]{6}")
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]{1,251}\.[^@\s]{1,63}")
_CODE_SEPARATORS: Final = re.compile(r"[\s\-]+")
#: How often expired challenges and sessions are cleaned up (opportunistically, when a code is requested).
_PURGE_INTERVAL_SECONDS: Final = 3_600.0


class CodeRejected(AuthenticationFailed):
    """The code is not the one sent. ``attempts_left`` before the challenge locks."""

    def __init__(self, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        super().__init__("The one-time code was not accepted.")


class CodeLocked(RateLimited):
    """Too many wrong codes for this challenge: it is locked; the customer must ask for a new code."""

    public_message = "Too many wrong codes. Please ask for a new code."

    def __init__(self) -> None:
        super().__init__("Too many wrong codes for this challenge; it is locked.")


class NoOpenChallenge(LinkGone):
    """No usable code in this browser: it expired, was used, was replaced, or was asked for in another browser."""

    public_message = "This code has expired or was already used. Please ask for a new one."

    def __init__(self) -> None:
        super().__init__("No open one-time code challenge for this browser.")


def new_code() -> Sensitive:
    return Sensitive(f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}")


def normalize_identifier(raw: str) -> tuple[str, str]:
    """``("email", "jane@example.com")`` or ``("reference", "SD-BCD234")``; ``ValidationFailed`` for anything
    else. Only the shape is checked: whether we know it is never said."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValidationFailed([("identifier", "identifier.required")])
    if len(text) > MAX_IDENTIFIER_CHARS:
        raise ValidationFailed([("identifier", "identifier.invalid")])
    upper = text.upper()
    if _REFERENCE.fullmatch(upper):
        return "reference", upper
    if _EMAIL.fullmatch(text):
        return "email", text.lower()
    raise ValidationFailed([("identifier", "identifier.invalid")])


_PER_IDENTIFIER: Final = RateLimit("address or case reference", 3, 900)
_PER_IP: Final = RateLimit("client address", 10, 900)


@dataclass(frozen=True)
class LookupLimits:
    code_seconds: int = 600
    max_attempts: int = 5
    session_seconds: int = 900
    per_identifier: RateLimit = _PER_IDENTIFIER
    per_ip: RateLimit = _PER_IP


class CodeDelivery:
    """What remains after a code was issued: sending it. Awaited after the response went out, so that its time does
    not tell a known address from an unknown one (for a decoy it does nothing)."""

    __slots__ = ("_send",)

    def __init__(self, send: Callable[[], Awaitable[None]] | None) -> None:
        self._send = send

    async def __call__(self) -> None:
        if self._send is not None:
            await self._send()

    def __repr__(self) -> str:
        return "CodeDelivery(…)"


@dataclass(frozen=True)
class CustomerSession:
    """A verified customer, as loaded for one request. ``key`` is safe to log."""

    key: str
    customer_id: str
    expires_at: float


@dataclass(frozen=True)
class NewCustomerSession:
    token: Sensitive  # the cookie value, handed out only here
    session: CustomerSession


class LookupService:
    def __init__(
        self,
        *,
        lookups: LookupRepository,
        notifier: Notifier,
        audit: AuditRecorder,
        keys: CustomerKeys,
        clock: Clock,
        limits: LookupLimits | None = None,
    ) -> None:
        self._lookups = lookups
        self._notifier = notifier
        self._audit = audit
        self._keys = keys
        self._clock = clock
        self.limits = limits if limits is not None else LookupLimits()
        self._purged_at = float("-inf")

    # --- issuing a code -------------------------------------------------------------------------------------------

    async def start(self, identifier: str, *, browser_key: bytes, ip: str | None, lang: str) -> CodeDelivery:
        """Open a challenge for ``identifier`` in this browser (replacing any it had open). ``ValidationFailed`` for
        a malformed identifier, ``RateLimited`` over the issuance limits — for known and unknown alike."""
        kind, normalized = normalize_identifier(identifier)
        now = self._clock.now()
        await self._purge(now)
        identifier_key = self._keys.mac("identifier", normalized)
        ip_key = self._keys.mac("ip", ip) if ip else None
        limits = self.limits
        limits.per_identifier.check(
            await self._lookups.issued_since(identifier_key=identifier_key, since=limits.per_identifier.since(now)), now
        )
        if ip_key is not None:
            limits.per_ip.check(await self._lookups.issued_since(ip_key=ip_key, since=limits.per_ip.since(now)), now)
        if kind == "email":
            found = await self._lookups.customer_by_email(normalized)
        else:
            found = await self._lookups.customer_by_case_reference(normalized)
        code = new_code()
        challenge_id = "chl_" + secrets.token_hex(12)
        # The same work for a decoy: its hash is of a code nobody receives, and no customer stands behind it.
        record = ChallengeRecord(
            id=challenge_id,
            identifier_key=identifier_key,
            ip_key=ip_key,
            browser_key=browser_key,
            customer_id=None if found is None else found[0],
            code_hash=self._keys.mac("code", challenge_id, code.reveal()),
            attempts=0,
            created_at=now,
            expires_at=now + limits.code_seconds,
        )
        async with self._lookups.transaction() as conn:
            await self._lookups.close_open_challenges(conn, browser_key, now=now)
            await self._lookups.insert_challenge(conn, record)
            await self._audit.record_in(
                conn,
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="lookup.code_issued",
                target=f"challenge:{challenge_id}",
                origin_ip=ip,
                channel="web",
                reason=f"identifier={kind}",
            )
        if found is None:
            return CodeDelivery(None)
        address = found[1]
        minutes = max(1, limits.code_seconds // 60)

        async def send() -> None:
            await self._notifier.send_code(to=address, code=code, lang=lang, valid_minutes=minutes)

        return CodeDelivery(send)

    async def _purge(self, now: float) -> None:
        if now - self._purged_at >= _PURGE_INTERVAL_SECONDS:
            self._purged_at = now
            await self._lookups.delete_expired(now=now)

    # --- entering it ------------------------------------------------------------------------------------------------

    async def verify(self, code: str, *, browser_key: bytes, ip: str | None) -> NewCustomerSession:
        """Check ``code`` against this browser's open challenge; on success, burn it and open a session.

        ``NoOpenChallenge`` (410) when there is none, ``CodeRejected`` (401, attempts left) for a wrong code,
        ``CodeLocked`` (429) once ``max_attempts`` wrong codes were entered — then even the right code is refused.
        """
        now = self._clock.now()
        limits = self.limits
        challenge = await self._lookups.open_challenge(browser_key, now=now)
        if challenge is None:
            raise NoOpenChallenge()
        if challenge.attempts >= limits.max_attempts:
            raise CodeLocked()
        attempts = await self._lookups.count_attempt(challenge.id, max_attempts=limits.max_attempts)
        if attempts is None:
            raise CodeLocked()
        candidate = _CODE_SEPARATORS.sub("", unicodedata.normalize("NFKC", code[:32]))
        given = self._keys.mac("code", challenge.id, candidate)
        well_formed = len(candidate) == CODE_DIGITS and candidate.isascii() and candidate.isdigit()
        matches = hmac.compare_digest(given, challenge.code_hash)
        if not (matches and well_formed and challenge.customer_id is not None):
            left = limits.max_attempts - attempts
            await self._audit.record(
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="lookup.locked" if left == 0 else "lookup.code_failed",
                target=f"challenge:{challenge.id}",
                outcome="denied" if left == 0 else "failure",
                origin_ip=ip,
                channel="web",
                reason=f"attempts left: {left}",
            )
            if left == 0:
                raise CodeLocked()
            raise CodeRejected(left)
        token = Sensitive(secrets.token_urlsafe(32))
        session = LookupSessionRecord(
            token_hash=self._session_hash(token),
            customer_id=challenge.customer_id,
            browser_key=browser_key,
            challenge_id=challenge.id,
            created_at=now,
            expires_at=now + limits.session_seconds,
        )
        async with self._lookups.transaction() as conn:
            if not await self._lookups.mark_used(conn, challenge.id, now=now):
                raise NoOpenChallenge()  # the same code, entered twice at once: one wins
            await self._lookups.insert_session(conn, session)
            await self._audit.record_in(
                conn,
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="lookup.verified",
                target=f"challenge:{challenge.id};customer:{challenge.customer_id}",
                origin_ip=ip,
                channel="web",
            )
        return NewCustomerSession(token, _session(session))

    # --- sessions ---------------------------------------------------------------------------------------------------

    def _session_hash(self, token: Sensitive) -> str:
        return self._keys.mac("session", token.reveal()).hex()

    async def session(self, token: Sensitive | None, *, browser_key: bytes | None) -> CustomerSession | None:
        """The live session of this cookie in this browser, or None (unknown, ended, expired, other browser)."""
        if token is None or browser_key is None or len(token) > 64:
            return None
        record = await self._lookups.session(self._session_hash(token))
        if record is None or record.ended_at is not None or record.expires_at <= self._clock.now():
            return None
        if not hmac.compare_digest(record.browser_key, browser_key):
            return None
        return _session(record)

    async def end(self, token: Sensitive) -> bool:
        """Log the customer out (server-side)."""
        return await self._lookups.end_session(self._session_hash(token), now=self._clock.now())


def _session(record: LookupSessionRecord) -> CustomerSession:
    key = hashlib.sha256(record.token_hash.encode("ascii")).hexdigest()[:16]
    return CustomerSession(key=key, customer_id=record.customer_id, expires_at=record.expires_at)
