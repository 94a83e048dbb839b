"""FR_NIR vectors: valid keys (97 − n mod 97), Corsica 2A/2B, grouped and contiguous, and French phone numbers,
wrong keys and impossible months rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securedesk.detection.recognizers import is_valid_nir

NIR = "FR_NIR"
Spans = Callable[..., list[tuple[str, int, int]]]


@pytest.mark.parametrize(
    ("compact", "valid"),
    [
        ("295109912611193", True),
        ("184127510804528", True),
        ("253072A07300443", True),
        ("253072B07300470", True),
        ("185057800604830", True),
        ("295109912611199", False),  # wrong key
        ("253072C07300443", False),  # no department 2C
        ("29510991261119", False),
    ],
)
def test_key(compact: str, valid: bool) -> None:
    assert is_valid_nir(compact) is valid


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("Mon numéro de sécurité sociale est 1 84 12 75 108 045 28.", "fr", "1 84 12 75 108 045 28"),
        ("NIR : 2 95 10 99 126 111 93", "fr", "2 95 10 99 126 111 93"),
        ("né en Corse : 2 53 07 2A 073 004 43", "fr", "2 53 07 2A 073 004 43"),
        ("numéro 253072B07300470 merci", "fr", "253072B07300470"),
        ("numéro 2 53 07 2b 073 004 70", "fr", "2 53 07 2b 073 004 70"),
        ("carte vitale 184127510804528", "fr", "184127510804528"),
        ("sécu 1841275108045 28", "fr", "1841275108045 28"),
        ("NIR 1.84.12.75.108.045.28", "fr", "1.84.12.75.108.045.28"),
        ("NIR 1-84-12-75-108-045-28", "fr", "1-84-12-75-108-045-28"),
        ("My French social security number is 1 85 05 78 006 048 30", "en", "1 85 05 78 006 048 30"),
        ("Mitt franska personnummer: 1 85 05 78 006 048 30", "sv", "1 85 05 78 006 048 30"),
        ("185057800604830", "fr", "185057800604830"),
    ],
)
def test_nir_found(spans: Spans, text: str, lang: str, value: str) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(NIR, start, start + len(value))]


@pytest.mark.parametrize(
    "text",
    [
        "sécurité sociale 1 84 12 75 108 045 29",  # wrong key
        "sécurité sociale 1 84 13 75 108 045 28",  # month 13
        "sécurité sociale 5 84 12 75 108 045 28",  # no sex digit 5
        "sécurité sociale 91 84 12 75 108 045 28",  # inside a longer run
        "sécurité sociale 1841275108045289",
        "appelez le 06 12 34 56 78, le 01 23 45 67 89 ou le +33 6 12 34 56 78",
        "SIRET 732 829 320 00074",
        "facture FR-184127510804528",
    ],
)
def test_nir_hard_negatives(spans: Spans, text: str) -> None:
    assert spans(text, "fr") == []


def test_corsican_nir_digits_keep_the_department_letter(detector: object) -> None:
    from securedesk.detection import Detector

    assert isinstance(detector, Detector)
    [finding] = detector.analyze("NIR 2 53 07 2a 073 004 43", "fr")
    assert finding.digits.reveal() == "253072A07300443"
