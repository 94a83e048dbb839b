"""Text normalization before matching, with an exact map from normalized offsets back to the original text.

Every Unicode decimal digit (full-width, Arabic-Indic, Devanagari, …) becomes its ASCII digit, full-width ASCII
letters and punctuation become ASCII, and every character most viewers do not show is dropped: zero-width and
other format characters (Cf), control characters other than TAB, CR and LF (NUL included), and combining marks
(Mn, Me). People, copy-paste and hostile senders put those inside numbers; none of them can end a number. Each kept
character maps to exactly one original character, so a span in the normalized text maps back to an exact span of
the ORIGINAL text.
"""

from __future__ import annotations

import bisect
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final

#: Characters that carry no visible content and are ignored inside and around numbers.
ZERO_WIDTH_CHARACTERS: Final = frozenset(
    {
        "\u00ad",  # soft hyphen
        "\u034f",  # combining grapheme joiner
        "\u061c",  # arabic letter mark
        "\u180e",  # mongolian vowel separator
        "\u200b",  # zero width space
        "\u200c",  # zero width non-joiner
        "\u200d",  # zero width joiner
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        "\u202a",  # left-to-right embedding … right-to-left override
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2060",  # word joiner
        "\u2061",  # invisible function application … invisible plus
        "\u2062",
        "\u2063",
        "\u2064",
        "\u2066",  # isolates
        "\u2067",
        "\u2068",
        "\u2069",
        "\ufeff",  # zero width no-break space / byte order mark
    }
)
#: ASCII and Latin-1 control characters (TAB, LF and CR stay: they separate words and lines).
_CONTROL_CHARACTERS: Final = frozenset(
    chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
)
_LOW_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad]")
#: Unicode categories of characters that are dropped wherever they are.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cf", "Mn", "Me", "Cc"})


@cache
def _translation_table() -> Mapping[int, str]:
    """Code point → ASCII replacement for every non-ASCII decimal digit and full-width ASCII form (built once)."""
    table: dict[int, str] = {}
    for code_point in range(0x80, sys.maxunicode + 1):
        char = chr(code_point)
        if unicodedata.category(char) == "Nd":
            table[code_point] = str(unicodedata.digit(char))
    for code_point in range(0xFF01, 0xFF5F):  # full-width "!" … "~"
        table[code_point] = chr(code_point - 0xFEE0)
    table[0x3000] = " "  # ideographic space
    return MappingProxyType(table)


@cache
def _invisible_characters() -> frozenset[str]:
    """Every character normalization drops: the zero-width set, controls, format characters, combining marks."""
    found = {
        chr(code_point)
        for code_point in range(0x100, sys.maxunicode + 1)
        if unicodedata.category(chr(code_point)) in _INVISIBLE_CATEGORIES
    }
    return frozenset(found) | ZERO_WIDTH_CHARACTERS | _CONTROL_CHARACTERS | {"\u00ad"}


@cache
def _special_characters() -> frozenset[str]:
    """Every character beyond Latin-1 that normalization changes or drops."""
    return frozenset(chr(code_point) for code_point in _translation_table()) | _invisible_characters()


def _beyond_latin1(text: str) -> frozenset[str]:
    """The distinct characters of ``text`` above U+00FF. The Latin-1 encoder runs in C and writes each such
    character as "&#NNNN;"; finding those is a fast literal search. (A literal "&#NNNN;" already in the text only
    adds a character to check, never hides one.)"""
    encoded = text.encode("latin-1", errors="xmlcharrefreplace")
    if len(encoded) == len(text):
        return frozenset()
    return frozenset(chr(int(number)) for number in _CHAR_REFERENCE.findall(encoded) if int(number) <= sys.maxunicode)


_CHAR_REFERENCE: Final = re.compile(rb"&#([0-9]{1,7});")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalized text and the original index of each of its characters (``None``: the identity map)."""

    original: str
    text: str
    _origin: tuple[int, ...] | None

    @property
    def is_identity(self) -> bool:
        return self._origin is None

    def original_index(self, index: int) -> int:
        """Original index of the normalized character at ``index`` (``len(text)`` maps to ``len(original)``)."""
        if self._origin is None:
            return index
        if index >= len(self._origin):
            return len(self.original)
        return self._origin[index]

    def normalized_index(self, original_index: int) -> int:
        """Index in the normalized text of the first kept character at or after ``original_index``."""
        if self._origin is None:
            return original_index
        return bisect.bisect_left(self._origin, original_index)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalized span (end exclusive) to the original text; zero-width characters inside stay inside."""
        if self._origin is None:
            return start, end
        if end <= start:
            position = self.original_index(start)
            return position, position
        return self._origin[start], self._origin[end - 1] + 1


def normalize_text(text: str) -> NormalizedText:
    """Normalize ``text`` for matching; text with nothing to change is returned as is, without an offset table."""
    # Controls and the soft hyphen (ASCII and Latin-1) are found by one regex; the rest without a per-character loop.
    present = set(_LOW_CONTROL.findall(text))
    if not text.isascii():
        present |= _special_characters().intersection(_beyond_latin1(text))
    if not present:
        return NormalizedText(text, text, None)
    table = _translation_table()
    translated = text.translate({ord(char): table[ord(char)] for char in present if ord(char) in table})
    dropped = _invisible_characters().intersection(present)
    if not dropped:
        # Translation is one character for one character, so offsets are unchanged.
        return NormalizedText(text, translated, None)
    kept_chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(translated):
        if char not in dropped:
            kept_chars.append(char)
            origin.append(index)
    return NormalizedText(text, "".join(kept_chars), tuple(origin))
