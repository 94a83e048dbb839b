"""``ApiKeys``: the machine identities of the screening API.

A key is ``sdk_<id>_<secret>`` (the id names the key in logs and the audit log; the secret is 256 random bits). It
is shown once, when created or rotated; the database keeps only its keyed hash (``Vault.lookup_hash``), so a copy
of the database gives no usable key and no way to test a guess. Each key has scopes (``screen``, ``detokenize``),
the channel name it speaks for (the forum, help desk or widget that calls), and a rate limit per minute, counted
in this process. Every change (create, rotate, revoke) is an audit event written before it takes effect; every
refused call is audited by the caller (``ApiKeys.refused``).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final

from securedesk.clock import Clock
from securedesk.errors import AuditError, AuthenticationFailed, Conflict, InvalidInput, NotFound
from securedesk.identity.accounts import Actor
from securedesk.identity.seams import AuditRecorder
from securedesk.sensitive import Sensitive
from securedesk.storage.api_keys import ApiKeyRecord, ApiKeyRepository, SqliteApiKeyRepository
from securedesk.storage.database import Database
from securedesk.throttling import RateLimit, SlidingWindow

SCOPE_SCREEN: Final = "screen"
SCOPE_DETOKENIZE: Final = "detokenize"
SCOPES: Final = (SCOPE_SCREEN, SCOPE_DETOKENIZE)
KEY_PREFIX: Final = "sdk_"
#: What ``Vault.lookup_hash`` derives the key-hash key for.
HASH_PURPOSE: Final = "api-key"
DEFAULT_RATE_PER_MINUTE: Final = 600
MAX_RATE_PER_MINUTE: Final = 100_000
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_CHANNEL: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_KEY: Final = re.compile(r"sdk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
#: A key's last use is written at most this often (a write per call would put the database on every request).
_TOUCH_SECONDS: Final = 60.0
AUDIT_ROLE: Final = "api"

KeyHasher = Callable[[str, str], str]


@dataclass(frozen=True)
class ApiPrincipal:
    """An authenticated caller of the API."""

    key_id: str
    name: str
    scopes: frozenset[str]
    channel: str
    rate_per_minute: int

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"api:{self.name}"


@dataclass(frozen=True)
class IssuedKey:
    """A key just created or rotated: ``key`` is shown to the operator once and never again."""

    record: ApiKeyRecord
    key: Sensitive


def parse_scopes(text: str) -> frozenset[str]:
    """``"screen,detokenize"`` → the scopes; ``InvalidInput`` naming an unknown one."""
    scopes = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise InvalidInput(f"Unknown scope {unknown[0]!r}.", hint=f"use any of {', '.join(SCOPES)}")
    if not scopes:
        raise InvalidInput("An API key needs at least one scope.", hint=f"use any of {', '.join(SCOPES)}")
    return scopes


class ApiKeys:
    def __init__(
        self,
        repository: ApiKeyRepository,
        *,
        hasher: KeyHasher,
        audit: AuditRecorder,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._hash: Callable[[str], str] = lambda key: hasher(HASH_PURPOSE, key)
        self._audit = audit
        self._clock = clock
        self._windows: dict[str, SlidingWindow] = {}
        self._touched: dict[str, float] = {}

    @classmethod
    def over(cls, database: Database, *, hasher: KeyHasher, audit: AuditRecorder, clock: Clock) -> ApiKeys:
        """The keys in ``database``, hashed with ``hasher`` (``Vault.lookup_hash``): what the server and the CLI use."""
        return cls(SqliteApiKeyRepository(database), hasher=hasher, audit=audit, clock=clock)

    # --- administration (CLI and admin pages) ---------------------------------------------------------------

    async def add(
        self,
        name: str,
        *,
        scopes: Collection[str],
        channel: str,
        actor: Actor,
        rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
    ) -> IssuedKey:
        """Create a key; ``Conflict`` when a live key has this name, ``InvalidInput`` for a bad name, scope,
        channel or rate."""
        if not _NAME.fullmatch(name):
            raise InvalidInput("An API key name is 2-64 lowercase letters, digits, '.', '_' or '-'.")
        if not _CHANNEL.fullmatch(channel):
            raise InvalidInput("A channel name is 1-32 lowercase letters, digits, '.', '_' or '-'.")
        wanted = parse_scopes(",".join(scopes))
        if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
            raise InvalidInput(f"The rate limit must be between 1 and {MAX_RATE_PER_MINUTE} requests per minute.")
        if await self._repository.live_by_name(name) is not None:
            raise Conflict(f"An API key named {name!r} exists already; revoke or rotate it.")
        issued = self._new(name, wanted, channel, rate_per_minute, actor)
        await self._record(actor, "api_key.create", issued.record, f"scopes {','.join(sorted(wanted))}")
        await self._repository.insert(issued.record)
        return issued

    async def list(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        return await self._repository.list(include_revoked=include_revoked)

    async def revoke(self, name: str, *, actor: Actor) -> ApiKeyRecord:
        record = await self._live(name)
        await self._record(actor, "api_key.revoke", record, "revoked")
        if not await self._repository.revoke(record.id, now=self._clock.now()):
            raise NotFound(f"There is no live API key named {name!r}.")
        self._windows.pop(record.id, None)
        return record

    async def rotate(self, name: str, *, actor: Actor) -> IssuedKey:
        """A new key with the same name, scopes, channel and rate; the old one stops working at once."""
        old = await self._live(name)
        issued = self._new(old.name, old.scopes, old.channel, old.rate_per_minute, actor)
        await self._record(actor, "api_key.rotate", issued.record, f"replaces {old.id}")
        if not await self._repository.replace(old.id, issued.record, now=self._clock.now()):
            raise NotFound(f"There is no live API key named {name!r}.")
        return issued

    # --- the API's door -------------------------------------------------------------------------------------

    async def authenticate(self, authorization: str | None) -> ApiPrincipal:
        """The caller of an ``Authorization: Bearer <key>`` header; ``AuthenticationFailed`` (one message for a
        missing, malformed, unknown or revoked key) otherwise."""
        key = _bearer(authorization)
        match = _KEY.fullmatch(key) if key else None
        record = await self._repository.by_hash(self._hash(key)) if match else None
        if record is None or not record.live or match is None or record.id != f"key_{match.group(1)}":
            raise AuthenticationFailed("The API key is missing, invalid or revoked.")
        now = self._clock.now()
        if now - self._touched.get(record.id, float("-inf")) >= _TOUCH_SECONDS:
            self._touched[record.id] = now
            await self._repository.touch(record.id, now=now)
        return ApiPrincipal(record.id, record.name, record.scopes, record.channel, record.rate_per_minute)

    def admit(self, principal: ApiPrincipal) -> None:
        """Count one call against the key's rate limit; ``RateLimited`` (with ``retry_after``) when over it."""
        window = self._windows.get(principal.key_id)
        if window is None:
            limit = RateLimit("API key", principal.rate_per_minute, 60.0)
            window = self._windows[principal.key_id] = SlidingWindow(limit, self._clock, max_keys=1)
        window.hit(principal.key_id)

    async def refused(
        self, *, action: str, why: str, principal: ApiPrincipal | None, origin_ip: str | None, target: str = ""
    ) -> None:
        """Audit a refused call (bad key, missing scope, rate limit, refused detokenize). A failed write is
        counted by the audit log; the refusal stands either way."""
        with contextlib.suppress(AuditError):
            await self._audit.record(
                actor=principal.actor if principal is not None else "api:unauthenticated",
                role=AUDIT_ROLE,
                action=action,
                target=target or (f"api_key:{principal.key_id}" if principal is not None else ""),
                outcome="denied",
                origin_ip=origin_ip,
                channel="api",
                reason=why,
            )

    # --- internals ------------------------------------------------------------------------------------------

    def _new(self, name: str, scopes: Collection[str], channel: str, rate_per_minute: int, actor: Actor) -> IssuedKey:
        key_id = secrets.token_hex(8)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKeyRecord(
            id=f"key_{key_id}", name=name, key_hash=self._hash(key), scopes=frozenset(scopes), channel=channel,
            rate_per_minute=rate_per_minute, created_at=self._clock.now(), created_by=actor.name,
        )  # fmt: skip
        return IssuedKey(record, Sensitive(key))

    async def _live(self, name: str) -> ApiKeyRecord:
        record = await self._repository.live_by_name(name)
        if record is None:
            raise NotFound(f"There is no live API key named {name!r}.")
        return record

    async def _record(self, actor: Actor, action: str, record: ApiKeyRecord, reason: str) -> None:
        await self._audit.record(
            actor=actor.name, role=actor.role, action=action, target=f"api_key:{record.id};name:{record.name}",
            origin_ip=actor.origin_ip, channel=actor.channel, reason=reason,
        )  # fmt: skip


def _bearer(authorization: str | None) -> str:
    if not authorization:
        return ""
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
