"""The ``Vault``: seal a sensitive value under a token, open it only through an audit hook, find it by blind index,
encrypt other modules' sensitive columns, and shred what has expired.

Nonces, AAD layouts and key versions never reach callers: they see ``SecretRef`` (token, kind, brand, last four)
and ``Sensitive`` values.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.errors import AuditError, DecryptionFailed, InvalidInput, KeyUnavailable, NotFound, SecureDeskError
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.storage.secrets import (
    EncryptedColumn,
    IndexRootRecord,
    KeyVersionRecord,
    SecretRecord,
    SecretRepository,
    SqliteSecretRepository,
)
from securedesk.storage.store import ENCRYPTED_COLUMNS, Store
from securedesk.vault import aead, envelope
from securedesk.vault.keys import KeyProvider, Keyring, key_provider
from securedesk.vault.values import normalize

_log = logging.getLogger(__name__)

TOKEN_PREFIX: Final = "tok_"  # noqa: S105 - a prefix, not a password
TOKEN_PATTERN: Final = re.compile(r"tok_[a-z2-7]{26}")
SECONDS_PER_DAY: Final = 86_400
PURGE_BATCH: Final = 1_000
#: ``seal_many`` moves the encryption of this many values or more off the event loop.
_THREAD_THRESHOLD: Final = 128


def new_token() -> str:
    """``tok_`` and 128 bits from the CSPRNG, lower-case base32 without padding (26 characters)."""
    return TOKEN_PREFIX + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


@dataclass(frozen=True, slots=True)
class SecretRef:
    """What other records keep and agents see of a vaulted value: never more than the last four characters."""

    token: str
    kind: str
    brand: str | None
    last4: str
    expires_at: float | None = None

    @property
    def mask(self) -> str:
        """``VISA •••• 1111``, ``US_SSN •••• 6789``."""
        return f"{self.brand or self.kind} •••• {self.last4}"


@dataclass(frozen=True, slots=True)
class SealRequest:
    """One value for ``Vault.seal_many``; the fields mean what ``Vault.seal``'s arguments mean."""

    kind: str
    value: Sensitive
    source: str
    case_id: str | None = None
    customer_id: str | None = None
    retention_days: int | None = None


class AuditHook(Protocol):
    """Records that a value is being revealed; raises to refuse (then the value is not returned)."""

    async def __call__(self, *, token: str, kind: str, actor: str, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _KeyState:
    keyring: Keyring
    current: int
    retired: frozenset[int]


class Vault:
    """Build with ``await Vault.load(settings, store_or_db, clock)``; it raises ``KeyUnavailable`` without the KEK."""

    def __init__(
        self,
        *,
        provider: KeyProvider,
        repository: SecretRepository,
        clock: Clock,
        keys: _KeyState,
        indexer: envelope.BlindIndexer,
        encrypted_columns: tuple[EncryptedColumn, ...],
    ) -> None:
        self._provider = provider
        self._repository = repository
        self._clock = clock
        self._keys = keys
        self._indexer = indexer
        self.encrypted_columns = encrypted_columns

    @classmethod
    async def load(
        cls,
        settings: Settings,
        store: Store | Database,
        clock: Clock,
        *,
        provider: KeyProvider | None = None,
        encrypted_columns: tuple[EncryptedColumn, ...] = ENCRYPTED_COLUMNS,
    ) -> Vault:
        """Load the KEK, check it against the database, and unwrap (or create) the blind-index root.

        Raises ``KeyUnavailable`` when the KEK is missing, unreadable, too widely readable or corrupt, when a key
        file does not match the key this database recorded, or when a version still in use is gone.
        """
        repository = SqliteSecretRepository(store) if isinstance(store, Database) else store.secrets
        provider = provider if provider is not None else key_provider(settings)
        keys = await _reconcile(provider, repository, clock, encrypted_columns)
        root = await repository.index_root()
        if root is None:
            fresh = aead.new_key()
            root = await repository.create_index_root(
                IndexRootRecord(keys.current, envelope.wrap_index_root(keys.keyring, keys.current, fresh), clock.now())
            )
        try:
            root_key = envelope.unwrap_index_root(keys.keyring, root.kek_version, root.wrapped_key)
        except DecryptionFailed as exc:
            raise KeyUnavailable(
                f"The blind-index root does not open with KEK version {root.kek_version} from {keys.keyring.source}.",
                hint="the key and the database do not belong together; restore the matching pair",
            ) from exc
        return cls(
            provider=provider,
            repository=repository,
            clock=clock,
            keys=keys,
            indexer=envelope.BlindIndexer(root_key),
            encrypted_columns=encrypted_columns,
        )

    # --- what rotation and status need ------------------------------------------------------------------------

    @property
    def provider(self) -> KeyProvider:
        return self._provider

    @property
    def repository(self) -> SecretRepository:
        return self._repository

    @property
    def keyring(self) -> Keyring:
        return self._keys.keyring

    @property
    def current_version(self) -> int:
        """The KEK version new data keys are wrapped by: the newest one that is not retired."""
        return self._keys.current

    @property
    def clock(self) -> Clock:
        return self._clock

    async def refresh_keys(self) -> None:
        """Reload the keyring and the retired versions, e.g. after ``keys rotate`` ran in another process."""
        self._keys = await _reconcile(self._provider, self._repository, self._clock, self.encrypted_columns)

    def key_for(self, version: int) -> Keyring:
        """The keyring holding ``version``, re-read from the provider once if this process has not seen it yet."""
        keyring = self._keys.keyring
        if version not in keyring:
            reloaded = self._provider.load()
            if version in reloaded:
                keyring = reloaded
                self._keys = _KeyState(reloaded, self._keys.current, self._keys.retired)
        keyring.key(version)  # raises KeyUnavailable naming the version
        return keyring

    # --- secrets ----------------------------------------------------------------------------------------------

    async def seal(
        self,
        kind: str,
        value: Sensitive,
        *,
        case_id: str | None,
        customer_id: str | None = None,
        source: str,
        retention_days: int | None,
    ) -> SecretRef:
        """Encrypt ``value`` under a fresh data key and store it; returns its token and display data."""
        request = SealRequest(kind, value, source, case_id, customer_id, retention_days)
        return (await self.seal_many([request]))[0]

    async def seal_many(self, requests: Sequence[SealRequest]) -> list[SecretRef]:
        """Seal several values in one transaction (all or none), e.g. every finding of one message."""
        if not requests:
            return []
        for _attempt in range(2):
            version = self._keys.current
            if len(requests) >= _THREAD_THRESHOLD:
                records = await asyncio.to_thread(self._seal_records, requests, version)
            else:
                records = self._seal_records(requests, version)
            if await self._repository.insert(records):
                return [_ref(r) for r in records]
            # The version was retired (or rotated in) by another process since we loaded: catch up, retry once.
            await self.refresh_keys()
        raise KeyUnavailable(
            f"KEK version {self._keys.current} cannot be used for new secrets: the database does not accept it.",
            hint="check `securedesk keys status`; restart this process if keys were rotated meanwhile",
        )

    def _seal_records(self, requests: Sequence[SealRequest], version: int) -> list[SecretRecord]:
        now = self._clock.now()
        keyring = self.key_for(version)
        records: list[SecretRecord] = []
        for request in requests:
            normalized = normalize(request.kind, request.value)
            if not request.source.strip():
                raise InvalidInput("A secret needs a source (chat, email, form, …).")
            expires_at = None
            if request.retention_days is not None:
                if request.retention_days < 1:
                    raise InvalidInput("retention_days must be at least 1 (or None to keep until deleted).")
                expires_at = now + request.retention_days * SECONDS_PER_DAY
            token = new_token()
            canonical = normalized.canonical.reveal()
            sealed = envelope.seal_secret(
                keyring, version, canonical.encode("utf-8"), token=token, kind=request.kind, case_id=request.case_id
            )
            records.append(
                SecretRecord(
                    token=token,
                    kind=request.kind,
                    brand=normalized.brand,
                    last4=normalized.last4,
                    case_id=request.case_id,
                    customer_id=request.customer_id,
                    source=request.source,
                    kek_version=sealed.kek_version,
                    wrapped_key=sealed.wrapped_key,
                    ciphertext=sealed.ciphertext,
                    blind_index=self._indexer.index(request.kind, canonical),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return records

    async def open(
        self, token: str, *, actor: str, reason: str, audit: AuditHook, source: str | None = None
    ) -> Sensitive:
        """Decrypt a secret for ``actor``. ``audit`` is awaited before the value is returned; if it raises, the
        value is dropped and the error propagates. Unknown or expired tokens are ``NotFound``, and so is a token
        sealed from another ``source`` when one is given; a ciphertext that does not authenticate is
        ``DecryptionFailed``.
        """
        if audit is None or not callable(audit):
            raise AuditError("Opening a protected value requires an audit hook.", hint="pass audit=AuditLog hook")
        if not actor.strip():
            raise InvalidInput("Opening a protected value requires the actor's identity.")
        if not reason.strip():
            raise InvalidInput("Opening a protected value requires a reason.", hint="state why it is needed")
        record = await self._live_record(token)
        if source is not None and record.source != source:
            raise NotFound("No protected value with this token, or it has expired.")  # the same answer
        plaintext = self._decrypt(record)
        try:
            await audit(token=record.token, kind=record.kind, actor=actor, reason=reason)
        except SecureDeskError:
            raise
        except Exception as exc:
            raise AuditError("The reveal could not be recorded, so the value was not revealed.") from exc
        return plaintext

    async def find(
        self, kind: str, value: Sensitive, *, case_id: str | None = None, customer_id: str | None = None
    ) -> SecretRef | None:
        """The newest unexpired secret holding this value (matched by blind index, never decrypted), within the
        case and customer when given."""
        normalized = normalize(kind, value)
        blind = self._indexer.index(kind, normalized.canonical.reveal())
        record = await self._repository.find(
            kind, blind, case_id=case_id, customer_id=customer_id, now=self._clock.now()
        )
        return None if record is None else _ref(record)

    async def describe(self, token: str) -> SecretRef:
        """Display data of a live secret (no decryption, no audit): what a masked view shows."""
        return _ref(await self._live_record(token))

    async def delete(self, token: str) -> bool:
        """Delete a secret and its data key (crypto-shredding), then checkpoint so no copy stays in the WAL."""
        deleted = await self._repository.delete(token)
        if deleted:
            await self._repository.checkpoint()
        return deleted

    async def purge_expired(self, *, batch_size: int = PURGE_BATCH) -> int:
        """Delete every expired secret with its data key, in batches, then checkpoint. Returns how many."""
        total = 0
        now = self._clock.now()
        while True:
            deleted = await self._repository.delete_expired(now=now, limit=batch_size)
            total += deleted
            if deleted < batch_size:
                break
        await self._repository.checkpoint()
        return total

    async def _live_record(self, token: str) -> SecretRecord:
        record = await self._repository.get(token) if TOKEN_PATTERN.fullmatch(token) else None
        if record is None or (record.expires_at is not None and record.expires_at <= self._clock.now()):
            raise NotFound("No protected value with this token, or it has expired.")
        return record

    def _decrypt(self, record: SecretRecord) -> Sensitive:
        keyring = self.key_for(record.kek_version)
        try:
            plaintext = envelope.open_secret(
                keyring,
                token=record.token,
                kind=record.kind,
                case_id=record.case_id,
                kek_version=record.kek_version,
                wrapped_key=record.wrapped_key,
                ciphertext=record.ciphertext,
            )
        except DecryptionFailed:
            _log.warning("secret %s did not authenticate (KEK version %d)", record.token, record.kek_version)
            raise
        try:
            return Sensitive(plaintext.decode("utf-8"))
        except UnicodeDecodeError as exc:  # authenticated, so only a bug could cause this
            raise DecryptionFailed() from exc

    # --- columns of other modules -----------------------------------------------------------------------------

    def lookup_hash(self, purpose: str, value: str) -> str:
        """A keyed hash (hex HMAC-SHA256) to store instead of a bearer secret such as an API key and to look it up
        by: the database alone cannot test a guess against it. Stable across KEK rotations."""
        return self._indexer.lookup(purpose, value).hex()

    def encrypt_field(self, plaintext: bytes, *, table: str, row_id: str, column: str) -> bytes:
        """Encrypt a sensitive column value under a fresh data key wrapped by the current KEK; the AAD binds
        table, row id, column and (through the wrapping) the key version."""
        version = self._keys.current
        return envelope.seal_field(self.key_for(version), version, plaintext, table=table, row_id=row_id, column=column)

    def decrypt_field(self, blob: bytes, *, table: str, row_id: str, column: str) -> bytes:
        """Open ``encrypt_field``'s blob; ``DecryptionFailed`` if it was altered or belongs to another cell."""
        version = envelope.field_version(blob)
        return envelope.open_field(self.key_for(version), blob, table=table, row_id=row_id, column=column)

    def __repr__(self) -> str:
        return f"Vault(current_version={self._keys.current}, keyring={self._keys.keyring!r})"


def _ref(record: SecretRecord) -> SecretRef:
    return SecretRef(record.token, record.kind, record.brand, record.last4, record.expires_at)


async def _reconcile(
    provider: KeyProvider, repository: SecretRepository, clock: Clock, columns: tuple[EncryptedColumn, ...]
) -> _KeyState:
    """Load the keyring and hold it against what the database recorded: check values must match, versions the
    database still depends on must be present, new versions are recorded."""
    keyring = provider.load()
    stored = {r.version: r for r in await repository.key_versions()}
    for version in keyring.versions:
        check = keyring.check_value(version)
        record = stored.get(version)
        if record is None:
            record = await repository.add_key_version(KeyVersionRecord(version, check, clock.now(), None))
            stored[version] = record
        if not hmac.compare_digest(record.check_value, check):
            raise KeyUnavailable(
                f"KEK version {version} in {keyring.source} is not the key this database recorded as version "
                f"{version}.",
                hint="the key and the database belong to different installations; restore the matching pair",
            )
    for version, record in sorted(stored.items()):
        missing = record.retired_at is None and version not in keyring
        if missing and await kek_version_in_use(repository, version, columns):
            raise KeyUnavailable(
                f"The database still has data keys wrapped by KEK version {version}, which is missing from "
                f"{keyring.source}.",
                hint="restore that key version from backup; without it that data cannot be opened",
            )
    retired = frozenset(v for v, r in stored.items() if r.retired_at is not None)
    usable = [v for v in keyring.versions if v not in retired]
    if not usable:
        raise KeyUnavailable(
            f"Every KEK version in {keyring.source} is retired.", hint="add a new key version, then restart"
        )
    return _KeyState(keyring, max(usable), retired)


async def count_field_blobs(repository: SecretRepository, columns: tuple[EncryptedColumn, ...]) -> dict[int, int]:
    """How many field blobs each KEK version wraps, over every registered encrypted column."""
    counts: dict[int, int] = {}
    for column in columns:
        after = ""
        while True:
            rows = await repository.field_headers(
                column, after=after, limit=PURGE_BATCH, size=envelope.FIELD_HEADER_BYTES
            )
            for _row_id, header in rows:
                try:
                    version = envelope.header_version(header)
                except DecryptionFailed:
                    version = 0  # not a field blob: counted apart, so status shows it
                counts[version] = counts.get(version, 0) + 1
            if len(rows) < PURGE_BATCH:
                break
            after = rows[-1][0]
    return counts


async def kek_version_in_use(repository: SecretRepository, version: int, columns: tuple[EncryptedColumn, ...]) -> bool:
    """Whether any secret, the index root or a field blob still depends on KEK ``version``."""
    if await repository.uses_kek_version(version):
        return True
    return (await count_field_blobs(repository, columns)).get(version, 0) > 0
