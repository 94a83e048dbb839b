"""What a verified customer sees and does: their cases with status, the values on file (masked: never more than the
last four characters), their call-back requests, and a message added to one of their cases — screened by the
``Screener`` like every other message. Another customer's case does not exist here (``NotFound``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from securedesk.clock import Clock
from securedesk.customer.lookup import CUSTOMER_ACTOR, CUSTOMER_ROLE, CustomerSession
from securedesk.customer.windows import CallWindow
from securedesk.errors import NotFound, ValidationFailed
from securedesk.identity import AuditRecorder
from securedesk.screening import Decision, Screened, Screener
from securedesk.storage.callbacks import CallbackRecord, CallbackRepository
from securedesk.storage.cases import CaseRepository, MessageRecord, new_message_id
from securedesk.storage.lookup import CustomerCase, ItemOnFile, LookupRepository

MAX_MESSAGE_CHARS: Final = 4_000
#: The channel customer-typed page text is screened as (the policy's "form" rules).
SCREENING_CHANNEL: Final = "form"
ScreenerSource = Callable[[], Awaitable[Screener]]


@dataclass(frozen=True)
class ItemView:
    case_id: str | None
    kind: str
    brand: str | None
    last4: str
    source: str

    @property
    def mask(self) -> str:
        """``VISA •••• 1111``: the brand (or the kind) and the last four characters, never more."""
        return f"{self.brand or self.kind} •••• {self.last4}"


@dataclass(frozen=True)
class CallbackStatusView:
    id: str
    reference: str
    case_id: str | None
    status: str
    window: CallWindow
    phone_mask: str


@dataclass(frozen=True)
class CaseView:
    case: CustomerCase
    items: tuple[ItemView, ...]
    callbacks: tuple[CallbackStatusView, ...]


@dataclass(frozen=True)
class CustomerOverview:
    cases: tuple[CaseView, ...]
    items_without_case: tuple[ItemView, ...]
    callbacks_without_case: tuple[CallbackStatusView, ...]


@dataclass(frozen=True)
class MessageOutcome:
    case_reference: str
    decision: Decision
    masked: int  # how many numbers screening masked in it


def _item(item: ItemOnFile) -> ItemView:
    return ItemView(item.case_id, item.kind, item.brand, item.last4, item.source)


def callback_view(record: CallbackRecord) -> CallbackStatusView:
    return CallbackStatusView(
        record.id,
        record.reference,
        record.case_id,
        record.status,
        CallWindow(record.window_start, record.window_end, record.time_zone),
        record.phone_mask,
    )


class SelfService:
    def __init__(
        self,
        *,
        lookups: LookupRepository,
        cases: CaseRepository,
        callbacks: CallbackRepository,
        screener: ScreenerSource,
        audit: AuditRecorder,
        clock: Clock,
    ) -> None:
        self._lookups = lookups
        self._cases = cases
        self._callbacks = callbacks
        self._screener = screener
        self._audit = audit
        self._clock = clock

    async def overview(self, session: CustomerSession) -> CustomerOverview:
        cases = await self._lookups.cases_of(session.customer_id)
        case_ids = [case.id for case in cases]
        items = [
            _item(i) for i in await self._lookups.items_on_file(session.customer_id, case_ids, now=self._clock.now())
        ]
        callbacks = [callback_view(r) for r in await self._callbacks.for_customer(session.customer_id, case_ids)]
        views = tuple(
            CaseView(
                case,
                tuple(item for item in items if item.case_id == case.id),
                tuple(callback for callback in callbacks if callback.case_id == case.id),
            )
            for case in cases
        )
        known = set(case_ids)
        return CustomerOverview(
            views,
            tuple(item for item in items if item.case_id not in known),
            tuple(callback for callback in callbacks if callback.case_id not in known),
        )

    async def case(self, session: CustomerSession, case_id: str) -> CustomerCase:
        """One of the customer's cases; ``NotFound`` for any other id (it may exist: that is never said)."""
        case = await self._lookups.case_of(session.customer_id, case_id)
        if case is None:
            raise NotFound("No such case.")
        return case

    async def add_message(
        self, session: CustomerSession, case_id: str, text: str, *, lang: str, origin_ip: str | None
    ) -> MessageOutcome:
        """Screen ``text`` and add it to the case. ``ValidationFailed`` on the ``message`` field when it is empty or
        too long (``message.required``, ``message.too_long``), refused by policy (``message.blocked``) or could not
        be screened (``message.held``: nothing was kept, the customer may try again)."""
        case = await self.case(session, case_id)
        if not text.strip():
            raise ValidationFailed([("message", "message.required")])
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValidationFailed([("message", "message.too_long")])
        screener = await self._screener()
        screened: Screened = await screener.screen(
            text,
            channel=SCREENING_CHANNEL,
            lang=lang,
            case_id=case.id,
            sender=session.customer_id,
            customer_id=session.customer_id,
        )
        if screened.decision is Decision.BLOCK:
            raise ValidationFailed([("message", "message.blocked")])
        if screened.decision is Decision.HOLD or not screened.delivered:
            raise ValidationFailed([("message", "message.held")])
        now = self._clock.now()
        masked = sum(screened.entities.values())
        async with self._cases.transaction() as conn:
            await self._cases.insert_message(
                conn,
                MessageRecord(
                    id=new_message_id(),
                    case_id=case.id,
                    direction="inbound",
                    sender_kind="customer",
                    sender_id=session.customer_id,
                    body=screened.text,
                    created_at=now,
                    meta={
                        "source": "lookup",
                        "entities": dict(screened.entities),
                        "tokens": [ref.token for ref in screened.secrets],
                    },
                ),
            )
            await self._cases.update_case(conn, case.id, now=now)
            await self._audit.record_in(
                conn,
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="case.customer_message",
                target=f"case:{case.id};customer:{session.customer_id}",
                origin_ip=origin_ip,
                channel="web",
                reason=f"decision={screened.decision.value}",
            )
        return MessageOutcome(case.reference, screened.decision, masked)
