"""What a vaulted value is: its kind, its normalized form (what is encrypted and indexed), and the display data that
may be kept in clear beside it (card brand from the IIN, last four characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from securedesk.errors import InvalidInput
from securedesk.sensitive import Sensitive

CREDIT_CARD: Final = "CREDIT_CARD"
US_SSN: Final = "US_SSN"
FR_NIR: Final = "FR_NIR"
SE_PERSONNUMMER: Final = "SE_PERSONNUMMER"
IBAN_CODE: Final = "IBAN_CODE"
KINDS: Final = frozenset({CREDIT_CARD, US_SSN, FR_NIR, SE_PERSONNUMMER, IBAN_CODE})
_NOT_ASCII_DIGIT: Final = re.compile(r"[^0-9]")
_NOT_ASCII_ALNUM: Final = re.compile(r"[^0-9A-Za-z]")

# Issuer identification number ranges, longest prefix wins (ISO/IEC 7812 registrations as published by the
# networks). 622126–622925 is UnionPay's range that Discover also accepts; the card is UnionPay's, so it says so.
_BRAND_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (4, 4, "VISA"),
    (51, 55, "MASTERCARD"),
    (2221, 2720, "MASTERCARD"),
    (34, 34, "AMEX"),
    (37, 37, "AMEX"),
    (6011, 6011, "DISCOVER"),
    (644, 649, "DISCOVER"),
    (65, 65, "DISCOVER"),
    (3528, 3589, "JCB"),
    (300, 305, "DINERS"),
    (3095, 3095, "DINERS"),
    (36, 36, "DINERS"),
    (38, 39, "DINERS"),
    (62, 62, "UNIONPAY"),
    (81, 81, "UNIONPAY"),
    (50, 50, "MAESTRO"),
    (56, 58, "MAESTRO"),
    (5018, 5018, "MAESTRO"),
    (5020, 5020, "MAESTRO"),
    (5038, 5038, "MAESTRO"),
    (5893, 5893, "MAESTRO"),
    (6304, 6304, "MAESTRO"),
    (6759, 6759, "MAESTRO"),
    (6761, 6763, "MAESTRO"),
)


# Every prefix spelled out ({"4": "VISA", "2221": "MASTERCARD", ...}), looked up widest first: longest prefix wins.
_PREFIXES: Final = {
    str(prefix): brand for low, high, brand in _BRAND_RANGES for prefix in range(low, high + 1)
}
_WIDTHS: Final = tuple(sorted({len(p) for p in _PREFIXES}, reverse=True))


def card_brand(digits: str) -> str | None:
    """The card network for a digits-only card number, or ``None`` when no known range matches."""
    for width in _WIDTHS:
        brand = _PREFIXES.get(digits[:width]) if len(digits) >= width else None
        if brand is not None:
            return brand
    return None


@dataclass(frozen=True)
class NormalizedValue:
    """A value in its canonical form, with what may be shown of it."""

    kind: str
    canonical: Sensitive
    brand: str | None
    last4: str


def normalize(kind: str, value: Sensitive) -> NormalizedValue:
    """Canonical form: ASCII digits only for cards, SSNs and personnummer; upper-case ASCII letters and digits for
    IBANs and French NIRs (Corsica's ``2A``/``2B``). Raises ``InvalidInput`` (never echoing the value) when the
    result cannot be a value of that kind.
    """
    if kind not in KINDS:
        raise InvalidInput(f"Unknown secret kind {kind!r}.", hint=f"use one of {', '.join(sorted(KINDS))}")
    raw = value.reveal()
    if kind in (CREDIT_CARD, US_SSN, SE_PERSONNUMMER):
        if raw.isascii():
            canonical = _NOT_ASCII_DIGIT.sub("", raw)
        else:
            # Full-width and other Unicode decimal digits count as the digit they stand for.
            canonical = "".join(str(unicodedata.decimal(ch)) for ch in raw if ch.isdecimal())
    else:
        canonical = _NOT_ASCII_ALNUM.sub("", raw).upper() if raw.isascii() else "".join(
            ch.upper() for ch in raw if ch.isascii() and ch.isalnum()
        )
    if kind == SE_PERSONNUMMER and len(canonical) == 12:
        # YYYYMMDDNNNN and YYMMDD-NNNN name the same person: index and store the ten-digit form.
        canonical = canonical[2:]
    _check_shape(kind, canonical)
    return NormalizedValue(
        kind=kind,
        canonical=Sensitive(canonical),
        brand=card_brand(canonical) if kind == CREDIT_CARD else None,
        last4=canonical[-4:],
    )


_LENGTHS: Final[dict[str, tuple[int, int]]] = {
    CREDIT_CARD: (12, 19),
    US_SSN: (9, 9),
    SE_PERSONNUMMER: (10, 10),
    FR_NIR: (15, 15),
    IBAN_CODE: (15, 34),
}


def _check_shape(kind: str, canonical: str) -> None:
    low, high = _LENGTHS[kind]
    if not low <= len(canonical) <= high:
        span = str(low) if low == high else f"{low}–{high}"
        raise InvalidInput(f"A {kind} value must have {span} significant characters; got {len(canonical)}.")
    if kind == IBAN_CODE and not (canonical[:2].isalpha() and canonical[2:4].isdigit()):
        raise InvalidInput("An IBAN_CODE value must start with a country code and two check digits.")
    if kind == FR_NIR and not (canonical[:5].isdigit() and canonical[7:].isdigit()):
        raise InvalidInput("A FR_NIR value must be digits, with 2A or 2B allowed for the department.")
