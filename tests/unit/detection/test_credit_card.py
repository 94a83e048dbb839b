"""CREDIT_CARD vectors: published test PANs (and synthetic ones with valid Luhn digits) in every accepted format,
and the hard negatives the stock recognizer gets wrong."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stdnum import luhn

from securedesk.detection.recognizers import card_brand, is_card_number

CARD = "CREDIT_CARD"

# (number, brand): published test numbers, and synthetic ones whose Luhn digit was computed with python-stdnum.
BRAND_VECTORS = [
    ("4111111111111111", "visa"),
    ("4012888888881881", "visa"),
    ("4222222222222", "visa"),
    ("4917610000000000003", "visa"),
    ("5555555555554444", "mastercard"),
    ("5105105105105100", "mastercard"),
    ("2223003122003222", "mastercard"),
    ("2720990000000007", "mastercard"),
    ("378282246310005", "amex"),
    ("371449635398431", "amex"),
    ("30569309025904", "diners"),
    ("38520000023237", "diners"),
    ("36227206271667", "diners"),
    ("6011111111111117", "discover"),
    ("6011000990139424", "discover"),
    ("3530111333300000", "jcb"),
    ("3566002020360505", "jcb"),
    ("6200000000000005", "unionpay"),
    ("6205500000000000004", "unionpay"),
    ("6304000000000000", "maestro"),
    ("6759649826438453", "maestro"),
    ("501800000009", "maestro"),
    ("2200000000000004", "mir"),
]


@pytest.mark.parametrize(("number", "brand"), BRAND_VECTORS)
def test_brand_and_luhn(number: str, brand: str) -> None:
    assert luhn.is_valid(number)
    assert card_brand(number) == brand
    assert is_card_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # Luhn fails
        "1234567812345670",  # Luhn passes, no issuer starts with 1
        "9111111111111110",  # Luhn passes, no issuer starts with 9
        "41111111111111116",  # Visa has no 17-digit numbers
        "3782822463100050",  # Amex is 15 digits, not 16
        "2721000000000005",  # just above the Mastercard 2-series
        "41111111111",  # 11 digits
        "41111111111111111118",  # 20 digits
    ],
)
def test_not_card_numbers(number: str) -> None:
    assert not is_card_number(number)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("My card is 4111111111111111.", "4111111111111111"),
        ("My card is 4111 1111 1111 1111.", "4111 1111 1111 1111"),
        ("My card is 4111-1111-1111-1111.", "4111-1111-1111-1111"),
        ("My card is 4111.1111.1111.1111.", "4111.1111.1111.1111"),
        ("My card is 4111\u00a01111\u00a01111\u00a01111.", "4111\u00a01111\u00a01111\u00a01111"),
        ("My card is 4111\u20091111\u20091111\u20091111.", "4111\u20091111\u20091111\u20091111"),
        ("My card is 4111\u202f1111\u202f1111\u202f1111.", "4111\u202f1111\u202f1111\u202f1111"),
        ("My card is 4111\u20131111\u20131111\u20131111.", "4111\u20131111\u20131111\u20131111"),
        ("Amex 3782 822463 10005 please", "3782 822463 10005"),
        ("Amex 3714-496353-98431 please", "3714-496353-98431"),
        ("Diners 3056 930902 5904 please", "3056 930902 5904"),
        ("mastercard 2223 0031 2200 3222", "2223 0031 2200 3222"),
        ("UnionPay 6205 5000 0000 0000 004", "6205 5000 0000 0000 004"),
        ("visa 4917 6100 0000 0000 003", "4917 6100 0000 0000 003"),
        ("JCB: 3530111333300000", "3530111333300000"),
        ("Discover (6011-1111-1111-1117)", "6011-1111-1111-1117"),
        ("paid with 5555555555554444, thanks", "5555555555554444"),
        ("4111111111111111", "4111111111111111"),
        ("card:4111111111111111", "4111111111111111"),
        ('{"pan": "4111111111111111"}', "4111111111111111"),
        ("https://shop.example/pay?card=4111111111111111", "4111111111111111"),
        ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"),
        ("<td>4111 1111 1111 1111</td>", "4111 1111 1111 1111"),
        ("Card 4111 1111 1111 1111 12/29 737", "4111 1111 1111 1111"),
        ("Order 123 4111 1111 1111 1111 shipped", "4111 1111 1111 1111"),
    ],
)
def test_card_formats(spans: Callable[..., list[tuple[str, int, int]]], text: str, value: str) -> None:
    start = text.index(value)
    assert spans(text) == [(CARD, start, start + len(value))]


def test_two_cards_in_one_space_separated_run(spans: Callable[..., list[tuple[str, int, int]]]) -> None:
    text = "cards 4111 1111 1111 1111 5555 5555 5555 4444"
    assert spans(text) == [(CARD, 6, 25), (CARD, 26, 45)]


def test_two_dashed_cards_separated_by_a_space(spans: Callable[..., list[tuple[str, int, int]]]) -> None:
    text = "cards 4111-1111-1111-1111 5555-5555-5555-4444"
    assert spans(text) == [(CARD, 6, 25), (CARD, 26, 45)]


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("Visa card 4222222222222", "en", "4222222222222"),
        ("Diners card number 30569309025904", "en", "30569309025904"),
        ("Voici ma carte bancaire : 4222222222222", "fr", "4222222222222"),
        ("Numéro de carte 30569309025904 merci", "fr", "30569309025904"),
        ("Mitt kortnummer är 4222222222222", "sv", "4222222222222"),
        ("Kreditkortet 30569309025904 är spärrat", "sv", "30569309025904"),
        ("4222222222222 is my visa", "en", "4222222222222"),
        ("Use this one: 36197848167757", "en", "36197848167757"),
        ("kort 4000000000006", "sv", "4000000000006"),  # 13 digits that read as a 2096 timestamp: card context wins
    ],
)
def test_short_contiguous_numbers_with_card_context(
    spans: Callable[..., list[tuple[str, int, int]]], text: str, lang: str, value: str
) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(CARD, start, start + len(value))]


@pytest.mark.parametrize(
    "text",
    [
        "Reference 4222222222222 attached",  # 13 contiguous digits, no card context
        "event at 4000000000006 ms",  # a millisecond timestamp that is also a Luhn-valid Visa
        "ts=1714557600000",  # a real millisecond timestamp
        "Order 30569309025904 shipped",
    ],
)
def test_short_contiguous_numbers_introduced_as_references_or_timestamps_are_not_found(
    spans: Callable[..., list[tuple[str, int, int]]], text: str
) -> None:
    assert spans(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "card 4111111111111112",  # Luhn-invalid 16 digits
        "card 1234 5678 9012 3456",
        "id 41111111111111111111",  # inside a longer digit run
        "id 94111111111111111",
        "value 0.4111111111111111",  # a decimal
        "value 4.111111111111111",
        "value 2.4670000000000001E-2",  # scientific notation
        "value 4.111111111111111e+15",
        "value 4111111111111111e3",
        "see https://shop.example/orders/4111111111111111/items",  # URL path
        "see www.example.com/r/4111111111111111",
        "see shop.example.com/track/4111111111111111",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "uuid 41111111-1111-1111-1111-111111111111",
        "UPS 1Z999AA10123456784",
        "tracking 1Z 999 AA1 01 2345 678 4",
        "call +1 212-555-0123 or +33 6 12 34 56 78",
        "ring 070-123 45 67 eller +46 70 123 45 67",
        "appelez le 06 12 34 56 78 ou le 01 23 45 67 89",
        "Invoice INV-2024-4111111111111111",
        "ref_4111111111111111",  # joined to a reference word
        "IP 192.168.100.200 and version 4.1.1.1",
        "on 2024-05-01 10:30:15",
        "amount 4,111,111,111,111,111.00",
    ],
)
def test_hard_negatives(spans: Callable[..., list[tuple[str, int, int]]], text: str) -> None:
    assert spans(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("card 4111 1111-1111 1111", "4111 1111-1111 1111"),  # separators mixed inside one number
        ("card 4111-1111 1111-1111", "4111-1111 1111-1111"),
        ("card 4444 3333-2222 1111, thanks", "4444 3333-2222 1111"),
        ("card  4111  1111  1111  1111", "4111  1111  1111  1111"),  # doubled spaces
        ("x4111111111111111", "4111111111111111"),  # glued to a letter
        ("4111111111111111abc", "4111111111111111"),
        ("kort4111111111111111", "4111111111111111"),
        ("card 4111\n1111 1111 1111", "4111\n1111 1111 1111"),  # broken over lines
        ("card 4111 1111\r\n1111 1111", "4111 1111\r\n1111 1111"),
        ("> card 4111 1111\n> 1111 1111", "4111 1111\n> 1111 1111"),  # quoted reply lines
        ("card 4111<span>1111</span>1111 1111", "4111<span>1111</span>1111 1111"),  # markup between groups
        ("<td>4111</td><td>1111</td><td>1111</td><td>1111</td>", "4111</td><td>1111</td><td>1111</td><td>1111"),
        ("card 4111&nbsp;1111&#160;1111&nbsp;1111", "4111&nbsp;1111&#160;1111&nbsp;1111"),
        ("card 4111\x001111\x001111\x001111", "4111\x001111\x001111\x001111"),  # NUL between groups
        ("card 4111\t1111\t1111\t1111", "4111\t1111\t1111\t1111"),
        ("card 4111/1111/1111/1111", "4111/1111/1111/1111"),
        ("card 4111_1111_1111_1111", "4111_1111_1111_1111"),
        ("card 4111,1111,1111,1111", "4111,1111,1111,1111"),
        ("card 41\u030111 1111 1111 1111", "41\u030111 1111 1111 1111"),  # a combining accent
        ("mail cust.378282246310005@example.org", "378282246310005"),  # in an email address
        ("card 4111 1111 1111 111=\n1", "4111 1111 1111 111=\n1"),  # a quoted-printable soft break
    ],
)
def test_every_rendering_of_a_card(spans: Callable[..., list[tuple[str, int, int]]], text: str, value: str) -> None:
    start = text.index(value)
    assert spans(text) == [(CARD, start, start + len(value))]


def test_unicode_digits_and_zero_width_characters_map_to_original_offsets(
    spans: Callable[..., list[tuple[str, int, int]]],
) -> None:
    full_width = "card ４１１１ １１１１ １１１１ １１１１ ok"
    assert spans(full_width) == [(CARD, 5, 24)]
    zero_width = "card 4111\u200b1111\u200b1111\u200b1111 ok"
    assert spans(zero_width) == [(CARD, 5, 24)]
    arabic_indic = "carte ٤١١١١١١١١١١١١١١١"
    assert spans(arabic_indic, "fr") == [(CARD, 6, 22)]
    mixed = "\u200bMy card: 4\u200c1\u200d11 1111 1111 1111\ufeff."
    assert spans(mixed) == [(CARD, 10, 31)]


def test_finding_values(detector: object) -> None:
    from securedesk.detection import Detector

    assert isinstance(detector, Detector)
    [finding] = detector.analyze("card ４１１１\u200b1111 1111 1111", "en")
    assert finding.value.reveal() == "４１１１\u200b1111 1111 1111"
    assert finding.digits.reveal() == "4111111111111111"
    assert finding.last4 == "1111"
    assert "4111" not in repr(finding)


@pytest.mark.parametrize(
    ("text", "minimum", "maximum"),
    [
        ("4111 1111 1111 1111", 0.85, 1.0),  # grouped: found without context
        ("4111111111111111", 0.7, 0.8),  # contiguous, no context
        ("card 4111111111111111", 0.95, 1.0),  # context raises it
        ("4222222222222", 0.4, 0.5),  # 13 contiguous digits (EAN-13 looks alike): only with context
        ("order 4222222222222", 0.1, 0.2),  # … and an order word lowers it further
        ("4111 1111 1111 1111 737", 0.65, 0.75),  # part of a longer run: lower
        ("order 4111111111111111", 0.4, 0.5),  # an order word makes a contiguous one a reference
        ("order 4111 1111 1111 1111", 0.55, 0.65),  # … but one grouped like a card stays found
    ],
)
def test_scores(detector: object, text: str, minimum: float, maximum: float) -> None:
    from securedesk.detection import Detector

    assert isinstance(detector, Detector)
    [finding] = detector.analyze(text, "en", min_score=0.0)
    assert minimum <= finding.score <= maximum
