"""``Services``: everything a running gateway shares, built in one place (``open_services``) from ``Settings``.

The web app, the SMTP ingress and the background workers all receive the same ``Services``: one database, one
vault, one detector shared by the screener and the audit log's reason screen, one audit log, one staff identity,
one policy holder, one metrics registry, and the background jobs whose state the admin and compliance pages show.

Hooks: ``shutdown_hooks`` run on SIGTERM/SIGINT after the listeners stop accepting (the chat registers one that
closes its WebSockets with 1001; the jobs here register theirs); ``reload_hooks`` run on SIGHUP (the policy reload
is registered here). ``metrics_authorizer`` decides who may read ``/metrics`` on the main app: the web app sets it
to "a logged-in admin"; while it is None nobody may (404).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from securedesk.audit import AuditLog, VerifyReport
from securedesk.audit.reasons import ReasonScreen
from securedesk.channels.api import ScreeningApi
from securedesk.channels.api.discourse import DiscourseConfig, DiscourseIntegration
from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.errors import AuditError, ConfigError, KeyUnavailable, PolicyError, StorageError
from securedesk.gateway.jobs import BackgroundJob
from securedesk.identity import Actor, Identity, PasswordHasher
from securedesk.identity.api_keys import ApiKeys
from securedesk.logging_setup import describe_exception
from securedesk.metrics import Metrics
from securedesk.policy import Policy, PolicyHolder, load_policy
from securedesk.screening import NudgeLinks, Screener
from securedesk.storage.audit_events import SqliteAuditEventStore
from securedesk.storage.database import Database
from securedesk.vault import RotationResult, Vault

logger = logging.getLogger("securedesk.services")

#: A readiness check returns when its part is usable and raises (any exception) when it is not.
ReadinessCheck = Callable[[], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
#: Decides, for a web request (the web layer passes its Starlette ``Request``), who may read ``/metrics``.
MetricsAuthorizer = Callable[[Any], Awaitable[bool]]

READINESS_TIMEOUT_SECONDS: Final = 3.0
#: Who loads the policy at start-up and on SIGHUP, in the audit log.
SYSTEM_ACTOR: Final = Actor(name="system", role="system", channel="system")
SIGHUP_ACTOR: Final = Actor(name="system:sighup", role="system", channel="signal")


class PolicyLoader:
    """The policy in force and how it changes: each load is a ``policy.load`` audit event written *before* the new
    policy takes effect (if it cannot be written, the old policy stays); an invalid file changes nothing and is
    recorded as a failed ``policy.load``. SIGHUP and the admin page's reload button take this same path."""

    def __init__(self, audit: AuditLog, clock: Clock, policy: Policy) -> None:
        self._audit = audit
        self._clock = clock
        self._actor = SYSTEM_ACTOR
        self._lock = asyncio.Lock()
        self.holder = PolicyHolder(policy, on_change=self._record_change)
        self.loaded_at = clock.now()
        self.loaded_by = SYSTEM_ACTOR.name

    @classmethod
    async def open(cls, settings: Settings, audit: AuditLog, clock: Clock) -> PolicyLoader:
        """Load ``settings.policy_path``; ``PolicyError`` (the server refuses to start) when it is invalid."""
        policy = await asyncio.to_thread(load_policy, settings.policy_path)
        await audit.record(
            actor=SYSTEM_ACTOR.name,
            role=SYSTEM_ACTOR.role,
            action="policy.load",
            target=_target(policy),
            channel=SYSTEM_ACTOR.channel,
            reason="loaded at start-up",
        )
        return cls(audit, clock, policy)

    @property
    def current(self) -> Policy:
        return self.holder.current

    async def reload(self, actor: Actor) -> Policy:
        """Re-read the policy file and put it in force; ``PolicyError`` (old policy kept) when it is invalid,
        ``AuditError`` (old policy kept) when the event cannot be written."""
        async with self._lock:
            self._actor = actor
            try:
                policy = await self.holder.reload()
            except PolicyError as exc:
                await self._audit.record(
                    actor=actor.name,
                    role=actor.role,
                    action="policy.load",
                    target=_target(self.current),
                    outcome="failure",
                    origin_ip=actor.origin_ip,
                    channel=actor.channel,
                    reason=f"reload refused, the policy in force is kept: {exc.message}",
                )
                raise
            finally:
                self._actor = SYSTEM_ACTOR
            self.loaded_at = self._clock.now()
            self.loaded_by = actor.name
            return policy

    async def _record_change(self, old: Policy, new: Policy) -> None:
        actor = self._actor
        await self._audit.record(
            actor=actor.name,
            role=actor.role,
            action="policy.load",
            target=f"{_target(new)};previous={old.digest}",
            origin_ip=actor.origin_ip,
            channel=actor.channel,
            reason="reloaded",
        )


def _target(policy: Policy) -> str:
    # Digests go in the target (not screened), never in the reason (screened: hex could look like digits).
    return f"policy:{policy.name};sha256={policy.digest}"


@dataclass
class Services:
    settings: Settings
    clock: Clock
    metrics: Metrics
    database: Database
    vault: Vault
    audit: AuditLog  # the fail-closed audit log; reasons pass ``reasons`` before they are stored
    reasons: ReasonScreen
    identity: Identity  # staff accounts, login, sessions, enrolment
    policy_loader: PolicyLoader  # the policy in force and its audited reloads
    screener: Screener  # the single door every message passes through (its detector also screens audit reasons)
    api: ScreeningApi  # the screening API for other channels, and its keys
    discourse: DiscourseIntegration | None  # the reference integration, when ``discourse_url`` is set
    chain_check: BackgroundJob[VerifyReport]  # the last verification of the audit chain (banner, periodic)
    key_rotation: BackgroundJob[RotationResult]  # a KEK rotation started from the admin page
    metrics_authorizer: MetricsAuthorizer | None = None
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    shutdown_hooks: list[Hook] = field(default_factory=list)
    reload_hooks: list[Hook] = field(default_factory=list)

    @property
    def policy(self) -> PolicyHolder:
        """The policy holder (``policy.current`` is the policy in force), for the channels."""
        return self.policy_loader.holder

    async def check_readiness(self) -> dict[str, bool]:
        """Run every readiness check (each bounded in time); True for each part that is usable."""
        names = list(self.readiness)
        outcomes = await asyncio.gather(*(self._run_check(name) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def _run_check(self, name: str) -> bool:
        try:
            await asyncio.wait_for(self.readiness[name](), READINESS_TIMEOUT_SECONDS)
        except Exception as exc:  # a failing check must never fail the probe itself
            logger.warning("readiness.failed", extra={"fields": {"check": name, "error": describe_exception(exc)}})
            return False
        return True

    async def run_hooks(self, hooks: list[Hook], *, kind: str) -> None:
        """Run ``hooks`` one after the other; one that fails is logged and does not stop the others."""
        for hook in list(hooks):
            try:
                await hook()
            except Exception as exc:
                logger.error("hook.failed", extra={"fields": {"kind": kind, "error": describe_exception(exc)}})

    async def verify_chain(self, *, started_by: str) -> None:
        """Start a verification of the whole audit chain in the background (no-op while one runs)."""
        self.chain_check.start(self.audit.verify, started_by=started_by)


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Clock, metrics: Metrics, hasher: PasswordHasher | None = None
) -> AsyncIterator[Services]:
    """Open and migrate the database, load the vault (the KEK, checked against the database), the detector, the audit
    log, the staff identity, the policy and the screener; close them on exit. ``hasher`` replaces the argon2id
    parameters (tests only).

    Raises ``KeyUnavailable`` when the KEK is missing or corrupt, ``StorageError`` when the database cannot be
    used and ``PolicyError`` when the policy file is invalid: the server refuses to start on each.
    """
    database = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(settings, database, clock)
        # One detector for the screener and the audit log's reason screen, built in a thread (importing presidio
        # takes a second or two).
        detector = await asyncio.to_thread(Detector.from_settings, settings)
        reasons = ReasonScreen(settings, detector=detector)
        audit = AuditLog.from_settings(settings, database, clock, reasons, on_failure=metrics.record_audit_failure)
        identity = Identity.build(settings, db=database, audit=audit, cipher=vault, clock=clock, hasher=hasher)
        policy_loader = await PolicyLoader.open(settings, audit, clock)
        screener = Screener.build(
            settings,
            vault=vault,
            audit=audit,
            policy_holder=policy_loader.holder,
            detector=detector,
            metrics=metrics,
            clock=clock,
        )
        api = ScreeningApi(
            screener=screener,
            keys=ApiKeys.over(database, hasher=vault.lookup_hash, audit=audit, clock=clock),
            vault=vault,
            audit=audit,
            links=NudgeLinks.for_base_url(settings.public_base_url),
        )
        services = Services(
            settings=settings,
            clock=clock,
            metrics=metrics,
            database=database,
            vault=vault,
            audit=audit,
            reasons=reasons,
            identity=identity,
            policy_loader=policy_loader,
            screener=screener,
            api=api,
            discourse=discourse_for(settings, api),
            chain_check=BackgroundJob("audit verification", clock),
            key_rotation=BackgroundJob("key rotation", clock),
        )
        services.readiness["database"] = _database_check(database)
        services.readiness["kek"] = _kek_check(vault)
        services.readiness["audit"] = _audit_check(services)
        services.reload_hooks.append(_policy_reload_hook(services))
        services.shutdown_hooks.append(services.key_rotation.cancel)
        services.shutdown_hooks.append(services.chain_check.cancel)
        try:
            yield services
        finally:
            # Jobs still running (no server shut them down, e.g. in tests) stop before the database closes.
            await services.key_rotation.cancel()
            await services.chain_check.cancel()
            screener.close()
    finally:
        await database.close()


def discourse_for(settings: Settings, api: ScreeningApi) -> DiscourseIntegration | None:
    """The Discourse integration when ``discourse_url`` is set; ``ConfigError`` when its key or secret is missing."""
    if not settings.discourse_url:
        return None
    if settings.discourse_api_key is None or settings.discourse_webhook_secret is None:
        raise ConfigError(
            "discourse_url is set but discourse_api_key or discourse_webhook_secret is missing.",
            hint="set SECUREDESK_DISCOURSE_API_KEY and SECUREDESK_DISCOURSE_WEBHOOK_SECRET, or unset the URL",
        )
    verify: ssl.SSLContext | bool = True
    if settings.discourse_ca_file is not None:
        verify = ssl.create_default_context(cafile=str(settings.discourse_ca_file))
    return DiscourseIntegration(api, DiscourseConfig(
        base_url=settings.discourse_url, api_username=settings.discourse_api_username,
        api_key=settings.discourse_api_key, webhook_secret=settings.discourse_webhook_secret, verify=verify,
    ))  # fmt: skip


def _policy_reload_hook(services: Services) -> Hook:
    async def reload_policy() -> None:
        try:
            policy = await services.policy_loader.reload(SIGHUP_ACTOR)
        except PolicyError as exc:
            # One line saying what is wrong; the policy in force is unchanged.
            logger.error("policy.reload_refused", extra={"fields": {"problem": exc.message}})
            return
        logger.info("policy.reloaded", extra={"fields": {"policy": policy.name, "sha256": policy.digest}})

    return reload_policy


class _ProbeRollback(Exception):
    """Raised inside the probe's write transaction so that it rolls back."""


def _database_check(database: Database) -> ReadinessCheck:
    async def write_probe() -> None:
        try:
            async with database.transaction():
                raise _ProbeRollback
        except _ProbeRollback:
            return

    async def check() -> None:
        if not await database.is_healthy():
            raise StorageError("The database does not answer.")
        # Readable is not enough: prove a write transaction can start (disk not read-only, not locked for good).
        # Shielded: a probe cancelled by the readiness timeout between BEGIN and ROLLBACK would leave the shared
        # connection inside a transaction; shielded, it always finishes (busy_timeout bounds it) and rolls back.
        await asyncio.shield(asyncio.ensure_future(write_probe()))

    return check


def _kek_check(vault: Vault) -> ReadinessCheck:
    async def check() -> None:
        # Read the provider again (a deleted, corrupted or replaced key file must show), compare check values.
        current = await asyncio.to_thread(vault.provider.load)
        for version in vault.keyring.versions:
            if version not in current or current.check_value(version) != vault.keyring.check_value(version):
                raise KeyUnavailable(f"KEK version {version} is no longer the key the server started with.")

    return check


def _audit_check(services: Services) -> ReadinessCheck:
    store = SqliteAuditEventStore(services.database)
    failures_seen = 0

    async def check() -> None:
        nonlocal failures_seen
        if not await store.guards_present():
            raise AuditError("The audit log's append-only guards are missing.")
        await store.head()
        # Writes that failed since the last probe: the log cannot be relied on right now.
        previous, failures_seen = failures_seen, services.audit.failures
        if failures_seen > previous:
            raise AuditError("Audit events failed to be written since the last readiness check.")

    return check
