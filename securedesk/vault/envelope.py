"""Envelope formats: how a value is encrypted under its own data key, how that key is wrapped by a KEK version,
and what each AES-GCM associated data binds. Pure functions over a ``Keyring``; no storage here.

Binding (so a ciphertext moved anywhere else fails to open):

- secret value: AAD = (label, token, kind, case); its data key: AAD = (label, token, kind, case, KEK version).
- field blob: AAD = (label, table, row id, column); its data key: AAD = (label, table, row id, column, KEK version).
- blind-index root: AAD = (label, KEK version).

The KEK version is bound where the KEK is used, in the wrapping; the value's AAD binds the identity of the row. So
rotation re-wraps data keys without touching (or ever decrypting) the values, and a header edited to name another
version fails to unwrap.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from securedesk.errors import DecryptionFailed
from securedesk.vault import aead
from securedesk.vault.keys import Keyring
from securedesk.vault.values import KINDS

WRAPPED_KEY_BYTES: Final = aead.OVERHEAD + aead.KEY_BYTES

# AAD labels (domain separation), not secrets.
_SECRET_VALUE: Final = "securedesk/secret/v1"  # noqa: S105
_SECRET_KEY: Final = "securedesk/secret-key/v1"  # noqa: S105
_FIELD_VALUE: Final = "securedesk/field/v1"
_FIELD_KEY: Final = "securedesk/field-key/v1"
_INDEX_ROOT: Final = "securedesk/index-root/v1"
_INDEX_KEY_INFO: Final = b"securedesk/blind-index/v1/"
_LOOKUP_KEY_INFO: Final = b"securedesk/lookup/v1/"

FIELD_FORMAT: Final = 1
_FIELD_HEADER: Final = struct.Struct(">BI")  # format, KEK version
#: The part of a field blob that rotation rewrites: format, KEK version, wrapped data key. The rest never changes.
FIELD_HEADER_BYTES: Final = _FIELD_HEADER.size + WRAPPED_KEY_BYTES
_FIELD_MIN_BYTES: Final = FIELD_HEADER_BYTES + aead.OVERHEAD


def _optional(value: str | None) -> str | bytes:
    # ``bind`` tags strings and bytes differently, so an absent case never equals any case id.
    return b"" if value is None else value


# --- secrets -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedValue:
    kek_version: int
    wrapped_key: bytes
    ciphertext: bytes


def seal_secret(
    keyring: Keyring, kek_version: int, plaintext: bytes, *, token: str, kind: str, case_id: str | None
) -> SealedValue:
    data_key = aead.new_key()
    ciphertext = aead.seal(data_key, plaintext, aead.bind(_SECRET_VALUE, token, kind, _optional(case_id)))
    wrapped = aead.seal(
        keyring.key(kek_version), data_key, aead.bind(_SECRET_KEY, token, kind, _optional(case_id), kek_version)
    )
    return SealedValue(kek_version, wrapped, ciphertext)


def open_secret(
    keyring: Keyring,
    *,
    token: str,
    kind: str,
    case_id: str | None,
    kek_version: int,
    wrapped_key: bytes,
    ciphertext: bytes,
) -> bytes:
    data_key = _unwrap_secret_key(keyring, token, kind, case_id, kek_version, wrapped_key)
    return aead.unseal(data_key, ciphertext, aead.bind(_SECRET_VALUE, token, kind, _optional(case_id)))


def rewrap_secret_key(
    keyring: Keyring,
    *,
    token: str,
    kind: str,
    case_id: str | None,
    old_version: int,
    wrapped_key: bytes,
    new_version: int,
) -> bytes:
    data_key = _unwrap_secret_key(keyring, token, kind, case_id, old_version, wrapped_key)
    return aead.seal(
        keyring.key(new_version), data_key, aead.bind(_SECRET_KEY, token, kind, _optional(case_id), new_version)
    )


def _unwrap_secret_key(
    keyring: Keyring, token: str, kind: str, case_id: str | None, kek_version: int, wrapped_key: bytes
) -> bytes:
    aad = aead.bind(_SECRET_KEY, token, kind, _optional(case_id), kek_version)
    data_key = aead.unseal(keyring.key(kek_version), wrapped_key, aad)
    if len(data_key) != aead.KEY_BYTES:
        raise DecryptionFailed()
    return data_key


# --- blind-index root ------------------------------------------------------------------------------------------


def wrap_index_root(keyring: Keyring, kek_version: int, root: bytes) -> bytes:
    return aead.seal(keyring.key(kek_version), root, aead.bind(_INDEX_ROOT, kek_version))


def unwrap_index_root(keyring: Keyring, kek_version: int, wrapped: bytes) -> bytes:
    root = aead.unseal(keyring.key(kek_version), wrapped, aead.bind(_INDEX_ROOT, kek_version))
    if len(root) != aead.KEY_BYTES:
        raise DecryptionFailed()
    return root


class BlindIndexer:
    """Keyed blind indexes: HMAC-SHA256 over the normalized value, one HKDF-derived key per kind.

    The root is a random key stored wrapped by the KEK (and re-wrapped on rotation like any data key), so a
    rotation never changes an index and never needs a re-index. Never an unkeyed hash.
    """

    __slots__ = ("_keys", "_lookup_keys", "_root")

    def __init__(self, root: bytes) -> None:
        self._root = root
        self._lookup_keys: dict[str, bytes] = {}
        self._keys = {
            kind: HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_KEY_INFO + kind.encode("ascii")
            ).derive(root)
            for kind in sorted(KINDS)
        }

    def index(self, kind: str, canonical: str) -> bytes:
        return hmac.new(self._keys[kind], canonical.encode("utf-8"), hashlib.sha256).digest()

    def lookup(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 of ``value`` under a key derived for ``purpose`` (an API key's stored hash): keyed, and like
        the indexes unchanged by a KEK rotation."""
        key = self._lookup_keys.get(purpose)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_KEY_INFO + purpose.encode("ascii")
            ).derive(self._root)
            self._lookup_keys[purpose] = key
        return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "BlindIndexer(••••)"


# --- field blobs -----------------------------------------------------------------------------------------------


def seal_field(keyring: Keyring, kek_version: int, plaintext: bytes, *, table: str, row_id: str, column: str) -> bytes:
    """``format | KEK version | wrapped data key | nonce || ciphertext || tag`` for another table's column."""
    data_key = aead.new_key()
    wrapped = aead.seal(keyring.key(kek_version), data_key, aead.bind(_FIELD_KEY, table, row_id, column, kek_version))
    body = aead.seal(data_key, plaintext, aead.bind(_FIELD_VALUE, table, row_id, column))
    return _FIELD_HEADER.pack(FIELD_FORMAT, kek_version) + wrapped + body


def field_version(blob: bytes) -> int:
    """The KEK version a field blob's data key is wrapped by; ``DecryptionFailed`` if it is not a field blob."""
    if len(blob) < _FIELD_MIN_BYTES:
        raise DecryptionFailed()
    return header_version(blob[:FIELD_HEADER_BYTES])


def header_version(header: bytes) -> int:
    """The KEK version named by a field blob's header (its first ``FIELD_HEADER_BYTES`` bytes)."""
    if len(header) != FIELD_HEADER_BYTES:
        raise DecryptionFailed()
    form, version = _FIELD_HEADER.unpack_from(header)
    if form != FIELD_FORMAT or version < 1:
        raise DecryptionFailed()
    return int(version)


def open_field(keyring: Keyring, blob: bytes, *, table: str, row_id: str, column: str) -> bytes:
    version = field_version(blob)
    data_key = _unwrap_field_key(keyring, blob, version, table=table, row_id=row_id, column=column)
    body = blob[FIELD_HEADER_BYTES:]
    return aead.unseal(data_key, body, aead.bind(_FIELD_VALUE, table, row_id, column))


def rewrap_field_header(
    keyring: Keyring, header: bytes, new_version: int, *, table: str, row_id: str, column: str
) -> bytes:
    """The header of the same blob with its data key wrapped by ``new_version``; the body stays as it is."""
    version = header_version(header)
    data_key = _unwrap_field_key(keyring, header, version, table=table, row_id=row_id, column=column)
    wrapped = aead.seal(keyring.key(new_version), data_key, aead.bind(_FIELD_KEY, table, row_id, column, new_version))
    return _FIELD_HEADER.pack(FIELD_FORMAT, new_version) + wrapped


def _unwrap_field_key(keyring: Keyring, blob: bytes, version: int, *, table: str, row_id: str, column: str) -> bytes:
    wrapped = blob[_FIELD_HEADER.size : FIELD_HEADER_BYTES]
    data_key = aead.unseal(keyring.key(version), wrapped, aead.bind(_FIELD_KEY, table, row_id, column, version))
    if len(data_key) != aead.KEY_BYTES:
        raise DecryptionFailed()
    return data_key
