"""Call-back requests: a customer leaves a number and a time window (in their own time zone), an agent claims the
request, reveals the number to call (audited before it is shown) and records what happened — done, no answer, or a
new window; the customer sees the status in their lookup session.

The number is validated and normalized to E.164 (``phones``), kept only as a vault field blob, with a keyed index
for rate limiting and a mask for display. Requests are rate-limited per browser, per number and per client address
(no toll pumping); the optional topic is screened like any message. A request can come from a nudge (a signed,
expiring link that binds it to the case), from a verified lookup session, or on its own (queue "general").
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final

from securedesk.clock import Clock
from securedesk.customer.keys import CustomerKeys
from securedesk.customer.phones import PhoneNumber, display_phone, parse_phone
from securedesk.customer.self_service import SCREENING_CHANNEL, ScreenerSource
from securedesk.customer.windows import CallWindow, parse_window
from securedesk.errors import InvalidInput, NotFound, PermissionDenied, ValidationFailed
from securedesk.identity import AuditRecorder, FieldCipher, Permission, Principal, require
from securedesk.screening import Decision
from securedesk.sensitive import Sensitive
from securedesk.storage.callbacks import (
    CLAIMABLE_STATUSES,
    OPEN_STATUSES,
    CallbackRecord,
    CallbackRepository,
    new_callback_id,
    new_callback_reference,
)
from securedesk.storage.cases import LANGS, CaseRecord, CaseRepository
from securedesk.throttling import RateLimit, SlidingWindow

CUSTOMER_ACTOR: Final = "customer"
CUSTOMER_ROLE: Final = "customer"
DEFAULT_QUEUE: Final = "general"
MAX_TOPIC_CHARS: Final = 500
CASE_LINK_SECONDS: Final = 7 * 86_400
DEFAULT_REVEAL_REASON: Final = "call-back"
OUTCOMES: Final = ("done", "no_answer", "rescheduled")
#: How often untouched old requests are forgotten (opportunistically, when a request comes in).
_PURGE_INTERVAL_SECONDS: Final = 3_600.0
_TABLE: Final = "callbacks"
_PHONE_COLUMN: Final = "phone"


@dataclass(frozen=True)
class CallbackForm:
    """What the customer typed (strings as submitted; nothing of it is echoed back on error except choices)."""

    phone: str = field(repr=False)
    phone_region: str
    date: str
    start: str
    end: str
    time_zone: str
    lang: str
    topic: str = field(default="", repr=False)


@dataclass(frozen=True)
class CallbackContext:
    """Who asks, for rate limits and for whose case: ``session_key`` is the browser's keyed hash."""

    session_key: bytes
    ip: str | None
    case_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class CallbackReceipt:
    id: str
    reference: str
    window: CallWindow
    phone_mask: str
    case_reference: str | None


@dataclass(frozen=True)
class QueueItem:
    """A request as agents see it: the number masked, the window in the customer's zone and in UTC."""

    id: str
    reference: str
    case_id: str | None
    queue: str
    phone_mask: str
    window: CallWindow
    lang: str
    topic: str
    status: str
    claimed_by: str | None
    claimed_by_name: str | None
    attempts: int
    mine: bool


_PER_SESSION: Final = RateLimit("browser session", 3, 3_600)
_PER_NUMBER: Final = RateLimit("phone number", 3, 86_400)
_PER_IP: Final = RateLimit("client address", 10, 3_600)
_REVEALS_PER_AGENT: Final = RateLimit("agent", 30, 3_600)


@dataclass(frozen=True)
class CallbackLimits:
    per_session: RateLimit = _PER_SESSION
    per_number: RateLimit = _PER_NUMBER
    per_ip: RateLimit = _PER_IP
    reveals_per_agent: RateLimit = _REVEALS_PER_AGENT
    retention_days: int = 30  # a request nothing happened to for this long is deleted with its number


class CallbackService:
    def __init__(
        self,
        *,
        callbacks: CallbackRepository,
        cases: CaseRepository,
        cipher: FieldCipher,
        keys: CustomerKeys,
        screener: ScreenerSource,
        audit: AuditRecorder,
        clock: Clock,
        public_base_url: str,
        limits: CallbackLimits | None = None,
    ) -> None:
        self._callbacks = callbacks
        self._cases = cases
        self._cipher = cipher
        self._keys = keys
        self._screener = screener
        self._audit = audit
        self._clock = clock
        self._base_url = public_base_url.rstrip("/")
        self.limits = limits if limits is not None else CallbackLimits()
        self._reveals = SlidingWindow(self.limits.reveals_per_agent, clock)
        self._purged_at = float("-inf")

    # --- links from a nudge -----------------------------------------------------------------------------------------

    def case_link(self, case_id: str, *, lang: str) -> str:
        """``{public_base_url}/callback?case=<signed binding>&lang=fr``: a request from it is for that case."""
        return f"{self._base_url}/callback?case={self.case_binding(case_id)}&lang={lang if lang in LANGS else 'en'}"

    def case_binding(self, case_id: str) -> str:
        expires = int(self._clock.now()) + CASE_LINK_SECONDS
        payload = f"{case_id}.{expires}"
        mac = self._keys.mac("case-link", payload)[:16]
        return _b64(payload.encode("ascii")) + "." + _b64(mac)

    def read_case_binding(self, binding: str) -> str | None:
        """The case id a binding names, or None when it was altered or has expired."""
        if len(binding) > 200 or binding.count(".") != 1:
            return None
        encoded_payload, encoded_mac = binding.split(".")
        try:
            payload = _unb64(encoded_payload).decode("ascii")
            mac = _unb64(encoded_mac)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._keys.mac("case-link", payload)[:16]):
            return None
        case_id, _, expires = payload.rpartition(".")
        if not expires.isdigit() or int(expires) <= self._clock.now():
            return None
        return case_id

    async def bound_case(self, binding: str) -> CaseRecord | None:
        """The case a nudge's call-back link is for; None when the link was altered, expired or its case is gone."""
        case_id = self.read_case_binding(binding)
        return None if case_id is None else await self._cases.get_case(case_id)

    # --- the customer's request -------------------------------------------------------------------------------------

    async def request(self, form: CallbackForm, context: CallbackContext) -> CallbackReceipt:
        """Validate, rate-limit, screen the topic, seal the number and queue the request.

        ``ValidationFailed`` names every field in error; ``RateLimited`` (429) when this browser, this number or this
        address asked too often; ``NotFound`` when a bound case no longer exists."""
        errors: list[tuple[str, str]] = []
        phone: PhoneNumber | None = None
        window: CallWindow | None = None
        now = self._clock.now()
        if now - self._purged_at >= _PURGE_INTERVAL_SECONDS:
            self._purged_at = now
            await self.purge()
        try:
            phone = parse_phone(form.phone, form.phone_region)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        try:
            window = parse_window(form.date, form.start, form.end, form.time_zone, now=now)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        if form.lang not in LANGS:
            errors.append(("lang", "lang.invalid"))
        if len(form.topic) > MAX_TOPIC_CHARS:
            errors.append(("topic", "topic.too_long"))
        if errors or phone is None or window is None:
            raise ValidationFailed(errors)
        case = None
        if context.case_id is not None:
            case = await self._cases.get_case(context.case_id)
            if case is None:
                raise NotFound("No such case.")
        phone_index = self._keys.mac("phone", phone.e164.reveal())
        ip_key = self._keys.mac("ip", context.ip) if context.ip else None
        limits = self.limits
        limits.per_session.check(
            await self._callbacks.requested_since(
                "session_key", context.session_key, since=limits.per_session.since(now)
            ),
            now,
        )
        limits.per_number.check(
            await self._callbacks.requested_since("phone_index", phone_index, since=limits.per_number.since(now)), now
        )
        if ip_key is not None:
            limits.per_ip.check(
                await self._callbacks.requested_since("ip_key", ip_key, since=limits.per_ip.since(now)), now
            )
        topic = await self._screen_topic(
            form, case_id=None if case is None else case.id, customer_id=context.customer_id
        )
        callback_id = new_callback_id()
        record = CallbackRecord(
            id=callback_id,
            reference=new_callback_reference(),
            case_id=None if case is None else case.id,
            customer_id=context.customer_id
            if context.customer_id is not None
            else (None if case is None else case.customer_id),
            queue=DEFAULT_QUEUE if case is None else case.queue,
            phone=self._cipher.encrypt_field(
                phone.e164.reveal().encode("ascii"), table=_TABLE, row_id=callback_id, column=_PHONE_COLUMN
            ),
            phone_index=phone_index,
            phone_mask=phone.mask,
            window_start=window.start,
            window_end=window.end,
            time_zone=window.time_zone,
            lang=form.lang,
            topic=topic,
            status="requested",
            created_at=now,
            updated_at=now,
            session_key=context.session_key,
            ip_key=ip_key,
        )
        async with self._callbacks.transaction() as conn:
            stored = await self._callbacks.insert(conn, record)
            await self._audit.record_in(
                conn,
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="callback.request",
                target=f"callback:{stored.id}" + (f";case:{case.id}" if case is not None else ""),
                origin_ip=context.ip,
                channel="web",
                reason=f"region={phone.region or '-'}; lang={form.lang}",
            )
        case_reference = None if case is None else case.reference
        return CallbackReceipt(stored.id, stored.reference, window, phone.mask, case_reference)

    async def purge(self) -> int:
        """Delete the requests (and their encrypted numbers) nothing happened to for ``retention_days``."""
        return await self._callbacks.delete_untouched_since(self._clock.now() - self.limits.retention_days * 86_400)

    async def _screen_topic(self, form: CallbackForm, *, case_id: str | None, customer_id: str | None) -> str:
        if not form.topic.strip():
            return ""
        screener = await self._screener()
        screened = await screener.screen(
            form.topic,
            channel=SCREENING_CHANNEL,
            lang=form.lang,
            case_id=case_id,
            sender=customer_id,
            customer_id=customer_id,
        )
        if screened.decision is Decision.BLOCK:
            raise ValidationFailed([("topic", "topic.blocked")])
        if not screened.delivered:
            raise ValidationFailed([("topic", "topic.held")])
        return screened.text

    # --- agents --------------------------------------------------------------------------------------------------

    async def queue(self, principal: Principal, *, include_done: bool = False) -> list[QueueItem]:
        """The requests in the agent's queues, earliest window first (done ones only when asked)."""
        require(principal, Permission.CASE_READ)
        statuses: Collection[str] = (*OPEN_STATUSES, "done") if include_done else OPEN_STATUSES
        records = await self._callbacks.queue(queues=sorted(principal.queues), statuses=statuses)
        return [self._item(record, principal) for record in records]

    def _item(self, record: CallbackRecord, principal: Principal) -> QueueItem:
        return QueueItem(
            id=record.id,
            reference=record.reference,
            case_id=record.case_id,
            queue=record.queue,
            phone_mask=record.phone_mask,
            window=CallWindow(record.window_start, record.window_end, record.time_zone),
            lang=record.lang,
            topic=record.topic,
            status=record.status,
            claimed_by=record.claimed_by,
            claimed_by_name=record.claimed_by_name,
            attempts=record.attempts,
            mine=record.status == "claimed" and record.claimed_by == principal.staff_id,
        )

    async def get(self, callback_id: str, principal: Principal) -> QueueItem:
        return self._item(await self._visible(callback_id, principal, Permission.CASE_READ), principal)

    async def _visible(self, callback_id: str, principal: Principal, permission: Permission) -> CallbackRecord:
        """The request if the agent's role and queues allow it; ``NotFound`` otherwise (never "exists, not yours")."""
        require(principal, permission)
        record = await self._callbacks.get(callback_id) if callback_id.startswith("cb_") else None
        if record is None:
            raise NotFound("No such call-back request.")
        require(principal, permission, case=record)  # ObjectNotVisible (404) outside the agent's queues
        return record

    async def claim(self, callback_id: str, principal: Principal, *, origin_ip: str | None) -> None:
        await self._visible(callback_id, principal, Permission.CASE_REPLY)
        now = self._clock.now()
        if not await self._callbacks.claim(
            callback_id, staff_id=principal.staff_id, staff_name=principal.name, now=now
        ):
            raise PermissionDenied("This call-back request is not open for claiming (another agent may have it).")
        await self._audit.record(
            actor=principal.name,
            role=principal.role.value,
            action="callback.claim",
            target=f"callback:{callback_id}",
            origin_ip=origin_ip,
            channel="web",
        )

    async def reveal(self, callback_id: str, principal: Principal, *, reason: str, origin_ip: str | None) -> Sensitive:
        """The number to call, for the agent who claimed the request: the role needs ``secret.reveal``, the reason
        is required, reveals are limited per agent, and the ``callback.reveal`` audit event is written before the
        number is returned (if it cannot be written, nothing is revealed)."""
        record = await self._visible(callback_id, principal, Permission.CASE_REPLY)
        if not principal.may(Permission.SECRET_REVEAL):
            raise PermissionDenied(f"Role {principal.role.value!r} may not reveal phone numbers.")
        if record.status != "claimed" or record.claimed_by != principal.staff_id:
            raise PermissionDenied("Claim the call-back request before revealing its number.")
        if not reason.strip():
            raise InvalidInput("Revealing a number requires a reason.", hint="state why it is needed")
        self._reveals.hit(principal.staff_id)
        number = Sensitive(
            self._cipher.decrypt_field(record.phone, table=_TABLE, row_id=record.id, column=_PHONE_COLUMN).decode(
                "ascii"
            )
        )
        await self._audit.record(
            actor=principal.name,
            role=principal.role.value,
            action="callback.reveal",
            target=f"callback:{record.id}" + (f";case:{record.case_id}" if record.case_id else ""),
            origin_ip=origin_ip,
            channel="web",
            reason=reason,
        )
        return number

    async def finish(
        self,
        callback_id: str,
        principal: Principal,
        *,
        outcome: str,
        origin_ip: str | None,
        new_window: tuple[str, str, str] | None = None,
    ) -> None:
        """Record the outcome of a claimed request: ``done``, ``no_answer`` (back to the queue) or ``rescheduled``
        with ``new_window`` = (date, start, end) in the customer's time zone (back to the queue)."""
        record = await self._visible(callback_id, principal, Permission.CASE_REPLY)
        if outcome not in OUTCOMES:
            raise InvalidInput(f"Unknown call-back outcome {outcome!r}.", hint=f"use one of {', '.join(OUTCOMES)}")
        window: tuple[float, float] | None = None
        if outcome == "rescheduled":
            if new_window is None:
                raise ValidationFailed([("date", "window.date")])
            parsed = parse_window(*new_window, record.time_zone, now=self._clock.now())
            window = (parsed.start, parsed.end)
        now = self._clock.now()
        async with self._callbacks.transaction() as conn:
            if not await self._callbacks.finish(
                conn,
                callback_id,
                staff_id=principal.staff_id,
                status=outcome,
                now=now,
                window=window,
                called=outcome != "rescheduled",
            ):
                raise PermissionDenied("Only the agent who claimed this call-back request can record its outcome.")
            await self._audit.record_in(
                conn,
                actor=principal.name,
                role=principal.role.value,
                action=f"callback.{outcome}",
                target=f"callback:{callback_id}",
                origin_ip=origin_ip,
                channel="web",
            )

    @staticmethod
    def display(number: Sensitive) -> str:
        return display_phone(number)


def claimable(status: str) -> bool:
    return status in CLAIMABLE_STATUSES


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
