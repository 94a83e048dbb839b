"""Accept one inbound email: parse, screen through the Screener, rebuild, and commit case, outbox and auto-reply.

The order makes the SMTP 250 honest (RFC 5321 §6.1): the case row exists first (vaulted values reference it), then
the whole message is screened in one ``Screener.screen`` call, then the screened message, its case entry,
quarantined attachments, the outbox row and any auto-reply commit in ONE transaction (``synchronous=FULL``); only
then does ``accept`` return the 250 for the SMTP handler to send. A failure before that commit removes the case
again (with any value vaulted for it) and the sender gets a 4xx (or the 5xx of a permanent problem) and retries.
A message the Screener held (``Decision.HOLD``: detection, redaction, vault or audit failed) is such a failure:
nothing of it is kept and the sender gets ``451 4.3.0`` (fail closed). A Message-ID already queued is acknowledged
again without being queued twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final

import aiosqlite

from securedesk.channels.email.autoreply import ONE_HOUR, build_auto_reply, reply_blocker
from securedesk.channels.email.mime import MimeDocument, MimeLimits, RebuiltEmail, WithheldPart
from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.errors import DetectionError, MessageBlocked
from securedesk.identity.seams import FieldCipher
from securedesk.policy import AttachmentHandling, PolicyHolder
from securedesk.screening import Decision, Screened, Screener
from securedesk.storage.cases import LANGS, CaseRecord, CaseRepository, MessageRecord, new_case_id, new_message_id
from securedesk.storage.cases import new_reference as new_case_reference
from securedesk.storage.outbox import (
    OutboxEntry,
    OutboxRepository,
    QuarantinedAttachment,
    new_outbox_id,
    new_quarantine_id,
)

log = logging.getLogger(__name__)

CHANNEL: Final = "email"
_SUBJECT_MAX: Final = 300


@dataclass(frozen=True)
class InboundEmail:
    mail_from: str  # envelope sender; "" for the null sender
    rcpt_to: tuple[str, ...]  # envelope recipients, already checked against the served domains
    content: bytes  # the message as received (after SMTP dot-unstuffing)


@dataclass(frozen=True)
class IntakeOutcome:
    code: int
    text: str  # reply text after the code, e.g. "2.0.0 Queued as SD-7KQ2XM"
    decision: Decision | None = None
    case_reference: str | None = None
    duplicate: bool = False

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


class EmailIntake:
    def __init__(
        self,
        *,
        settings: Settings,
        screener: Screener,
        cases: CaseRepository,
        outbox: OutboxRepository,
        policy: PolicyHolder,
        clock: Clock,
        encryptor: FieldCipher | None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._screener = screener
        self._cases = cases
        self._outbox = outbox
        self._policy = policy
        self._clock = clock
        self._encryptor = encryptor
        self._on_queued = on_queued
        self._limits = MimeLimits(max_depth=settings.mime_max_depth, max_parts=settings.mime_max_parts)

    async def discard_unfinished(self) -> int:
        """Remove email cases that never got their message (a process killed between opening the case and the
        commit: that message got no 250, so its sender sends it again). Call before accepting mail."""
        async with self._cases.transaction() as conn:
            removed = await self._cases.delete_empty_cases(conn, channel=CHANNEL)
        if removed:
            log.warning("removed %d email case(s) left unfinished by an earlier process", removed)
        return removed

    async def accept(self, inbound: InboundEmail) -> IntakeOutcome:
        """Screen and durably queue ``inbound``; raise a ``SecureDeskError`` (mapped to its SMTP reply) otherwise."""
        policy = self._policy.current
        document = await asyncio.to_thread(
            MimeDocument.parse, inbound.content, limits=self._limits, attachments=policy.email.attachments
        )
        original_id = document.original_message_id
        if original_id is not None and await self._outbox.contains(original_id, "inbound"):
            log.info("duplicate Message-ID acknowledged without queueing it again")
            return IntakeOutcome(250, "2.0.0 Already queued", duplicate=True)
        if inbound.mail_from and await self._screener.carries_protected(inbound.mail_from):
            # A number in the sender's address ("cust.378282246310005@example.org") must not reach the database,
            # the relayed envelope, an auto-reply or a log: the message is taken without its envelope sender
            # (the From header is screened with the body).
            log.warning("the envelope sender carries a protected number: relayed without it, no auto-reply")
            inbound = dataclasses.replace(inbound, mail_from="")
        case, customer_id = await self._open_case(inbound.mail_from)
        try:
            parts = await self._screener.screen_many(
                document.segments,
                channel=CHANNEL,
                lang=None,
                case_id=case.id,
                sender=inbound.mail_from or None,
                customer_id=customer_id,
            )
            screened = parts.screened
            if screened.decision is Decision.HOLD:
                reason = screened.held_reason.value if screened.held_reason is not None else "unknown"
                raise DetectionError(f"The Screener held the message ({reason}); the sender is asked to retry.")
            quarantine = await self._encrypt_quarantined(document.withheld)
            rebuilt = await asyncio.to_thread(
                document.rebuild,
                list(parts.texts),
                entity_count=sum(screened.entities.values()),
                quarantine_refs={index: record.id for index, record in quarantine.items()},
                authserv_id=self._settings.smtp_hostname,
            )
            outcome = await self._commit(inbound, case, customer_id, screened, rebuilt, document, quarantine)
        except BaseException:
            await self._discard_case(case.id)
            raise
        if outcome.code == 250 and self._on_queued is not None:
            self._on_queued()
        if outcome.decision is Decision.BLOCK:
            raise MessageBlocked("Policy refused the message: it carries data that must not be sent by email.")
        return outcome

    async def _open_case(self, mail_from: str) -> tuple[CaseRecord, str | None]:
        now = self._clock.now()
        async with self._cases.transaction() as conn:
            customer_id = await self._cases.ensure_customer(conn, email=mail_from, now=now) if mail_from else None
            case = await self._cases.insert_case(
                conn,
                CaseRecord(
                    id=new_case_id(),
                    reference=new_case_reference(),
                    channel=CHANNEL,
                    created_at=now,
                    updated_at=now,
                    customer_id=customer_id,
                ),
            )
        return case, customer_id

    async def _discard_case(self, case_id: str) -> None:
        try:
            async with self._cases.transaction() as conn:
                await self._cases.delete_case(conn, case_id)
        except Exception:
            log.exception("could not remove the unfinished case %s", case_id)

    async def _encrypt_quarantined(self, withheld: Sequence[WithheldPart]) -> dict[int, QuarantinedAttachment]:
        encryptor = self._encryptor
        if encryptor is None:
            return {}
        out: dict[int, QuarantinedAttachment] = {}
        now = self._clock.now()
        for index, part in enumerate(withheld):
            if part.handling is not AttachmentHandling.QUARANTINE:
                continue
            record_id = new_quarantine_id()
            blob = await asyncio.to_thread(
                encryptor.encrypt_field, part.payload, table="email_quarantine", row_id=record_id, column="content"
            )
            out[index] = QuarantinedAttachment(
                id=record_id,
                case_id=None,
                content_type=part.content_type,
                filename=None,
                size=part.size,
                content=blob,
                created_at=now,
            )
        return out

    async def _commit(
        self,
        inbound: InboundEmail,
        case: CaseRecord,
        customer_id: str | None,
        screened: Screened,
        rebuilt: RebuiltEmail,
        document: MimeDocument,
        quarantine: Mapping[int, QuarantinedAttachment],
    ) -> IntakeOutcome:
        decision = screened.decision
        now = self._clock.now()
        state = "delivered" if screened.delivered else "blocked"
        lang = screened.lang if screened.lang in LANGS else "en"
        body = rebuilt.body_text
        if rebuilt.notices:
            body = (body.rstrip("\n") + "\n\n" if body else "") + "\n".join(f"[{n}]" for n in rebuilt.notices)
        meta: dict[str, Any] = {
            "message_id": rebuilt.message_id,
            "decision": decision.value,
            "entities": {k: v for k, v in screened.entities.items() if v},
            "secrets": [{"token": s.token, "kind": s.kind, "last4": s.last4} for s in screened.secrets],
            "withheld": [
                {
                    "content_type": part.content_type,
                    "size": part.size,
                    "handling": part.handling.value if index in quarantine else "withhold",
                    "quarantine_id": quarantine[index].id if index in quarantine else None,
                }
                for index, part in enumerate(document.withheld)
            ],
            "dkim_removed": rebuilt.dkim_removed,
        }
        async with self._cases.transaction() as conn:
            await self._cases.update_case(conn, case.id, now=now, subject=rebuilt.subject[:_SUBJECT_MAX], lang=lang)
            await self._cases.insert_message(
                conn,
                MessageRecord(
                    id=new_message_id(),
                    case_id=case.id,
                    direction="inbound",
                    sender_kind="customer",
                    sender_id=customer_id,
                    body=body,
                    created_at=now,
                    state=state,
                    meta=meta,
                ),
            )
            for record in quarantine.values():
                await self._outbox.insert_quarantined(conn, dataclasses.replace(record, case_id=case.id))
            if state == "delivered":
                await self._outbox.enqueue(
                    conn,
                    OutboxEntry(
                        id=new_outbox_id(),
                        message_id=rebuilt.message_id,
                        kind="inbound",
                        case_id=case.id,
                        mail_from=inbound.mail_from,
                        rcpt_to=inbound.rcpt_to,
                        content=rebuilt.content,
                        state="pending",
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                    ),
                )
            if decision in (Decision.DELIVER_WITH_NUDGE, Decision.BLOCK):
                await self._queue_auto_reply(conn, inbound, case, screened, rebuilt, document.message, now)
        return IntakeOutcome(250, f"2.0.0 Queued as {case.reference}", decision, case.reference)

    async def _queue_auto_reply(
        self,
        conn: aiosqlite.Connection,
        inbound: InboundEmail,
        case: CaseRecord,
        screened: Screened,
        rebuilt: RebuiltEmail,
        headers: Message,
        now: float,
    ) -> None:
        if not self._policy.current.email.auto_reply:
            return
        blocker = reply_blocker(inbound.mail_from, headers)
        if blocker is not None:
            log.info("no auto-reply: %s", blocker)
            return
        key = inbound.mail_from.lower()
        if await self._outbox.count_autoreplies_since(key, now - ONE_HOUR) > 0:
            log.info("no auto-reply: one was sent to this sender within the hour")
            return
        reply = build_auto_reply(
            self._settings,
            to=inbound.mail_from,
            lang=screened.lang,
            nudge=screened.nudge,
            blocked=screened.decision is Decision.BLOCK,
            entities=screened.entities,
            case_reference=case.reference,
            in_reply_to=rebuilt.message_id,
            message_id=f"<sd.{secrets.token_hex(16)}@{self._settings.smtp_hostname}>",
            now=now,
        )
        await self._outbox.enqueue(
            conn,
            OutboxEntry(
                id=new_outbox_id(),
                message_id=reply.message_id,
                kind="autoreply",
                case_id=case.id,
                mail_from="",
                rcpt_to=(inbound.mail_from,),
                content=reply.content,
                state="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                reply_key=reply.reply_to,
            ),
        )
