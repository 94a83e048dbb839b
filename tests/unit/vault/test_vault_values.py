"""Normalization, validation and display data (brand from IIN ranges, last four) of vaulted values."""

from __future__ import annotations

import pytest

from securedesk.errors import InvalidInput
from securedesk.sensitive import Sensitive
from securedesk.vault import card_brand, normalize


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "VISA"),
        ("4012888888881881", "VISA"),
        ("5555555555554444", "MASTERCARD"),
        ("5105105105105100", "MASTERCARD"),
        ("2223003122003222", "MASTERCARD"),
        ("2720999999999996", "MASTERCARD"),
        ("378282246310005", "AMEX"),
        ("371449635398431", "AMEX"),
        ("6011111111111117", "DISCOVER"),
        ("6445644564456445", "DISCOVER"),
        ("6510000000000000", "DISCOVER"),
        ("3530111333300000", "JCB"),
        ("3566002020360505", "JCB"),
        ("30569309025904", "DINERS"),
        ("36227206271667", "DINERS"),
        ("3095000000000000", "DINERS"),
        ("6200000000000005", "UNIONPAY"),
        ("6221260000000000", "UNIONPAY"),
        ("6759649826438453", "MAESTRO"),
        ("5018000000000000", "MAESTRO"),
        ("6304000000000000", "MAESTRO"),
        ("5600000000000000", "MAESTRO"),
        ("2220999999999999", None),
        ("2721000000000000", None),
        ("3527000000000000", None),
        ("9999999999999995", None),
    ],
)
def test_card_brand_from_iin_ranges(number: str, brand: str | None) -> None:
    assert card_brand(number) == brand


@pytest.mark.parametrize(
    ("kind", "raw", "canonical", "last4", "brand"),
    [
        ("CREDIT_CARD", "4111 1111 1111 1111", "4111111111111111", "1111", "VISA"),
        ("CREDIT_CARD", "5555-5555-5555-4444", "5555555555554444", "4444", "MASTERCARD"),
        ("CREDIT_CARD", "３７８２ ８２２４ ６３１０ ００５", "378282246310005", "0005", "AMEX"),
        ("US_SSN", "123-45-6789", "123456789", "6789", None),
        ("SE_PERSONNUMMER", "19811218-9876", "8112189876", "9876", None),
        ("SE_PERSONNUMMER", "811218-9876", "8112189876", "9876", None),
        ("FR_NIR", "2 84 12 2a 123 456 78", "284122A12345678", "5678", None),
        ("IBAN_CODE", "fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189", "0189", None),
    ],
)
def test_normalize(kind: str, raw: str, canonical: str, last4: str, brand: str | None) -> None:
    value = normalize(kind, Sensitive(raw))
    assert value.canonical.reveal() == canonical
    assert (value.last4, value.brand, value.kind) == (last4, brand, kind)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("CREDIT_CARD", "4111 1111", "A CREDIT_CARD value must have 12–19 significant characters; got 8."),
        ("US_SSN", "123-45-678", "A US_SSN value must have 9 significant characters; got 8."),
        ("IBAN_CODE", "7630006000011234567890189", "An IBAN_CODE value must start with a country code"),
        ("FR_NIR", "2841222123456ZZ", "A FR_NIR value must be digits"),
        ("PASSPORT", "X1234567", "Unknown secret kind 'PASSPORT'."),
    ],
)
def test_invalid_values_are_refused_without_echo(kind: str, raw: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize(kind, Sensitive(raw))
    assert str(info.value).startswith(message)
    assert raw not in str(info.value)
