"""TOTP (RFC 6238) for staff: new secrets, their otpauth URI and QR code (SVG), and which time step a code matches.

pyotp is stateless: it says whether a code is valid, not which step it belongs to. ``matching_step`` returns the step,
and the caller accepts it only if it is later than the last accepted one, with a conditional UPDATE, so each step is
accepted once per user even when two submissions race.
"""

from __future__ import annotations

import hmac
import re
from typing import Final

import pyotp
import segno

from securedesk.sensitive import Sensitive

TOTP_STEP_SECONDS: Final = 30
TOTP_DIGITS: Final = 6
#: Steps accepted either side of the current one (clock drift and typing time).
TOTP_WINDOW: Final = 1
TOTP_ISSUER: Final = "SecureDesk"

_CODE: Final = re.compile(rf"[0-9]{{{TOTP_DIGITS}}}")


def new_totp_secret() -> Sensitive:
    """160 random bits (RFC 4226 §4 recommends 160), base32 as authenticator apps expect."""
    return Sensitive(pyotp.random_base32(32))


def _totp(secret: Sensitive) -> pyotp.TOTP:
    return pyotp.TOTP(secret.reveal(), digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS, issuer=TOTP_ISSUER)


def provisioning_uri(secret: Sensitive, *, account_name: str) -> Sensitive:
    """The ``otpauth://totp/...`` URI an authenticator app scans (it holds the secret: show it once, never log it)."""
    return Sensitive(_totp(secret).provisioning_uri(name=account_name, issuer_name=TOTP_ISSUER))


def qr_svg(uri: Sensitive) -> Sensitive:
    """The URI as a QR code in inline SVG, rendered here so that the secret never goes to a third-party service."""
    code = segno.make(uri.reveal(), error="m", micro=False)
    svg: str = code.svg_inline(scale=5, border=4, title="Scan with your authenticator app", svgclass="totp-qr")
    return Sensitive(svg)


def code_at(secret: Sensitive, now: float, *, offset: int = 0) -> Sensitive:
    """The code an authenticator shows at ``now`` (``offset`` steps away): for tests, benchmarks and diagnostics."""
    return Sensitive(_totp(secret).at(now, counter_offset=offset))


def matching_step(secret: Sensitive, code: Sensitive, now: float) -> int | None:
    """The time step within ±``TOTP_WINDOW`` of ``now`` whose code equals ``code``, or None.

    Every candidate is compared (constant time, no early exit), and the latest match wins.
    """
    submitted = code.reveal().replace(" ", "").strip()
    totp = _totp(secret)
    base = totp.timecode(now)
    found: int | None = None
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        expected = totp.at(now, counter_offset=offset)
        if hmac.compare_digest(expected.encode(), submitted.encode()) and _CODE.fullmatch(submitted):
            found = base + offset
    return found
