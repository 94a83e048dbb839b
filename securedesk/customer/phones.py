"""Phone numbers for call-backs: parsed and validated with ``phonenumbers`` (France, Sweden, the US, or any country
in international form), normalized to E.164, refused when a call would cost us extra (premium rate, shared cost:
toll pumping), and masked for display with only the last digits shown: ``+33 6 •• •• •5 78``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from securedesk.errors import ValidationFailed
from securedesk.sensitive import Sensitive

#: The country selector's values: a region for national numbers, or "INTL" for a number given with its "+" code.
PHONE_REGIONS: Final = ("FR", "SE", "US", "INTL")
MAX_PHONE_CHARS: Final = 40
#: Digits of the national number shown at the end of a mask (and the first one, which tells mobile from landline).
VISIBLE_TAIL: Final = 3
MASK_DIGIT: Final = "•"
_REFUSED_TYPES: Final = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UNKNOWN})


@dataclass(frozen=True)
class PhoneNumber:
    e164: Sensitive  # "+33612345678"
    region: str | None  # "FR"
    mask: str  # "+33 6 •• •• •6 78"

    def __repr__(self) -> str:
        return f"PhoneNumber(region={self.region!r}, mask={self.mask!r})"


def parse_phone(raw: str, region: str, *, field: str = "phone") -> PhoneNumber:
    """Validate and normalize; ``ValidationFailed`` with ``phone.required``, ``phone.invalid``, ``phone.region``
    (a national number without its country) or ``phone.premium`` (premium rate or shared cost)."""
    if len(raw) > MAX_PHONE_CHARS:
        raise ValidationFailed([(field, "phone.invalid")])
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValidationFailed([(field, "phone.required")])
    if region not in PHONE_REGIONS:
        raise ValidationFailed([("phone_region", "phone.region")])
    if text.startswith("00"):
        text = "+" + text[2:]
    if region == "INTL" and not text.startswith("+"):
        raise ValidationFailed([(field, "phone.region")])
    try:
        number = phonenumbers.parse(text, None if region == "INTL" else region)
    except NumberParseException as exc:
        raise ValidationFailed([(field, "phone.invalid")]) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed([(field, "phone.invalid")])
    if phonenumbers.number_type(number) in _REFUSED_TYPES:
        raise ValidationFailed([(field, "phone.premium")])
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneNumber(
        e164=Sensitive(e164), region=phonenumbers.region_code_for_number(number), mask=mask_phone(Sensitive(e164))
    )


def mask_phone(e164: Sensitive) -> str:
    """The international form with every digit of the national number hidden except its first and its last three:
    ``+33 6 12 34 56 78`` → ``+33 6 •• •• •6 78``, ``+1 201-555-0123`` → ``+1 2••-•••-•123``."""
    number = phonenumbers.parse(e164.reveal(), None)
    formatted = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{number.country_code}"
    if not formatted.startswith(prefix):  # never for a parsed number; mask everything rather than guess
        return prefix + " " + MASK_DIGIT * 4
    national = formatted[len(prefix) :]
    count = sum(ch.isdigit() for ch in national)
    seen = 0
    out: list[str] = []
    for ch in national:
        if ch.isdigit():
            keep = seen == 0 or seen >= count - VISIBLE_TAIL
            out.append(ch if keep else MASK_DIGIT)
            seen += 1
        else:
            out.append(ch)
    return prefix + "".join(out)


def display_phone(e164: Sensitive) -> str:
    """The full number in international form, for the agent who revealed it: ``+33 6 12 34 56 78``."""
    return phonenumbers.format_number(phonenumbers.parse(e164.reveal(), None), PhoneNumberFormat.INTERNATIONAL)
