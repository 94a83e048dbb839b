"""Allow-listed values are compared on the normalized value: separators, case and full-width digits do not matter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.policy import ENTITY_TYPES, Policy, load_policy, normalize_value

WritePolicy = Callable[..., Path]

ALLOW = """
[entities.CREDIT_CARD]
allow_values = ["4111 1111 1111 1111", "5555-5555-5555-4444"]

[entities.IBAN_CODE]
allow_values = ["SE45 5000 0000 0583 9825 7466"]

[entities.SE_PERSONNUMMER]
allow_values = ["19811218-9876"]

[entities.FR_NIR]
allow_values = ["1 84 12 75 108 045 28"]

[entities.US_SSN]
allow_values = ["078-05-1120"]
"""


@pytest.fixture
def policy(write_policy: WritePolicy, minimal: str) -> Policy:
    return load_policy(write_policy(minimal + ALLOW))


@pytest.mark.parametrize(
    ("entity", "value"),
    [
        ("CREDIT_CARD", "4111111111111111"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("CREDIT_CARD", "4111-1111-1111-1111"),
        ("CREDIT_CARD", "4111.1111.1111.1111"),
        ("CREDIT_CARD", "４１１１ １１１１ １１１１ １１１１"),  # full-width digits
        ("CREDIT_CARD", "5555555555554444"),
        ("IBAN_CODE", "SE4550000000058398257466"),
        ("IBAN_CODE", "se45 5000 0000 0583 9825 7466"),
        ("SE_PERSONNUMMER", "198112189876"),
        ("SE_PERSONNUMMER", "811218-9876"),
        ("SE_PERSONNUMMER", "8112189876"),
        ("FR_NIR", "184127510804528"),
        ("US_SSN", "078051120"),
    ],
)
def test_allowed(policy: Policy, entity: str, value: str) -> None:
    assert policy.is_allowed_value(entity, value)


@pytest.mark.parametrize(
    ("entity", "value"),
    [
        ("CREDIT_CARD", "4111111111111112"),
        ("CREDIT_CARD", "411111111111111"),
        ("CREDIT_CARD", "6011111111111117"),  # valid card, not listed
        ("US_SSN", "4111111111111111"),  # listed, but for another entity type
        ("IBAN_CODE", "4111111111111111"),
        ("IBAN_CODE", "GB82WEST12345698765432"),
        ("SE_PERSONNUMMER", "198112189875"),
        ("US_SSN", ""),
    ],
)
def test_not_allowed(policy: Policy, entity: str, value: str) -> None:
    assert not policy.is_allowed_value(entity, value)


def test_nothing_is_allowed_without_an_allow_list(write_policy: WritePolicy, minimal: str) -> None:
    policy = load_policy(write_policy(minimal))
    assert not any(policy.is_allowed_value(entity, "4111111111111111") for entity in ENTITY_TYPES)


def test_allow_values_are_stored_normalized_and_deduplicated(write_policy: WritePolicy, minimal: str) -> None:
    extra = (
        '\n[entities.CREDIT_CARD]\nallow_values = ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"]\n'
    )
    policy = load_policy(write_policy(minimal + extra))
    assert policy.allow_values == {"CREDIT_CARD": frozenset({"4111111111111111"})}


def test_empty_allow_list_is_valid(write_policy: WritePolicy, minimal: str) -> None:
    policy = load_policy(write_policy(minimal + "\n[entities.IBAN_CODE]\nallow_values = []\n"))
    assert policy.allow_values == {"IBAN_CODE": frozenset()}
    assert not policy.is_allowed_value("IBAN_CODE", "SE4550000000058398257466")


@pytest.mark.parametrize(
    ("entity", "raw", "normalized"),
    [
        ("CREDIT_CARD", " 4111 1111\u00a01111-1111 ", "4111111111111111"),
        ("IBAN_CODE", "fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
        ("FR_NIR", "2 A", "2A"),
        ("SE_PERSONNUMMER", "19811218-9876", "8112189876"),
        ("SE_PERSONNUMMER", "811218+9876", "8112189876"),
        ("US_SSN", "078–05—1120", "078051120"),  # en and em dashes
        ("CREDIT_CARD", "٤١١١", ""),  # other scripts' digits are not ASCII: dropped, so never equal to a card
    ],
)
def test_normalize_value(entity: str, raw: str, normalized: str) -> None:
    assert normalize_value(entity, raw) == normalized
