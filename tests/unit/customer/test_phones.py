"""Call-back numbers: E.164 normalization for France, Sweden, the US and international numbers, refusals (invalid,
premium rate, national numbers without a country) and the display mask that keeps only the last digits."""

from __future__ import annotations

import pytest

from securedesk.customer.phones import display_phone, mask_phone, parse_phone
from securedesk.errors import ValidationFailed
from securedesk.sensitive import Sensitive


@pytest.mark.parametrize(
    ("raw", "region", "e164", "country", "mask"),
    [
        ("06 12 34 56 78", "FR", "+33612345678", "FR", "+33 6 •• •• •6 78"),
        ("0612345678", "FR", "+33612345678", "FR", "+33 6 •• •• •6 78"),
        ("+33 6 12 34 56 78", "INTL", "+33612345678", "FR", "+33 6 •• •• •6 78"),
        ("0033 6 12 34 56 78", "INTL", "+33612345678", "FR", "+33 6 •• •• •6 78"),
        ("01 42 68 53 00", "FR", "+33142685300", "FR", "+33 1 •• •• •3 00"),
        ("070-123 45 67", "SE", "+46701234567", "SE", "+46 7• ••• •5 67"),
        ("08-123 456 78", "SE", "+46812345678", "SE", "+46 8 ••• ••6 78"),
        ("(201) 555-0123", "US", "+12015550123", "US", "+1 2••-•••-•123"),
        ("+44 20 7946 0958", "INTL", "+442079460958", "GB", "+44 2• •••• •958"),
        ("+49 30 901820", "INTL", "+4930901820", "DE", "+49 3• •••820"),
        ("＋３３ ６ １２ ３４ ５６ ７８", "INTL", "+33612345678", "FR", "+33 6 •• •• •6 78"),  # full-width
    ],
)
def test_valid_numbers(raw: str, region: str, e164: str, country: str, mask: str) -> None:
    number = parse_phone(raw, region)
    assert (number.e164.reveal(), number.region, number.mask) == (e164, country, mask)
    assert e164 not in repr(number)
    assert mask_phone(Sensitive(e164)) == mask


@pytest.mark.parametrize(
    ("raw", "region", "errors"),
    [
        ("", "FR", [("phone", "phone.required")]),
        ("12", "FR", [("phone", "phone.invalid")]),
        ("06 12 34", "FR", [("phone", "phone.invalid")]),
        ("not a number", "SE", [("phone", "phone.invalid")]),
        ("0612345678", "INTL", [("phone", "phone.region")]),  # a national number without its country
        ("0612345678", "XX", [("phone_region", "phone.region")]),
        ("0899 123 456", "FR", [("phone", "phone.premium")]),  # French premium rate
        ("+1 900 555 0100", "INTL", [("phone", "phone.premium")]),  # US premium rate
        ("9" * 41, "FR", [("phone", "phone.invalid")]),
    ],
)
def test_refused_numbers(raw: str, region: str, errors: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_phone(raw, region)
    assert caught.value.errors == errors


def test_mask_never_shows_more_than_the_first_and_last_three_national_digits() -> None:
    for e164 in ("+33612345678", "+46701234567", "+12015550123", "+442079460958"):
        mask = mask_phone(Sensitive(e164))
        national_digits = [ch for ch in mask.split(" ", 1)[1] if ch.isdigit()]
        assert len(national_digits) == 4
        assert e164[-3:] == "".join(ch for ch in mask if ch.isdigit())[-3:]


def test_display_is_the_full_international_form() -> None:
    assert display_phone(Sensitive("+33612345678")) == "+33 6 12 34 56 78"
    assert display_phone(Sensitive("+12015550123")) == "+1 201-555-0123"
