"""Normalization: Unicode digits to ASCII, zero-width characters dropped, exact offsets back to the original."""

from __future__ import annotations

import pytest

from securedesk.detection.normalization import normalize_text


@pytest.mark.parametrize(
    ("original", "normalized"),
    [
        ("4111 1111", "4111 1111"),
        ("４１１１　１１１１", "4111 1111"),  # full-width digits and ideographic space
        ("٤١١١", "4111"),  # Arabic-Indic
        ("۴۱۱۱", "4111"),  # extended Arabic-Indic (Persian)
        ("४१११", "4111"),  # Devanagari
        ("๔๑๑๑", "4111"),  # Thai
        ("𝟒𝟏𝟏𝟏", "4111"),  # mathematical bold digits (outside the BMP, still one str index each)
        ("ＧＢ８２", "GB82"),  # full-width letters
        ("41\u200b11\u200c11\u200d11\u2060\ufeff11", "4111111111"),
        ("4\u00ad1", "41"),  # soft hyphen
        ("carte bancaire é", "carte bancaire é"),
    ],
)
def test_normalized_text(original: str, normalized: str) -> None:
    assert normalize_text(original).text == normalized


def test_ascii_text_is_not_copied() -> None:
    text = "card 4111 1111 1111 1111"
    result = normalize_text(text)
    assert result.text is text
    assert result.is_identity


def test_translation_keeps_offsets() -> None:
    result = normalize_text("é ４１１１")
    assert result.is_identity
    assert result.original_span(2, 6) == (2, 6)


def test_offsets_map_back_over_removed_characters() -> None:
    original = "\u200bab\u200b\u200bc1\u200b2"
    result = normalize_text(original)
    assert result.text == "abc12"
    assert [result.original_index(i) for i in range(6)] == [1, 2, 5, 6, 8, 9]
    assert result.original_span(0, 5) == (1, 9)
    assert result.original_span(2, 4) == (5, 7)  # "c1"
    assert result.original_span(3, 5) == (6, 9)  # "1\u200b2": the zero-width character inside stays inside
    assert result.original_span(1, 1) == (2, 2)
    assert [result.normalized_index(i) for i in range(10)] == [0, 0, 1, 2, 2, 2, 3, 4, 4, 5]
