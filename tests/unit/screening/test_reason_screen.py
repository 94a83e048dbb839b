"""ReasonScreen on the screener's detector: staff free text (audit reasons, search terms) never keeps a card number
or national ID."""

from __future__ import annotations

import pytest

from securedesk.audit.reasons import ReasonScreen
from securedesk.detection import Detector


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer read out 4111 1111 1111 1111 on the phone", "customer read out [CARD •••• 1111] on the phone"),
        ("vérifié le NIR 1 84 12 75 108 045 28", "vérifié le NIR [FR_NIR •••• 4528]"),
        ("personnumret 811218-9876 stämmer", "personnumret [PERSONNUMMER •••• 9876] stämmer"),
        ("refund of 120 EUR for order 12345", "refund of 120 EUR for order 12345"),
        ("no digits at all", "no digits at all"),
    ],
)
def test_free_text_is_masked_in_every_language(text: str, expected: str, detector: Detector) -> None:
    redactor = ReasonScreen(detector=detector)
    assert redactor.ready  # the detector given is used: none is built
    assert redactor(text) == expected
