"""TOTP: RFC 6238 vectors, the ±1 step window and its edges, code format."""

from __future__ import annotations

import base64

import pytest

from securedesk.identity.totp import TOTP_STEP_SECONDS, code_at, matching_step, new_totp_secret
from securedesk.sensitive import Sensitive

# RFC 6238 Appendix B (SHA-1 seed "12345678901234567890"); a 6-digit code is the 8-digit one mod 10^6.
RFC_SECRET = Sensitive(base64.b32encode(b"12345678901234567890").decode())
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("timestamp", "eight_digits"), RFC_VECTORS)
def test_rfc_6238_vectors(timestamp: int, eight_digits: str) -> None:
    assert code_at(RFC_SECRET, timestamp).reveal() == eight_digits[-6:]
    assert matching_step(RFC_SECRET, Sensitive(eight_digits[-6:]), timestamp) == timestamp // 30


@pytest.mark.parametrize(("offset", "expected"), [(-2, None), (-1, -1), (0, 0), (1, 1), (2, None)])
@pytest.mark.parametrize("within_step", [0, 1, 29])
def test_window_is_one_step_either_side(offset: int, expected: int | None, within_step: int) -> None:
    base_step = 60_000_000
    now = base_step * TOTP_STEP_SECONDS + within_step
    code = code_at(RFC_SECRET, base_step * TOTP_STEP_SECONDS, offset=offset)
    assert matching_step(RFC_SECRET, code, now) == (None if expected is None else base_step + expected)


def test_window_edge_at_the_step_boundary() -> None:
    step = 60_000_000
    code = code_at(RFC_SECRET, step * 30)  # the code of step s
    assert matching_step(RFC_SECRET, code, (step + 1) * 30 + 29) == step  # last second of s+1: still s-1 away
    assert matching_step(RFC_SECRET, code, (step + 2) * 30) is None  # first second of s+2: two steps away
    assert matching_step(RFC_SECRET, code, (step - 1) * 30) == step  # one step early
    assert matching_step(RFC_SECRET, code, (step - 1) * 30 - 1) is None


@pytest.mark.parametrize("submitted", ["", "12345", "1234567", "abcdef", "１２３４５６", "12345\n", "-12345"])
def test_malformed_codes_never_match(submitted: str) -> None:
    assert matching_step(RFC_SECRET, Sensitive(submitted), 1234567890) is None


def test_spaces_in_a_code_are_ignored() -> None:
    code = code_at(RFC_SECRET, 1234567890).reveal()
    assert matching_step(RFC_SECRET, Sensitive(f"{code[:3]} {code[3:]}"), 1234567890) == 1234567890 // 30


def test_new_secrets_are_160_bit_base32_and_distinct() -> None:
    secrets = {new_totp_secret().reveal() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(base64.b32decode(s)) == 20 for s in secrets)
