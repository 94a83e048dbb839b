"""IBAN_CODE vectors: published example IBANs grouped, contiguous and lower-case, with trailing words cut off;
wrong check digits, wrong lengths and unknown countries rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securedesk.detection.recognizers import is_valid_iban

IBAN = "IBAN_CODE"
Spans = Callable[..., list[tuple[str, int, int]]]


@pytest.mark.parametrize(
    ("compact", "valid"),
    [
        ("GB82WEST12345698765432", True),
        ("FR7630006000011234567890189", True),
        ("SE4550000000058398257466", True),
        ("DE89370400440532013000", True),
        ("NL91ABNA0417164300", True),
        ("NO9386011117947", True),
        ("GB83WEST12345698765432", False),  # check digits
        ("GB82WEST1234569876543", False),  # one character short for GB
        ("XX82WEST12345698765432", False),  # no such country
    ],
)
def test_checksum_and_length(compact: str, valid: bool) -> None:
    assert is_valid_iban(compact) is valid


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("Please refund to IBAN GB82 WEST 1234 5698 7654 32 thanks", "en", "GB82 WEST 1234 5698 7654 32"),
        ("IBAN: GB82WEST12345698765432.", "en", "GB82WEST12345698765432"),
        ("iban gb82 west 1234 5698 7654 32", "en", "gb82 west 1234 5698 7654 32"),
        ("Mon RIB : FR76 3000 6000 0112 3456 7890 189 merci", "fr", "FR76 3000 6000 0112 3456 7890 189"),
        ("Virement sur FR7630006000011234567890189", "fr", "FR7630006000011234567890189"),
        ("Mitt konto SE45 5000 0000 0583 9825 7466 tack", "sv", "SE45 5000 0000 0583 9825 7466"),
        ("DE89 3704 0044 0532 0130 00", "en", "DE89 3704 0044 0532 0130 00"),
        ("NL91ABNA0417164300", "en", "NL91ABNA0417164300"),
        (
            "IBAN\u00a0: FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189",
            "fr",
            "FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189",
        ),
        ("FR76-3000-6000-0112-3456-7890-189 ok", "fr", "FR76-3000-6000-0112-3456-7890-189"),
        ("MT84 MALT 0110 0001 2345 MTLC AST0 01S", "en", "MT84 MALT 0110 0001 2345 MTLC AST0 01S"),
    ],
)
def test_iban_found(spans: Spans, text: str, lang: str, value: str) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(IBAN, start, start + len(value))]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN GB83 WEST 1234 5698 7654 32",
        "IBAN XX82 WEST 1234 5698 7654 32",
        "IBAN GB82 WEST 1234 5698 7654 3",
        "IBAN GB82WEST1234569876543299",
        "ref ABGB82WEST12345698765432",
    ],
)
def test_iban_hard_negatives(spans: Spans, text: str) -> None:
    assert spans(text) == []


def test_iban_digits_are_upper_case(detector: object) -> None:
    from securedesk.detection import Detector

    assert isinstance(detector, Detector)
    [finding] = detector.analyze("iban gb82 west 1234 5698 7654 32", "en")
    assert finding.digits.reveal() == "GB82WEST12345698765432"
    assert finding.last4 == "5432"
