"""Server-side validation of the values customers type into protected forms, with the detection recognizers' own
checks: card issuer range, length and Luhn; SSA rules for US SSNs; the NIR key; the personnummer's date and Luhn
digit; the IBAN's country, structure and mod-97 check digits.

Errors are (field, code) pairs (``ValidationFailed``): the web layer shows the code's text in the customer's language
next to the field. No error, message or repr ever carries the value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from stdnum import luhn

from securedesk.detection.recognizers import (
    card_brand,
    is_card_number,
    is_issuable_ssn,
    is_valid_iban,
    is_valid_nir,
)
from securedesk.detection.recognizers.iban import iban_length
from securedesk.detection.recognizers.se_personnummer import is_plausible_birth_date
from securedesk.errors import ValidationFailed
from securedesk.sensitive import Sensitive

CREDIT_CARD: Final = "CREDIT_CARD"
US_SSN: Final = "US_SSN"
FR_NIR: Final = "FR_NIR"
SE_PERSONNUMMER: Final = "SE_PERSONNUMMER"
IBAN_CODE: Final = "IBAN_CODE"
#: The national identity numbers a form may ask for, by the value of its type selector.
NATIONAL_ID_TYPES: Final = {"us_ssn": US_SSN, "fr_nir": FR_NIR, "se_personnummer": SE_PERSONNUMMER}
#: Longest input accepted for any value (an IBAN of 34 characters in groups of four, with room for spaces).
MAX_INPUT_CHARS: Final = 64
#: Form fields for card verification codes: never read, never kept (PCI DSS 3.3.1.2).
CARD_VERIFICATION_FIELDS: Final = frozenset({"cvv", "cvc", "cvv2", "cvc2", "csc", "cid", "security_code"})

_SEPARATORS: Final = re.compile(r"[\s\-.\u2010\u2011\u2012\u2013\u2212/]+")
_NIR_SHAPE: Final = re.compile(r"[1-478][0-9]{2}(?:0[1-9]|1[0-2]|[2-9][0-9])(?:[0-9]{2}|2[AB])[0-9]{8}")
_PERSONNUMMER_SHAPE: Final = re.compile(r"(1[89]|20)?([0-9]{2})([0-9]{2})([0-9]{2})[-+]?([0-9]{4})")


@dataclass(frozen=True)
class ValidValue:
    """A value that passed its checks: its entity type and canonical form (what the vault keeps)."""

    entity_type: str
    value: Sensitive

    def __repr__(self) -> str:
        return f"ValidValue(entity_type={self.entity_type!r}, value=Sensitive('••••'))"


def _compact(raw: str, field: str) -> str:
    """NFKC (full-width digits become ASCII), separators removed; required and bounded."""
    if len(raw) > MAX_INPUT_CHARS:
        raise ValidationFailed([(field, "too_long")])
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValidationFailed([(field, "required")])
    return _SEPARATORS.sub("", text)


def validate_card(raw: str, *, field: str = "card_number") -> ValidValue:
    """A payment card number: 12–19 digits, a known issuer range for its length, a valid Luhn check digit."""
    digits = _compact(raw, field)
    if not (digits.isascii() and digits.isdigit()) or not 12 <= len(digits) <= 19:
        raise ValidationFailed([(field, "card.format")])
    if not luhn.is_valid(digits):
        raise ValidationFailed([(field, "card.checksum")])
    if card_brand(digits) is None or not is_card_number(digits):
        raise ValidationFailed([(field, "card.brand")])
    return ValidValue(CREDIT_CARD, Sensitive(digits))


def validate_us_ssn(raw: str, *, field: str = "national_id") -> ValidValue:
    digits = _compact(raw, field)
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        raise ValidationFailed([(field, "ssn.format")])
    if not is_issuable_ssn(digits):
        raise ValidationFailed([(field, "ssn.invalid")])
    return ValidValue(US_SSN, Sensitive(digits))


def validate_fr_nir(raw: str, *, field: str = "national_id") -> ValidValue:
    compact = _compact(raw, field).upper()
    if not compact.isascii() or _NIR_SHAPE.fullmatch(compact) is None:
        raise ValidationFailed([(field, "nir.format")])
    if not is_valid_nir(compact):
        raise ValidationFailed([(field, "nir.key")])
    return ValidValue(FR_NIR, Sensitive(compact))


def validate_se_personnummer(raw: str, *, field: str = "national_id") -> ValidValue:
    """10 or 12 digits (YYMMDD-NNNN, YYYYMMDD-NNNN, + for 100 years or older): a real date (day + 60 for a
    samordningsnummer) and a valid Luhn digit over the last ten. Kept as the ten-digit form."""
    text = _compact(raw, field)
    match = _PERSONNUMMER_SHAPE.fullmatch(text) if text.isascii() else None
    if match is None:
        raise ValidationFailed([(field, "pnr.format")])
    century, yy, mm, dd, serial = match.groups()
    if not is_plausible_birth_date(century, yy, mm, dd):
        raise ValidationFailed([(field, "pnr.date")])
    last_ten = yy + mm + dd + serial
    if not luhn.is_valid(last_ten):
        raise ValidationFailed([(field, "pnr.checksum")])
    return ValidValue(SE_PERSONNUMMER, Sensitive(last_ten))


def validate_iban(raw: str, *, field: str = "iban") -> ValidValue:
    compact = _compact(raw, field).upper()
    if (
        not compact.isascii()
        or not compact.isalnum()
        or len(compact) < 5
        or not (compact[:2].isalpha() and compact[2:4].isdigit())
    ):
        raise ValidationFailed([(field, "iban.format")])
    expected = iban_length(compact[:2])
    if expected is None:
        raise ValidationFailed([(field, "iban.country")])
    if len(compact) != expected:
        raise ValidationFailed([(field, "iban.length")])
    if not is_valid_iban(compact):
        raise ValidationFailed([(field, "iban.checksum")])
    return ValidValue(IBAN_CODE, Sensitive(compact))


def validate_national_id(id_type: str, raw: str, *, field: str = "national_id") -> ValidValue:
    """``id_type`` is the selector's value: ``us_ssn``, ``fr_nir`` or ``se_personnummer``."""
    if id_type not in NATIONAL_ID_TYPES:
        raise ValidationFailed([("id_type", "id_type.required")])
    validators = {"us_ssn": validate_us_ssn, "fr_nir": validate_fr_nir, "se_personnummer": validate_se_personnummer}
    return validators[id_type](raw, field=field)
