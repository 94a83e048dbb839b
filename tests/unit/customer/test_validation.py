"""Server-side validation of protected-form values with the recognizers' checks; errors name a field and a code,
never the value."""

from __future__ import annotations

import pytest

from securedesk.customer.validation import (
    validate_card,
    validate_fr_nir,
    validate_iban,
    validate_national_id,
    validate_se_personnummer,
    validate_us_ssn,
)
from securedesk.errors import ValidationFailed

CARDS = [
    ("4111111111111111", "4111111111111111"),
    ("4111 1111 1111 1111", "4111111111111111"),
    ("4111-1111-1111-1111", "4111111111111111"),
    ("５５５５ ５５５５ ５５５５ ４４４４", "5555555555554444"),  # full-width digits
    ("3782 822463 10005", "378282246310005"),
    ("6011111111111117", "6011111111111117"),
    ("3530111333300000", "3530111333300000"),
    ("30569309025904", "30569309025904"),
    ("2223003122003222", "2223003122003222"),
]


@pytest.mark.parametrize(("raw", "canonical"), CARDS)
def test_valid_cards(raw: str, canonical: str) -> None:
    value = validate_card(raw)
    assert (value.entity_type, value.value.reveal()) == ("CREDIT_CARD", canonical)
    assert canonical not in repr(value)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("4111 1111 1111 1112", "card.checksum"),
        ("4111", "card.format"),
        ("41111111111111111111", "card.format"),  # 20 digits
        ("4111 1111 abcd 1111", "card.format"),
        ("1234567812345670", "card.brand"),  # Luhn-valid, no issuer starts with 1
        ("4" * 65, "too_long"),
    ],
)
def test_invalid_cards(raw: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_card(raw)
    assert caught.value.errors == [("card_number", code)]
    assert caught.value.http_status == 422
    if len(raw) > 8:
        assert raw.strip() not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("us_ssn", "536-22-1847", ("US_SSN", "536221847")),
        ("us_ssn", "536 22 1847", ("US_SSN", "536221847")),
        ("fr_nir", "1 84 12 75 108 045 28", ("FR_NIR", "184127510804528")),
        ("fr_nir", "184127510804528", ("FR_NIR", "184127510804528")),
        ("fr_nir", "2 69 05 2A 123 456 88", ("FR_NIR", "269052A12345688")),  # Corsica
        ("se_personnummer", "811218-9876", ("SE_PERSONNUMMER", "8112189876")),
        ("se_personnummer", "19811218-9876", ("SE_PERSONNUMMER", "8112189876")),
        ("se_personnummer", "198112189876", ("SE_PERSONNUMMER", "8112189876")),
        ("se_personnummer", "811278-9873", ("SE_PERSONNUMMER", "8112789873")),  # samordningsnummer (day + 60)
    ],
)
def test_valid_national_ids(kind: str, raw: str, expected: tuple[str, str]) -> None:
    value = validate_national_id(kind, raw)
    assert (value.entity_type, value.value.reveal()) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "errors"),
    [
        ("", "536-22-1847", [("id_type", "id_type.required")]),
        ("passport", "536-22-1847", [("id_type", "id_type.required")]),
        ("us_ssn", "536-22-184", [("national_id", "ssn.format")]),
        ("us_ssn", "666-22-1847", [("national_id", "ssn.invalid")]),
        ("us_ssn", "900-22-1847", [("national_id", "ssn.invalid")]),
        ("us_ssn", "536-00-1847", [("national_id", "ssn.invalid")]),
        ("us_ssn", "536-22-0000", [("national_id", "ssn.invalid")]),
        ("fr_nir", "1 84 12 75 108 045 29", [("national_id", "nir.key")]),
        ("fr_nir", "5 84 12 75 108 045 28", [("national_id", "nir.format")]),
        ("fr_nir", "1 84 12 75 108 045", [("national_id", "nir.format")]),
        ("se_personnummer", "811218-9875", [("national_id", "pnr.checksum")]),
        ("se_personnummer", "811318-9876", [("national_id", "pnr.date")]),
        ("se_personnummer", "000229-1234", [("national_id", "pnr.checksum")]),  # 2000 was a leap year
        ("se_personnummer", "19010229-1238", [("national_id", "pnr.date")]),  # 1901 was no leap year
        ("se_personnummer", "8112189876x", [("national_id", "pnr.format")]),
    ],
)
def test_invalid_national_ids(kind: str, raw: str, errors: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_national_id(kind, raw)
    assert caught.value.errors == errors


def test_each_national_validator_names_its_type() -> None:
    assert validate_us_ssn("536221847").entity_type == "US_SSN"
    assert validate_fr_nir("184127510804528").entity_type == "FR_NIR"
    assert validate_se_personnummer("8112189876").entity_type == "SE_PERSONNUMMER"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"),
        ("SE45 5000 0000 0583 9825 7466", "SE4550000000058398257466"),
        ("DE89370400440532013000", "DE89370400440532013000"),
    ],
)
def test_valid_ibans(raw: str, canonical: str) -> None:
    value = validate_iban(raw)
    assert (value.entity_type, value.value.reveal()) == ("IBAN_CODE", canonical)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("GB82 WEST 1234 5698 7654 33", "iban.checksum"),
        ("GB82 WEST 1234 5698 7654", "iban.length"),
        ("XX82 WEST 1234 5698 7654 32", "iban.country"),
        ("8282 WEST 1234", "iban.format"),
        ("GB82 WEST 1234 5698 7654 3!", "iban.format"),
        ("", "required"),
    ],
)
def test_invalid_ibans(raw: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_iban(raw)
    assert caught.value.errors == [("iban", code)]
