"""The server key of the customer paths: one random root, stored only as a vault field blob (so KEK rotation re-wraps
it), from which one HMAC key per purpose is derived: codes, identifiers, addresses, browsers, CSRF, phone numbers
and signed case links. Nothing keyed by it can be recomputed from the database alone."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from securedesk.clock import Clock
from securedesk.errors import KeyUnavailable
from securedesk.identity import FieldCipher
from securedesk.storage.customer_keys import CustomerKeyRepository

ROOT_PURPOSE: Final = "root"
_TABLE: Final = "customer_keys"
_COLUMN: Final = "key_blob"
_KEY_BYTES: Final = 32
_DERIVATION_PREFIX: Final = b"securedesk/customer/v1/"
#: What each derived key is for.
PURPOSES: Final = ("code", "identifier", "ip", "browser", "csrf", "phone", "case-link", "form-token", "session")


class CustomerKeys:
    """HMAC-SHA256 under one derived key per purpose; ``mac`` takes unambiguous, length-prefixed parts."""

    __slots__ = ("_keys",)

    def __init__(self, root: bytes) -> None:
        if len(root) != _KEY_BYTES:
            raise KeyUnavailable("The customer root key has the wrong length.", hint="restore the database backup")
        self._keys: Mapping[str, bytes] = MappingProxyType(
            {
                purpose: hmac.new(root, _DERIVATION_PREFIX + purpose.encode("ascii"), hashlib.sha256).digest()
                for purpose in PURPOSES
            }
        )

    @classmethod
    async def load(cls, repository: CustomerKeyRepository, cipher: FieldCipher, clock: Clock) -> CustomerKeys:
        """The stored root (created on first use), opened through the vault; ``DecryptionFailed`` if it was
        altered, ``KeyUnavailable`` if its KEK version is gone."""
        blob = await repository.get(ROOT_PURPOSE)
        if blob is None:
            fresh = cipher.encrypt_field(
                secrets.token_bytes(_KEY_BYTES), table=_TABLE, row_id=ROOT_PURPOSE, column=_COLUMN
            )
            blob = await repository.create(ROOT_PURPOSE, fresh, now=clock.now())
        return cls(cipher.decrypt_field(blob, table=_TABLE, row_id=ROOT_PURPOSE, column=_COLUMN))

    def mac(self, purpose: str, *parts: str | bytes) -> bytes:
        """HMAC-SHA256 of ``parts`` under the key of ``purpose``; each part is length-prefixed, so ("ab", "c") and
        ("a", "bc") never collide."""
        key = self._keys.get(purpose)
        if key is None:
            raise KeyUnavailable(f"There is no customer key for purpose {purpose!r}.")
        mac = hmac.new(key, digestmod=hashlib.sha256)
        for part in parts:
            data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
            mac.update(len(data).to_bytes(4, "big"))
            mac.update(data)
        return mac.digest()

    def __repr__(self) -> str:
        return "CustomerKeys(••••)"
