"""Redaction: masks with at most the last four characters, merged overlaps, values kept for the vault, and card
verification codes and expiry dates removed without a trace."""

from __future__ import annotations

import re

import pytest

from securedesk.detection import Detector, Finding
from securedesk.errors import InvalidInput
from securedesk.redaction import CVV_MARKER, EXPIRY_MARKER, mask_for, redact_text
from securedesk.sensitive import Sensitive


def redacted(detector: Detector, text: str, lang: str = "en") -> str:
    return redact_text(text, detector.analyze(text, lang)).text


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("My card is 4111 1111 1111 1111.", "en", "My card is [CARD •••• 1111]."),
        ("SSN 123-45-6789 ok", "en", "SSN [SSN •••• 6789] ok"),
        ("NIR 2 95 10 99 126 111 93", "fr", "NIR [FR_NIR •••• 1193]"),
        ("Personnummer 19811218-9876", "sv", "Personnummer [PERSONNUMMER •••• 9876]"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "en", "IBAN [IBAN •••• 5432] thanks"),
        ("Nothing to see here, order 12345.", "en", "Nothing to see here, order 12345."),
        ("card ４１１１\u200b１１１１ １１１１ １１１１!", "en", "card [CARD •••• 1111]!"),
    ],
)
def test_masks(detector: Detector, text: str, lang: str, expected: str) -> None:
    assert redacted(detector, text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        (
            "My card is 4111 1111 1111 1111, exp 12/29, cvv 737.",
            "en",
            f"My card is [CARD •••• 1111], {EXPIRY_MARKER}, {CVV_MARKER}.",
        ),
        (
            "Card 4111 1111 1111 1111 12/29 737 thanks",
            "en",
            f"Card [CARD •••• 1111] {EXPIRY_MARKER} {CVV_MARKER} thanks",
        ),
        ("4111111111111111 737", "en", f"[CARD •••• 1111] {CVV_MARKER}"),
        (
            "CVC: 1234, expiry date 01/2031, card 378282246310005",
            "en",
            f"{CVV_MARKER}, {EXPIRY_MARKER}, card [CARD •••• 0005]",
        ),
        (
            "Carte 4970 1000 0000 0063, cryptogramme visuel 123, date d'expiration 09/27.",
            "fr",
            f"Carte [CARD •••• 0063], {CVV_MARKER}, {EXPIRY_MARKER}.",
        ),
        (
            "carte 5555555555554444 expire fin 11/28 code de sécurité 321",
            "fr",
            f"carte [CARD •••• 4444] {EXPIRY_MARKER} {CVV_MARKER}",
        ),
        (
            "Kortnummer 4111111111111111, giltig till 11/28, CVC 999.",
            "sv",
            f"Kortnummer [CARD •••• 1111], {EXPIRY_MARKER}, {CVV_MARKER}.",
        ),
        (
            "kort 5555 5555 5555 4444 utgångsdatum 03/30 säkerhetskod 456",
            "sv",
            f"kort [CARD •••• 4444] {EXPIRY_MARKER} {CVV_MARKER}",
        ),
        (
            "card 4111111111111111\nExpiry: 12/2029\nSecurity code: 1234\n",
            "en",
            f"card [CARD •••• 1111]\n{EXPIRY_MARKER}\n{CVV_MARKER}\n",
        ),
        ("card 4111111111111111 cvv ７３７", "en", f"card [CARD •••• 1111] {CVV_MARKER}"),
    ],
)
def test_card_verification_codes_and_expiry_are_removed(
    detector: Detector, text: str, lang: str, expected: str
) -> None:
    assert redacted(detector, text, lang) == expected


@pytest.mark.parametrize(
    "text",
    [
        "My cvv is 737 but I will not send the card number.",  # no card: nothing to tie the code to
        "SSN 123-45-6789 exp 12/29 cvv 737",  # only next to a card
        "card 4111111111111111. " + "Unrelated words follow here for a good while. " * 4 + "cvv 737",  # far away
    ],
)
def test_codes_away_from_a_card_are_left_alone(detector: Detector, text: str) -> None:
    assert "737" in redacted(detector, text)


def test_items_keep_the_original_values_for_the_vault(detector: Detector) -> None:
    text = "card 4111-1111-1111-1111 exp 12/29 cvv 737 and IBAN GB82 WEST 1234 5698 7654 32"
    redaction = redact_text(text, detector.analyze(text, "en"))
    card, iban = redaction.items
    assert (card.entity_type, card.start, card.end) == ("CREDIT_CARD", 5, 24)
    assert card.value.reveal() == "4111-1111-1111-1111"
    assert card.digits.reveal() == "4111111111111111"
    assert (card.mask, card.last4, card.brand) == ("[CARD •••• 1111]", "1111", "visa")
    assert iban.value.reveal() == "GB82 WEST 1234 5698 7654 32"
    assert (iban.mask, iban.brand) == ("[IBAN •••• 5432]", None)
    assert [(d.kind, text[d.start : d.end]) for d in redaction.discarded] == [
        ("EXPIRY", "exp 12/29"),
        ("CVV", "cvv 737"),
    ]
    assert not any(hasattr(d, "value") for d in redaction.discarded)
    assert "4111" not in repr(redaction.items)


def test_never_more_than_the_last_four(detector: Detector) -> None:
    numbers = [
        "4111 1111 1111 1111", "378282246310005", "6205500000000000004", "123-45-6789", "1 84 12 75 108 045 28",
        "19811218-9876", "SE45 5000 0000 0583 9825 7466",
    ]  # fmt: skip
    text = " / ".join(f"value {n} here" for n in numbers)
    out = redact_text(text, detector.analyze(text, "en")).text
    assert not re.search(r"\d{5}", out)
    for number in numbers:
        digits = re.sub(r"\W", "", number)
        assert digits[-5:] not in re.sub(r"\W", "", out)


def _finding(entity: str, start: int, end: int, score: float, digits: str, text: str) -> Finding:
    return Finding(entity, start, end, score, Sensitive(text[start:end]), Sensitive(digits))


def test_overlapping_findings_are_merged() -> None:
    text = "x 1234567890123456789 y"
    findings = [
        _finding("US_SSN", 2, 11, 0.6, "123456789", text),
        _finding("CREDIT_CARD", 6, 21, 0.9, "567890123456789", text),
        _finding("IBAN_CODE", 20, 21, 0.5, "9", text),
    ]
    redaction = redact_text(text, findings)
    assert redaction.text == "x [CARD •••• 6789] y"
    [item] = redaction.items
    assert (item.entity_type, item.start, item.end, item.value.reveal()) == (
        "CREDIT_CARD",
        2,
        21,
        "1234567890123456789",
    )


def test_adjacent_findings_stay_separate() -> None:
    text = "123456789987654321"
    findings = [_finding("US_SSN", 0, 9, 0.6, "123456789", text), _finding("US_SSN", 9, 18, 0.6, "987654321", text)]
    assert redact_text(text, findings).text == "[SSN •••• 6789][SSN •••• 4321]"


@pytest.mark.parametrize(
    ("entity", "digits", "mask"),
    [
        ("CREDIT_CARD", "4111111111111111", "[CARD •••• 1111]"),
        ("US_SSN", "123456789", "[SSN •••• 6789]"),
        ("FR_NIR", "253072B07300470", "[FR_NIR •••• 0470]"),
        ("SE_PERSONNUMMER", "8112189876", "[PERSONNUMMER •••• 9876]"),
        ("IBAN_CODE", "GB82WEST12345698765432", "[IBAN •••• 5432]"),
        ("US_SSN", "1234567", "[SSN ••••]"),  # too short to show anything
    ],
)
def test_mask_for(entity: str, digits: str, mask: str) -> None:
    assert mask_for(entity, digits) == mask


def test_a_finding_outside_the_text_is_refused() -> None:
    finding = _finding("US_SSN", 5, 14, 0.6, "123456789", "xxxxx123456789")
    with pytest.raises(InvalidInput):
        redact_text("short", [finding])


def test_no_findings_no_change() -> None:
    redaction = redact_text("cvv 737 exp 12/29", [])
    assert redaction.text == "cvv 737 exp 12/29"
    assert not redaction.changed
