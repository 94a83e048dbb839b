"""``CustomerDesk``: the customer paths assembled from ``Settings`` and the shared parts (database, vault, audit log,
policy, Screener) — protected forms, verified lookup, self-service, call-backs and the nudge links."""

from __future__ import annotations

from dataclasses import dataclass

from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.customer.browser import BrowserBinding
from securedesk.customer.callback import CallbackLimits, CallbackService
from securedesk.customer.forms import FormService
from securedesk.customer.keys import CustomerKeys
from securedesk.customer.links import NudgeLinkBuilder
from securedesk.customer.lookup import LookupLimits, LookupService
from securedesk.customer.notifier import EmailNotifier, Notifier
from securedesk.customer.self_service import ScreenerSource, SelfService
from securedesk.identity import AuditRecorder
from securedesk.policy import PolicyHolder
from securedesk.storage.callbacks import SqliteCallbackRepository
from securedesk.storage.cases import SqliteCaseRepository
from securedesk.storage.customer_keys import SqliteCustomerKeyRepository
from securedesk.storage.database import Database
from securedesk.storage.forms import SqliteFormRepository
from securedesk.storage.lookup import SqliteLookupRepository
from securedesk.storage.outbox import SqliteOutboxRepository
from securedesk.throttling import RateLimit
from securedesk.vault import Vault


def lookup_limits(settings: Settings) -> LookupLimits:
    return LookupLimits(
        code_seconds=settings.lookup_code_seconds,
        max_attempts=settings.lookup_code_max_attempts,
        session_seconds=settings.lookup_session_seconds,
        per_identifier=RateLimit(
            "address or case reference", settings.lookup_codes_per_identifier, settings.lookup_window_seconds
        ),
        per_ip=RateLimit("client address", settings.lookup_codes_per_ip, settings.lookup_window_seconds),
    )


def callback_limits(settings: Settings) -> CallbackLimits:
    return CallbackLimits(
        per_session=RateLimit("browser session", settings.callbacks_per_session, settings.callback_window_seconds),
        per_number=RateLimit("phone number", settings.callbacks_per_number, settings.callback_number_window_seconds),
        per_ip=RateLimit("client address", settings.callbacks_per_ip, settings.callback_window_seconds),
        reveals_per_agent=RateLimit("agent", settings.callback_reveals_per_agent, 3_600),
        retention_days=settings.callback_retention_days,
    )


@dataclass(frozen=True)
class CustomerDesk:
    keys: CustomerKeys
    browser: BrowserBinding
    forms: FormService
    lookup: LookupService
    self_service: SelfService
    callbacks: CallbackService
    links: NudgeLinkBuilder

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        database: Database,
        vault: Vault,
        audit: AuditRecorder,
        policy: PolicyHolder,
        clock: Clock,
        screener: ScreenerSource,
        notifier: Notifier | None = None,
    ) -> CustomerDesk:
        """Load (or create) the customer key through the vault and build every part. ``notifier`` defaults to email
        through the outbox."""
        keys = await CustomerKeys.load(SqliteCustomerKeyRepository(database), vault, clock)
        cases = SqliteCaseRepository(database)
        lookups = SqliteLookupRepository(database)
        callbacks_repo = SqliteCallbackRepository(database)
        if notifier is None:
            notifier = EmailNotifier(settings, SqliteOutboxRepository(database), clock, cipher=vault)
        forms = FormService(
            forms=SqliteFormRepository(database),
            cases=cases,
            vault=vault,
            audit=audit,
            policy=policy,
            keys=keys,
            clock=clock,
            public_base_url=settings.public_base_url,
            default_ttl_seconds=settings.form_ttl_seconds,
        )
        callbacks = CallbackService(
            callbacks=callbacks_repo,
            cases=cases,
            cipher=vault,
            keys=keys,
            screener=screener,
            audit=audit,
            clock=clock,
            public_base_url=settings.public_base_url,
            limits=callback_limits(settings),
        )
        return cls(
            keys=keys,
            browser=BrowserBinding(keys),
            forms=forms,
            lookup=LookupService(
                lookups=lookups,
                notifier=notifier,
                audit=audit,
                keys=keys,
                clock=clock,
                limits=lookup_limits(settings),
            ),
            self_service=SelfService(
                lookups=lookups, cases=cases, callbacks=callbacks_repo, screener=screener, audit=audit, clock=clock
            ),
            callbacks=callbacks,
            links=NudgeLinkBuilder(forms, callbacks, settings.public_base_url),
        )
