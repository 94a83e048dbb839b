"""The email channel assembled from settings: SMTP ingress, intake, outbox and relay worker, as background services.

``securedesk serve`` builds one ``EmailGateway`` with the real Screener, vault, audit log and policy holder and runs
it as one background service: ``start`` removes the cases an earlier process left unfinished (killed before its
commit), starts the relay worker (a restart resumes delivery before new mail arrives), then the SMTP listener;
``stop`` closes the listener first, then the worker. The relay is the webhook when ``webhook_url`` is set, else SMTP
to ``downstream_smtp_host``; with neither, mail is accepted and queued, and waits until one is configured.
"""

from __future__ import annotations

import logging
from typing import Protocol

from securedesk.channels.email.ingress import EmailIngressHandler, SmtpIngress
from securedesk.channels.email.intake import EmailIntake
from securedesk.channels.email.smtp_relay import SmtpRelay
from securedesk.channels.outbox.relay import Relay
from securedesk.channels.outbox.retry import RetrySchedule
from securedesk.channels.outbox.webhook import WebhookRelay
from securedesk.channels.outbox.worker import RelayWorker
from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.metrics import Metrics
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage.cases import SqliteCaseRepository
from securedesk.storage.database import Database
from securedesk.storage.outbox import SqliteOutboxRepository

log = logging.getLogger(__name__)


class _Service(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def relay_from_settings(settings: Settings, *, clock: Clock) -> Relay | None:
    if settings.webhook_url:
        return WebhookRelay(
            settings.webhook_url, settings.webhook_secret, clock=clock, timeout_seconds=settings.relay_timeout_seconds
        )
    if settings.downstream_smtp_host:
        return SmtpRelay(settings)
    log.warning("neither downstream_smtp_host nor webhook_url is set: email is queued but not relayed")
    return None


class EmailGateway:
    name = "email"

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        screener: Screener,
        policy: PolicyHolder,
        clock: Clock,
        encryptor: FieldCipher | None,
        audit: AuditRecorder | None,
        metrics: Metrics | None = None,
        relay: Relay | None = None,
    ) -> None:
        self.cases = SqliteCaseRepository(db)
        self.outbox = SqliteOutboxRepository(db)
        relay = relay if relay is not None else relay_from_settings(settings, clock=clock)
        self.relay_worker = (
            None
            if relay is None
            else RelayWorker(
                outbox=self.outbox,
                relay=relay,
                schedule=RetrySchedule.from_settings(settings),
                clock=clock,
                audit=audit,
                poll_seconds=settings.relay_poll_seconds,
                cipher=encryptor,
            )
        )
        self.intake = EmailIntake(
            settings=settings,
            screener=screener,
            cases=self.cases,
            outbox=self.outbox,
            policy=policy,
            clock=clock,
            encryptor=encryptor,
            on_queued=None if self.relay_worker is None else self.relay_worker.wake,
        )
        self.ingress = SmtpIngress(EmailIngressHandler(self.intake, settings), settings, metrics=metrics)

    @property
    def services(self) -> list[_Service]:
        """Its parts in start order."""
        out: list[_Service] = []
        if self.relay_worker is not None:
            out.append(self.relay_worker)
        out.append(self.ingress)
        return out

    async def start(self) -> None:
        await self.intake.discard_unfinished()  # before the listener opens: no message is being accepted yet
        started: list[_Service] = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
        except BaseException:
            for service in reversed(started):
                await service.stop()
            raise

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
