"""Runs of digit groups joined by one separator used consistently, and whether a run stands alone in its text.

All number recognizers share these rules, so "4111 1111-1111 1111" (mixed separators), "0.4111111111111111"
(a decimal), "2.4670000000000001E-2" (scientific notation), "a456-426614174000" (the tail of a UUID) and
"https://shop.example/orders/4111111111111111" (a URL path) are never read as numbers on their own.
Text is already normalized: digits are ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, NamedTuple

#: Characters people put between digit groups: space, hyphen, dot, no-break / figure / thin / narrow no-break
#: spaces, hyphen, non-breaking hyphen, figure dash, en-dash, minus sign.
SEPARATORS: Final = " -.\u00a0\u2007\u2009\u202f\u2010\u2011\u2012\u2013\u2212"
#: Separators that are also word boundaries: a run may be part of a longer space-separated sequence.
SPACE_SEPARATORS: Final = frozenset(" \u00a0\u2007\u2009\u202f")
#: Characters that glue a number to a letter or digit they touch, making both one token ("INV-4111…", "a456-4266…",
#: "/orders/4111…"). A dot glues only to digits (a decimal point): "No.4111…" and "…1111.Thanks" stay numbers.
#: Commas never glue, so numbers in CSV lines ("id,4111…,12/29") are still found.
GLUE_CHARACTERS: Final = frozenset(set(SEPARATORS) - SPACE_SEPARATORS - {"."}) | {"/", "_"}
SEPARATOR_CLASS: Final = "[" + re.escape(SEPARATORS) + "]"

_RUN: Final = re.compile(rf"(?<![\w+])[0-9]+(?:({SEPARATOR_CLASS})[0-9]+(?:\1[0-9]+)*)?")
_NON_DIGITS: Final = re.compile(r"[^0-9]+")
_SCIENTIFIC_TAIL: Final = re.compile(r"[eE][+\-\u2212]?[0-9]")
_URL_START: Final = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.\-]*://|www\.)", re.ASCII)
_TOKEN_BOUNDARY: Final = frozenset(" \t\r\n\u00a0\u2009\u202f<>\"'()[]{}|")
_URL_LOOKBACK: Final = 256


class DigitRun(NamedTuple):
    """Groups of digits (spans into the text) joined by ``separator`` ("" for a single group)."""

    start: int
    end: int
    separator: str
    groups: tuple[tuple[int, int], ...]

    @property
    def digit_count(self) -> int:
        return sum(end - start for start, end in self.groups)

    @property
    def splittable(self) -> bool:
        """Space-separated runs may hold several numbers; others are one token and are taken whole."""
        return self.separator in SPACE_SEPARATORS


def iter_digit_runs(text: str, min_digits: int) -> Iterator[DigitRun]:
    """Every run of at least ``min_digits`` digits that stands alone (see ``stands_alone``)."""
    for match in _RUN.finditer(text):
        start, end = match.span()
        separator = match.group(1) or ""
        digit_count = (end - start) - (match.group().count(separator) if separator else 0)
        if digit_count < min_digits:
            continue
        if separator in (".", ",") and match.group().count(separator) == 1:
            continue  # "4.111111111111111" is a decimal number, not a grouped identifier
        groups = _group_spans(text, start, end, separator)
        if separator in SPACE_SEPARATORS:
            # In "4111 1111 1111 1111 12/29" only the last group is glued to what follows: drop just that group.
            if len(groups) > 1 and not _free_end(text, end):
                groups = groups[:-1]
            if len(groups) > 1 and not _free_start(text, groups[0][0]):
                groups = groups[1:]
            start, end = groups[0][0], groups[-1][1]
            if sum(group_end - group_start for group_start, group_end in groups) < min_digits:
                continue
        if stands_alone(text, start, end):
            yield DigitRun(start, end, separator if len(groups) > 1 else "", groups)


def _group_spans(text: str, start: int, end: int, separator: str) -> tuple[tuple[int, int], ...]:
    if not separator:
        return ((start, end),)
    spans: list[tuple[int, int]] = []
    group_start = start
    while True:
        position = text.find(separator, group_start, end)
        if position < 0:
            spans.append((group_start, end))
            return tuple(spans)
        spans.append((group_start, position))
        group_start = position + 1


def stands_alone(text: str, start: int, end: int) -> bool:
    """True unless [start, end) continues a longer token: a word, decimal, exponent, identifier or URL path."""
    return _free_start(text, start) and _free_end(text, end) and not in_url_path(text, start)


def _free_start(text: str, start: int) -> bool:
    if start == 0:
        return True
    before = text[start - 1]
    if before.isalnum() or before in "_+":
        return False  # inside a word, or a phone number's country code ("+46 70 …")
    if start < 2:
        return True
    previous = text[start - 2]
    return not ((before in GLUE_CHARACTERS and previous.isalnum()) or (before == "." and previous.isdigit()))


def _free_end(text: str, end: int) -> bool:
    if end >= len(text):
        return True
    after = text[end]
    if after.isalnum() or after == "_":
        return False
    if end + 1 < len(text):
        following = text[end + 1]
        if (after in GLUE_CHARACTERS and following.isalnum()) or (after == "." and following.isdigit()):
            return False
    return after not in "eE" or _SCIENTIFIC_TAIL.match(text, end) is None


def in_url_path(text: str, position: int) -> bool:
    """True when ``position`` lies in the path of a URL (after its host, before any "?" or "#")."""
    lower = max(0, position - _URL_LOOKBACK)
    if "/" not in text[lower:position]:
        return False
    token_start = position
    while token_start > lower and text[token_start - 1] not in _TOKEN_BOUNDARY:
        token_start -= 1
    prefix = text[token_start:position]
    if "/" not in prefix or "?" in prefix or "#" in prefix:
        return False
    url = _URL_START.search(prefix)
    if url is not None:
        return "/" in prefix[url.end() :]
    # A bare host with a path: "shop.example.com/orders/…"
    host, _, _ = prefix.partition("/")
    return "." in host and host.rsplit(".", 1)[1].isalpha()


def candidate_spans(run: DigitRun, min_digits: int, max_digits: int) -> Iterator[tuple[int, int]]:
    """Group-aligned sub-spans [first group, last group] of a run holding ``min_digits``…``max_digits`` digits.

    For each first group, the longest span comes first; callers take the first valid one and continue after it.
    A run that cannot be split yields only itself.
    """
    groups = run.groups
    if not run.splittable:
        if min_digits <= run.digit_count <= max_digits:
            yield run.start, run.end
        return
    for first in range(len(groups)):
        total = 0
        spans: list[tuple[int, int]] = []
        for last in range(first, len(groups)):
            total += groups[last][1] - groups[last][0]
            if total > max_digits:
                break
            if total >= min_digits:
                spans.append((groups[first][0], groups[last][1]))
        yield from reversed(spans)


def digits_in(text: str, start: int, end: int) -> str:
    return _NON_DIGITS.sub("", text[start:end])


def group_lengths(text: str, start: int, end: int, separator: str) -> tuple[int, ...]:
    if not separator:
        return (end - start,)
    return tuple(len(group) for group in text[start:end].split(separator))
