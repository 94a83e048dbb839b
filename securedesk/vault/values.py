"""What a vaulted value is: its kind, its normalized form (what is encrypted and indexed), and the display data that
may be kept in clear beside it (card brand from the IIN, last four characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from securedesk.detection import card_brand as detected_card_brand
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


def card_brand(digits: str) -> str | None:
    """The card network of a digits-only card number as masks show it ("VISA", "MASTERCARD"), or ``None`` when no
    known issuer range matches its length: the detector's issuer table (``securedesk.detection.card_brand``), the
    one table of issuer ranges in SecureDesk."""
    brand = detected_card_brand(digits)
    return brand.upper() if brand is not None else None


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
        canonical = (
            _NOT_ASCII_ALNUM.sub("", raw).upper()
            if raw.isascii()
            else "".join(ch.upper() for ch in raw if ch.isascii() and ch.isalnum())
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
