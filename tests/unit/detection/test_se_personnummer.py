"""SE_PERSONNUMMER vectors: 10 and 12 digits, "-" and "+", samordningsnummer (day + 60), real dates only, Luhn,
and Swedish phone and organisation numbers rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securedesk.detection.recognizers.se_personnummer import is_plausible_birth_date

PNR = "SE_PERSONNUMMER"
Spans = Callable[..., list[tuple[str, int, int]]]


@pytest.mark.parametrize(
    ("century", "yy", "mm", "dd", "plausible"),
    [
        (None, "81", "12", "18", True),
        (None, "81", "12", "78", True),  # samordningsnummer: 18 + 60
        (None, "81", "12", "32", False),
        (None, "81", "13", "01", False),
        (None, "81", "00", "01", False),
        (None, "81", "12", "00", False),
        (None, "81", "12", "60", False),
        (None, "00", "02", "29", True),  # 2000 was a leap year
        (None, "01", "02", "29", False),  # neither 1901 nor 2001 was
        ("19", "00", "02", "29", False),  # 1900 was not
        ("20", "00", "02", "29", True),
        (None, "81", "04", "31", False),
        (None, "81", "04", "91", False),  # 31 + 60
    ],
)
def test_birth_date(century: str | None, yy: str, mm: str, dd: str, plausible: bool) -> None:
    assert is_plausible_birth_date(century, yy, mm, dd) is plausible


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        ("Mitt personnummer är 811218-9876.", "sv", "811218-9876"),
        ("Personnummer: 19811218-9876", "sv", "19811218-9876"),
        ("pnr 198112189876", "sv", "198112189876"),
        ("Född 1881: 811218+9876", "sv", "811218+9876"),
        ("samordningsnummer 811278-9873", "sv", "811278-9873"),
        ("mitt personnummer 8112189876", "sv", "8112189876"),
        ("8112189876 är mitt personnummer", "sv", "8112189876"),
        ("personnumret 880320-0016 stämmer", "sv", "880320-0016"),
        ("My Swedish personnummer is 19811218-9876", "en", "19811218-9876"),
        ("Mon personnummer suédois : 811218-9876", "fr", "811218-9876"),
        ("20000229-1235 skottdag", "sv", "20000229-1235"),
        ("Hej 811218-9876", "sv", "811218-9876"),
        ("Hej 198112189876", "sv", "198112189876"),
        ("Här är det: 5209155497", "sv", "5209155497"),  # ten bare digits not starting with 0
    ],
)
def test_personnummer_found(spans: Spans, text: str, lang: str, value: str) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(PNR, start, start + len(value))]


@pytest.mark.parametrize(
    "text",
    [
        "personnummer 811218-9875",  # Luhn fails
        "personnummer 811332-9876",  # month 13
        "personnummer 19010229-1234",  # 29 February 1901
        "personnummer 811232-9870",  # day 32
        "Ring mig på 0701234569 eller 070-123 45 67 eller +46 70 123 45 67",  # phone numbers
        "ref 5209155497",  # ten bare digits labelled as a reference
        "växel 08-123 456 78",
        "organisationsnummer 556036-0793",  # Volvo's org. number: "month" 60
        "ordernummer 202405011234",  # a date-based order number
        "personnummer 1811218-9876",  # inside a longer run
        "personnummer 811218-98765",
    ],
)
def test_personnummer_hard_negatives(spans: Spans, text: str) -> None:
    assert spans(text, "sv") == []
