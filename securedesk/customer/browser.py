"""The customer's browser: an opaque random id the web layer keeps in a cookie, the keyed hash the server knows it by
(codes and sessions are bound to it), and the CSRF token derived from it.

The CSRF token is a MAC of the browser id, so it needs no storage, is the same on every page of one browser (two
answers that must not differ, e.g. for a known and an unknown address, are byte-identical), and cannot be forged
without the server key. A form without the browser cookie, or with another browser's token, is refused.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from typing import Final

from securedesk.customer.keys import CustomerKeys
from securedesk.errors import PermissionDenied
from securedesk.sensitive import Sensitive

#: ``__Host-``: Secure, path ``/``, no Domain — only this origin over HTTPS sets or reads it.
BROWSER_COOKIE: Final = "__Host-securedesk-browser"
BROWSER_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
CSRF_FIELD: Final = "csrf_token"
_CSRF_REFUSED: Final = "The form has expired or did not come from this site: reload the page and try again."


def new_browser_id() -> Sensitive:
    """256 random bits, URL-safe base64 without padding (43 characters)."""
    return Sensitive(secrets.token_urlsafe(32))


def valid_browser_id(value: str | None) -> bool:
    return value is not None and BROWSER_ID_PATTERN.fullmatch(value) is not None


class BrowserBinding:
    """What the server derives from a browser id: its key (stored beside codes, sessions, call-backs) and its CSRF
    token."""

    def __init__(self, keys: CustomerKeys) -> None:
        self._keys = keys

    def key(self, browser_id: Sensitive) -> bytes:
        return self._keys.mac("browser", browser_id.reveal())

    def csrf_token(self, browser_id: Sensitive) -> str:
        digest = self._keys.mac("csrf", browser_id.reveal())
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def check_csrf(self, browser_id: Sensitive | None, submitted: str | None) -> None:
        """Raise ``PermissionDenied`` unless ``submitted`` is this browser's token (constant-time comparison)."""
        if browser_id is None or not valid_browser_id(browser_id.reveal()):
            raise PermissionDenied(_CSRF_REFUSED)
        expected = self.csrf_token(browser_id).encode("ascii")
        if not hmac.compare_digest(expected, (submitted or "").encode("utf-8", "replace")):
            raise PermissionDenied(_CSRF_REFUSED)
