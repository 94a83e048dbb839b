"""AES-256-GCM recipes: 256-bit keys, 96-bit nonces, 128-bit tags, and an unambiguous encoding of associated data.

Everything above this module calls ``seal``/``unseal``; only this module touches ``cryptography``'s AEAD. Any
failure to authenticate (wrong key, wrong AAD, a flipped bit, a truncated blob) is one ``DecryptionFailed``.
"""

from __future__ import annotations

import secrets
import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securedesk.errors import DecryptionFailed

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
#: Bytes ``seal`` adds to a plaintext: the nonce in front, the tag behind.
OVERHEAD: Final = NONCE_BYTES + TAG_BYTES


def new_key() -> bytes:
    """A fresh 256-bit key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def bind(*fields: str | bytes | int) -> bytes:
    """Associated data from named parts, each length-prefixed so that no two different lists encode alike.

    ``bind("a", "bc")`` and ``bind("ab", "c")`` differ, as do ``bind(1)`` and ``bind("1")``.
    """
    out = bytearray()
    for value in fields:
        if isinstance(value, int):
            tag, raw = b"i", struct.pack(">q", value)
        elif isinstance(value, str):
            tag, raw = b"s", value.encode("utf-8")
        else:
            tag, raw = b"b", bytes(value)
        out += tag + struct.pack(">I", len(raw)) + raw
    return bytes(out)


def encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Ciphertext followed by the 16-byte tag, for an explicit nonce (test vectors use this; callers use ``seal``)."""
    _check_key(key)
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"AES-GCM nonces are {NONCE_BYTES} bytes here, got {len(nonce)}.")
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    """The plaintext, or ``DecryptionFailed`` for any nonce, length, key or tag problem."""
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES or len(ciphertext_and_tag) < TAG_BYTES:
        raise DecryptionFailed()
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except InvalidTag as exc:
        raise DecryptionFailed() from exc


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce || ciphertext || tag`` with a fresh random 96-bit nonce."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + encrypt(key, nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open what ``seal`` produced; ``DecryptionFailed`` if it was altered, moved or is under another key."""
    if len(blob) < OVERHEAD:
        raise DecryptionFailed()
    return decrypt(key, blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"AES-256-GCM keys are {KEY_BYTES} bytes, got {len(key)}.")
