"""``ConversationTokens``: the signed value of the customer's chat cookie, binding a browser to the conversation id
the server issued — ``<conversation id>.<expiry>.<key version>.<HMAC-SHA256>``.

The HMAC keys are derived from the vault's key-encrypting key versions with a label of their own
(``HMAC-SHA256(KEK_v, "securedesk/chat-conversation/v1")``), so a cookie cannot be forged without the KEK, nothing is
stored, and a key rotation keeps existing conversations: new tokens use the newest version, tokens of any version the
keyring still holds are accepted. Expiry is read on the injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from securedesk.clock import Clock
from securedesk.errors import ConfigError
from securedesk.vault import Keyring

_LABEL: Final = b"securedesk/chat-conversation/v1"
_CONVERSATION: Final = re.compile(r"case_[0-9a-f]{24}")
_MAX_TOKEN_CHARS: Final = 200


def new_conversation_id() -> str:
    """A conversation id; it becomes the id of the conversation's case (``case_`` and 96 random bits)."""
    return "case_" + secrets.token_hex(12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class ConversationTokens:
    """Issues and reads conversation tokens; ``keys`` maps a key version to its HMAC key (``from_keyring``)."""

    def __init__(self, keys: Mapping[int, bytes], *, clock: Clock, lifetime_seconds: int) -> None:
        if not keys:
            raise ConfigError("Conversation tokens need at least one key.")
        if lifetime_seconds < 60:
            raise ConfigError("chat_conversation_seconds must be at least 60.")
        self._keys = MappingProxyType(dict(keys))
        self._current = max(keys)
        self._clock = clock
        self._lifetime = lifetime_seconds

    @classmethod
    def from_keyring(cls, keyring: Keyring, *, clock: Clock, lifetime_seconds: int) -> ConversationTokens:
        keys = {v: hmac.new(keyring.key(v), _LABEL, hashlib.sha256).digest() for v in keyring.versions}
        return cls(keys, clock=clock, lifetime_seconds=lifetime_seconds)

    @property
    def lifetime_seconds(self) -> int:
        return self._lifetime

    def issue(self, conversation_id: str) -> str:
        if not _CONVERSATION.fullmatch(conversation_id):
            raise ConfigError("A conversation id looks like case_<24 hex digits>.")
        expires = int(self._clock.now()) + self._lifetime
        payload = f"{conversation_id}.{expires}.{self._current}"
        return f"{payload}.{self._mac(self._current, payload)}"

    def read(self, token: str | None) -> str | None:
        """The conversation id the token binds, or None when it is malformed, forged, expired, or signed with a key
        version the keyring no longer holds."""
        if not token or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 3:
            return None
        conversation_id, expires, version, mac = token.split(".")
        if not _CONVERSATION.fullmatch(conversation_id) or not expires.isdigit() or not version.isdigit():
            return None
        key_version = int(version)
        if key_version not in self._keys:
            return None
        expected = self._mac(key_version, f"{conversation_id}.{expires}.{version}")
        if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii", "replace")):
            return None
        if int(expires) <= self._clock.now():
            return None
        return conversation_id

    def _mac(self, version: int, payload: str) -> str:
        return _b64(hmac.new(self._keys[version], payload.encode("ascii"), hashlib.sha256).digest())

    def __repr__(self) -> str:
        return f"ConversationTokens(versions={sorted(self._keys)})"
