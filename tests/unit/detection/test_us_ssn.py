"""US_SSN vectors: AAA-GG-SSSS and spaced forms found on their own, bare digits only with SSN context, and every
range the SSA never issues rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securedesk.detection.recognizers import is_issuable_ssn

SSN = "US_SSN"
Spans = Callable[..., list[tuple[str, int, int]]]


@pytest.mark.parametrize(
    ("digits", "issuable"),
    [
        ("123456789", True),
        ("078051120", False),  # the Woolworth wallet card number: never valid (python-stdnum)
        ("219099999", False),  # an SSA advertising number
        ("536221234", True),
        ("665123456", True),
        ("899991234", True),
        ("000123456", False),  # area 000
        ("666123456", False),  # area 666
        ("900123456", False),  # areas 900-999
        ("999123456", False),
        ("123006789", False),  # group 00
        ("123450000", False),  # serial 0000
        ("12345678", False),
        ("1234567890", False),
    ],
)
def test_ssa_rules(digits: str, issuable: bool) -> None:
    assert is_issuable_ssn(digits) is issuable


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("SSN 123-45-6789", "en", "123-45-6789"),
        ("My number is 123-45-6789.", "en", "123-45-6789"),
        ("It's 123 45 6789 I think", "en", "123 45 6789"),
        ("social security number: 536-22-1234", "en", "536-22-1234"),
        ("SSN 123-45 6789", "en", "123-45 6789"),  # separators mixed
        ("SSN 123\u201345\u20136789", "en", "123\u201345\u20136789"),  # en dashes
        ("ssn:123456789", "en", "123456789"),  # compact, next to its label
        ("SSN123456789", "en", "123456789"),
        ("SSN 123456789", "en", "123456789"),
        ("my social security is 123456789", "en", "123456789"),
        ("my social is 536221847", "en", "536221847"),  # "social" alone: how Americans say it
        ("soc sec 536 22 1847", "en", "536 22 1847"),
        ("SSN: 123.45.6789", "en", "123.45.6789"),
        ("123456789 is my SSN", "en", "123456789"),
        ("Mon SSN américain est 123456789", "fr", "123456789"),
        ("Numéro de social security : 123-45-6789", "fr", "123-45-6789"),
        ("Mitt amerikanska SSN är 123456789", "sv", "123456789"),
        ("Mitt nummer 123-45-6789", "sv", "123-45-6789"),
    ],
)
def test_ssn_found(spans: Spans, text: str, lang: str, value: str) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(SSN, start, start + len(value))]


@pytest.mark.parametrize(
    "text",
    [
        "SSN 000-12-3456",
        "SSN 666-12-3456",
        "SSN 900-12-3456",
        "SSN 987-65-4321",
        "SSN 123-00-6789",
        "SSN 123-45-0000",
        "invoice 123456789",  # bare nine digits without SSN context
        "Call (212) 555-0123 or 212-555-0123 or 212.555.0123",
        "ZIP 94105-1234",
        "SSN 123-45-67890",  # inside a longer run
        "SSN 0123-45-6789",
        "social security number 078-05-1120",  # never issued
        "order A123-45-6789",
        "time 123-45-6789e5",
    ],
)
def test_ssn_hard_negatives(spans: Spans, text: str) -> None:
    assert spans(text) == []


def test_bare_digits_are_a_weak_candidate_without_context(detector: object) -> None:
    from securedesk.detection import Detector

    assert isinstance(detector, Detector)
    assert detector.analyze("number 123456789", "en") == []
    [weak] = detector.analyze("number 123456789", "en", min_score=0.0)
    assert (weak.entity_type, weak.start, weak.end) == (SSN, 7, 16)
    assert weak.score < detector.score_threshold
