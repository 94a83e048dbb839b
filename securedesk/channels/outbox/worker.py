"""The relay worker: a background service that delivers due outbox entries through a ``Relay``, with backoff.

Each entry is tried when due; success marks it delivered, a permanent refusal marks it failed, a transient failure
schedules the next try by the ``RetrySchedule`` — or gives it up once its lifetime is over. Refusals and give-ups
are recorded as alert audit events for admins. State lives in the database only, so a restart resumes where the
last process stopped; an entry handed over but not yet marked delivered when the process died is sent again
(at-least-once, like every MTA: the Message-ID lets the help desk drop the duplicate). At most ``concurrency``
entries are being handed over at any moment, so each crash duplicates at most ``concurrency`` deliveries: over a
run, duplicates ≤ crashes × ``concurrency`` (``DEFAULT_CONCURRENCY`` = 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from securedesk.channels.outbox.relay import OutboundMessage, Relay
from securedesk.channels.outbox.retry import RetrySchedule
from securedesk.clock import Clock
from securedesk.errors import DeliveryError, DeliveryRefused, SecureDeskError
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.storage.outbox import SEALED_COLUMN, SEALED_TABLE, OutboxEntry, OutboxRepository

log = logging.getLogger(__name__)

ACTION_REFUSED: Final = "email.relay_refused"
ACTION_GAVE_UP: Final = "email.relay_gave_up"
#: Deliveries in flight at once; also the most deliveries one crash can duplicate.
DEFAULT_CONCURRENCY: Final = 4


class RelayWorker:
    """Deliver outbox entries; ``start``/``stop`` as a background service, ``run_once`` for one pass."""

    name = "email-relay"

    def __init__(
        self,
        *,
        outbox: OutboxRepository,
        relay: Relay,
        schedule: RetrySchedule,
        clock: Clock,
        audit: AuditRecorder | None,
        poll_seconds: float,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch_size: int = 50,
        cipher: FieldCipher | None = None,
    ) -> None:
        self._cipher = cipher  # opens sealed entries (content that carries a secret until it is sent)
        self._outbox = outbox
        self._relay = relay
        self._schedule = schedule
        self._clock = clock
        self._audit = audit
        self._poll_seconds = poll_seconds
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[str] = set()

    def wake(self) -> None:
        """Look for due entries now (called after a message was queued)."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive a bad pass (database busy, a bug in one entry)
                log.exception("relay pass failed; retrying after the poll interval")
            await self._sleep_until_due()

    async def _sleep_until_due(self) -> None:
        timeout = self._poll_seconds
        next_due = await self._outbox.next_due_at()
        if next_due is not None:
            timeout = max(0.0, min(timeout, next_due - self._clock.now()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def run_once(self) -> int:
        """Try every due entry once; return how many were delivered."""
        due = [
            e
            for e in await self._outbox.due(now=self._clock.now(), limit=self._batch_size)
            if e.id not in self._in_flight
        ]
        if not due:
            return 0
        limit = asyncio.Semaphore(self._concurrency)

        async def attempt(entry: OutboxEntry) -> bool:
            async with limit:
                return await self._attempt(entry)

        results = await asyncio.gather(*(attempt(entry) for entry in due))
        return sum(results)

    async def _attempt(self, entry: OutboxEntry) -> bool:
        self._in_flight.add(entry.id)
        try:
            try:
                content = self._content(entry)
                message = OutboundMessage(
                    message_id=entry.message_id,
                    mail_from=entry.mail_from,
                    rcpt_to=entry.rcpt_to,
                    content=content,
                    kind=entry.kind,
                    case_id=entry.case_id,
                )
                await self._relay.deliver(message)
            except DeliveryError as exc:
                await self._failed(entry, exc)
                return False
            await self._outbox.mark_delivered(entry.id, now=self._clock.now())
            log.info("relayed outbox entry %s via %s", entry.id, self._relay.name)
            return True
        finally:
            self._in_flight.discard(entry.id)

    def _content(self, entry: OutboxEntry) -> bytes:
        """The message to send: a sealed entry is opened only now, in memory."""
        if not entry.sealed:
            return entry.content
        if self._cipher is None:
            raise DeliveryRefused("A sealed outbox entry cannot be opened: this relay has no vault.")
        try:
            return self._cipher.decrypt_field(entry.content, table=SEALED_TABLE, row_id=entry.id, column=SEALED_COLUMN)
        except SecureDeskError as exc:
            # Its key version was retired (or the row altered): it can never be sent; the sender asks again.
            raise DeliveryRefused(f"The sealed outbox entry no longer opens ({type(exc).__name__}).") from None

    async def _failed(self, entry: OutboxEntry, error: DeliveryError) -> None:
        now = self._clock.now()
        reason = error.message
        if error.permanent:
            await self._outbox.mark_finished(entry.id, state="failed", now=now, error=reason)
            log.warning("outbox entry %s refused downstream: %s", entry.id, reason)
            await self._alert(ACTION_REFUSED, entry, reason)
            return
        if self._schedule.gives_up(queued_at=entry.created_at, now=now):
            await self._outbox.mark_finished(entry.id, state="gave_up", now=now, error=reason)
            log.error("outbox entry %s given up after %d attempts: %s", entry.id, entry.attempts + 1, reason)
            await self._alert(ACTION_GAVE_UP, entry, f"{reason}; {entry.attempts + 1} attempts")
            return
        delay = self._schedule.delay_after(entry.attempts + 1)
        await self._outbox.mark_retry(entry.id, now=now, next_attempt_at=now + delay, error=reason)
        log.info("outbox entry %s deferred %.1fs: %s", entry.id, delay, reason)

    async def _alert(self, action: str, entry: OutboxEntry, reason: str) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.record(
                actor="system:relay",
                role="system",
                action=action,
                target=entry.id,
                outcome="failure",
                channel="email",
                reason=reason,
            )
        except SecureDeskError:
            # The state change is already committed; the alert is also in the log above.
            log.exception("could not record the %s alert for outbox entry %s", action, entry.id)
