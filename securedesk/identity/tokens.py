"""Bearer tokens for sessions and enrolment links: 256 random bits, handed out once, stored only as a SHA-256 hash.

A plain hash (no salt, no key) is enough: the token has 256 bits of entropy, so its hash cannot be reversed, and a
stolen database gives no usable session or link.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from securedesk.sensitive import Sensitive

TOKEN_BYTES: Final = 32


def new_token() -> Sensitive:
    return Sensitive(secrets.token_urlsafe(TOKEN_BYTES))


def token_hash(token: Sensitive | str) -> str:
    """The lookup key stored for ``token``; any string may be passed (malformed input simply matches nothing)."""
    value = token.reveal() if isinstance(token, Sensitive) else token
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
