"""KEK rotation: add a version, re-wrap every data key to it in batches (each batch one transaction), report which
version wraps what, and retire a version once nothing depends on it.

Rotation keeps no progress marker: the work left is exactly "data keys wrapped by a version older than the newest",
which the database answers at any moment. So a rotation killed at any point (mid-batch, the open transaction rolls
back) resumes by running again, and nothing is lost or left unreadable. Values are never decrypted: only data keys
are unwrapped and wrapped again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from securedesk.errors import DecryptionFailed, KeyInUse, KeyUnavailable, NotFound, VaultError
from securedesk.storage.secrets import FieldHeaderChange, Rewrap
from securedesk.vault import envelope
from securedesk.vault.keys import Keyring
from securedesk.vault.vault import Vault, count_field_blobs


@dataclass(frozen=True, slots=True)
class KeyVersionStatus:
    version: int
    created_at: float
    retired_at: float | None
    current: bool
    in_keyring: bool
    secrets: int
    index_root: bool
    field_blobs: int

    @property
    def data_keys(self) -> int:
        """Everything this version wraps: secrets' data keys, field blobs' data keys and the index root."""
        return self.secrets + self.field_blobs + (1 if self.index_root else 0)

    @property
    def state(self) -> str:
        if self.retired_at is not None:
            return "retired"
        if self.current:
            return "current"
        return "active" if self.in_keyring else "missing"


@dataclass(frozen=True, slots=True)
class RotationProgress:
    target: int
    what: str  # "secrets", "index root", or "table.column"
    batch: int
    done: int


@dataclass(frozen=True, slots=True)
class RotationResult:
    target: int
    created: bool  # this run created the target version
    resumed: bool  # this run finished work an earlier run left
    secrets: int
    index_root: int
    field_blobs: int
    seconds: float

    @property
    def rewrapped(self) -> int:
        return self.secrets + self.index_root + self.field_blobs


class KeyRotation:
    """Rotation, status and retirement for one ``Vault``."""

    def __init__(
        self,
        vault: Vault,
        *,
        batch_size: int = 500,
        pause_seconds: float = 0.0,
        progress: Callable[[RotationProgress], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise VaultError("The rotation batch size must be at least 1.")
        self._vault = vault
        self._repository = vault.repository
        self._batch_size = batch_size
        self._pause = pause_seconds
        self._progress = progress

    async def status(self) -> list[KeyVersionStatus]:
        await self._vault.refresh_keys()
        counts = await self._repository.count_by_kek_version()
        root = await self._repository.index_root()
        fields = await count_field_blobs(self._repository, self._vault.encrypted_columns)
        keyring = self._vault.keyring
        return [
            KeyVersionStatus(
                version=r.version,
                created_at=r.created_at,
                retired_at=r.retired_at,
                current=r.version == self._vault.current_version,
                in_keyring=r.version in keyring,
                secrets=counts.get(r.version, 0),
                index_root=root is not None and root.kek_version == r.version,
                field_blobs=fields.get(r.version, 0),
            )
            for r in await self._repository.key_versions()
        ]

    async def pending(self) -> int:
        """Data keys wrapped by a version older than the current one: the work a rotation still has to do."""
        target = self._vault.current_version
        counts = await self._repository.count_by_kek_version()
        root = await self._repository.index_root()
        fields = await count_field_blobs(self._repository, self._vault.encrypted_columns)
        return (
            sum(n for v, n in counts.items() if v < target)
            + sum(n for v, n in fields.items() if v < target)
            + (1 if root is not None and root.kek_version < target else 0)
        )

    async def rotate(self, *, resume_only: bool = False) -> RotationResult:
        """Finish an interrupted rotation if there is one; otherwise (unless ``resume_only``) add a KEK version
        and re-wrap everything to it."""
        started = time.monotonic()
        await self._vault.refresh_keys()
        left = await self.pending()
        created = False
        if left == 0:
            if resume_only:
                return RotationResult(self._vault.current_version, False, False, 0, 0, 0, 0.0)
            new_version = self._vault.provider.add_version()
            await self._vault.refresh_keys()
            if self._vault.current_version != new_version:
                raise KeyUnavailable(
                    f"The new KEK version {new_version} is not the newest usable version after creation.",
                    hint="check `securedesk keys status` and the key directory",
                )
            created = True
        target = self._vault.current_version
        secrets_done = await self._rewrap_secrets(target)
        root_done = await self._rewrap_index_root(target)
        fields_done = await self._rewrap_fields(target)
        return RotationResult(
            target, created, not created, secrets_done, root_done, fields_done, time.monotonic() - started
        )

    async def retire(self, version: int) -> str:
        """Mark ``version`` retired and destroy its key material; ``KeyInUse`` while anything depends on it."""
        await self._vault.refresh_keys()
        known = {r.version: r for r in await self._repository.key_versions()}
        if version not in known:
            raise NotFound(f"KEK version {version} is not known to this database.", hint="see `securedesk keys status`")
        if version == self._vault.current_version:
            raise KeyInUse(f"KEK version {version} is the current version.", hint="run `securedesk keys rotate` first")
        fields = (await count_field_blobs(self._repository, self._vault.encrypted_columns)).get(version, 0)
        if fields or not await self._repository.retire_key_version(version, at=self._vault.clock.now()):
            counts = await self._repository.count_by_kek_version()
            root = await self._repository.index_root()
            used = counts.get(version, 0) + fields + (1 if root is not None and root.kek_version == version else 0)
            raise KeyInUse(
                f"KEK version {version} still wraps {used} data key(s).",
                hint="run `securedesk keys rotate --resume` to move them to the current version",
            )
        done = self._vault.provider.destroy_version(version)
        await self._vault.refresh_keys()
        return done

    # --- re-wrapping ------------------------------------------------------------------------------------------

    def _keyring_with(self, *versions: int) -> Keyring:
        for version in versions:
            self._vault.key_for(version)
        return self._vault.keyring

    async def _rewrap_secrets(self, target: int) -> int:
        done = 0
        while True:
            batch = await self._repository.wrapped_keys_below(target, limit=self._batch_size)
            if not batch:
                return done
            changes: list[Rewrap] = []
            for item in batch:
                keyring = self._keyring_with(item.kek_version, target)
                try:
                    wrapped = envelope.rewrap_secret_key(
                        keyring,
                        token=item.token,
                        kind=item.kind,
                        case_id=item.case_id,
                        old_version=item.kek_version,
                        wrapped_key=item.wrapped_key,
                        new_version=target,
                    )
                except DecryptionFailed as exc:
                    raise VaultError(
                        f"The data key of secret {item.token} does not unwrap with KEK version {item.kek_version}; "
                        "rotation stopped (everything re-wrapped so far is safe).",
                        hint="investigate that row (tampering or a restored mismatched key), then run rotate again",
                    ) from exc
                changes.append(Rewrap(item.token, item.kek_version, target, wrapped))
            done += await self._repository.rewrap(changes)
            await self._after_batch(target, "secrets", len(changes), done)

    async def _rewrap_index_root(self, target: int) -> int:
        root = await self._repository.index_root()
        if root is None or root.kek_version >= target:
            return 0
        keyring = self._keyring_with(root.kek_version, target)
        plain = envelope.unwrap_index_root(keyring, root.kek_version, root.wrapped_key)
        wrapped = envelope.wrap_index_root(keyring, target, plain)
        changed = await self._repository.rewrap_index_root(
            old_version=root.kek_version, new_version=target, wrapped_key=wrapped
        )
        await self._after_batch(target, "index root", 1, int(changed))
        return int(changed)

    async def _rewrap_fields(self, target: int) -> int:
        done = 0
        for column in self._vault.encrypted_columns:
            name = f"{column.table}.{column.column}"
            after = ""
            while True:
                rows = await self._repository.field_headers(
                    column, after=after, limit=self._batch_size, size=envelope.FIELD_HEADER_BYTES
                )
                changes: list[FieldHeaderChange] = []
                for row_id, header in rows:
                    try:
                        version = envelope.header_version(header)
                    except DecryptionFailed as exc:
                        raise VaultError(
                            f"The field value {name} of row {row_id} is not a vault field blob; rotation stopped "
                            "(everything re-wrapped so far is safe).",
                            hint="investigate that row, then run rotate again",
                        ) from exc
                    if version >= target:
                        continue
                    keyring = self._keyring_with(version, target)
                    try:
                        new_header = envelope.rewrap_field_header(
                            keyring, header, target, table=column.table, row_id=row_id, column=column.column
                        )
                    except DecryptionFailed as exc:
                        raise VaultError(
                            f"The field value {name} of row {row_id} does not unwrap with KEK version {version}; "
                            "rotation stopped (everything re-wrapped so far is safe).",
                            hint="investigate that row, then run rotate again",
                        ) from exc
                    changes.append(FieldHeaderChange(row_id, header, new_header))
                if changes:
                    done += await self._repository.replace_field_headers(column, changes)
                    await self._after_batch(target, name, len(changes), done)
                if len(rows) < self._batch_size:
                    break
                after = rows[-1][0]
        return done

    async def _after_batch(self, target: int, what: str, batch: int, done: int) -> None:
        if self._progress is not None:
            self._progress(RotationProgress(target, what, batch, done))
        if self._pause > 0:
            await asyncio.sleep(self._pause)
