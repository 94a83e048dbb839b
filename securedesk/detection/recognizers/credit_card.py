"""CREDIT_CARD: ISO/IEC 7812 payment card numbers (PANs) of 12–19 digits, by issuer range, length and Luhn.

Forms: contiguous, or groups joined by one separator used consistently (space, dash, dot, no-break or thin space,
en-dash). A 4-4-4-4 (or Amex 4-6-5, Diners 4-6-4) grouping scores high; a contiguous number scores lower, and a
13-digit number that reads as a millisecond timestamp counts only with card context. A card found inside a longer
space-separated run (after an order number, before a CVV) scores lower, so a grouped IBAN or NIR that happens to
contain a Luhn-valid stretch keeps its own type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Final

from stdnum import luhn

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.digit_runs import (
    DigitRun,
    candidate_spans,
    digits_in,
    group_lengths,
    iter_digit_runs,
)

#: (brand, first digits as an inclusive range of prefixes of equal length, allowed lengths), most specific first.
_BRANDS: Final[tuple[tuple[str, int, int, frozenset[int]], ...]] = (
    ("mir", 2200, 2204, frozenset(range(16, 20))),
    ("mastercard", 2221, 2720, frozenset({16})),
    ("amex", 34, 34, frozenset({15})),
    ("amex", 37, 37, frozenset({15})),
    ("diners", 300, 305, frozenset(range(14, 20))),
    ("diners", 3095, 3095, frozenset(range(14, 20))),
    ("diners", 36, 36, frozenset(range(14, 20))),
    ("diners", 38, 39, frozenset(range(14, 20))),
    ("jcb", 3528, 3589, frozenset(range(16, 20))),
    ("visa", 4, 4, frozenset({13, 16, 19})),
    ("mastercard", 51, 55, frozenset({16})),
    ("maestro", 50, 50, frozenset(range(12, 20))),
    ("maestro", 56, 59, frozenset(range(12, 20))),
    ("discover", 6011, 6011, frozenset(range(16, 20))),
    ("discover", 644, 649, frozenset(range(16, 20))),
    ("discover", 65, 65, frozenset(range(16, 20))),
    ("unionpay", 62, 62, frozenset(range(16, 20))),
    ("maestro", 60, 69, frozenset(range(12, 20))),
    ("unionpay", 81, 81, frozenset(range(16, 20))),
)
MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 19
#: 13-digit millisecond timestamps from 2000-01-01 to 2100-01-01.
_TIMESTAMP_MS_RANGE: Final = range(946_684_800_000, 4_102_444_800_000)


def _brands_by_prefix() -> dict[str, tuple[tuple[str, frozenset[int]], ...]]:
    """Every issuer prefix spelled out ("2221" … "2720"), so a lookup costs four dictionary probes."""
    table: dict[str, list[tuple[str, frozenset[int]]]] = {}
    for brand, low, high, lengths in _BRANDS:
        width = len(str(low))
        for prefix in range(low, high + 1):
            table.setdefault(str(prefix).zfill(width), []).append((brand, lengths))
    return {prefix: tuple(entries) for prefix, entries in table.items()}


_BRANDS_BY_PREFIX: Final = _brands_by_prefix()


def card_brand(digits: str) -> str | None:
    """The card network for a PAN's issuer range and length ("visa", "mastercard", …), or None."""
    length = len(digits)
    for width in (4, 3, 2, 1):  # the most specific range first, as in _BRANDS
        for brand, lengths in _BRANDS_BY_PREFIX.get(digits[:width], ()):
            if length in lengths:
                return brand
    return None


def is_card_number(digits: str) -> bool:
    """True for a PAN: 12–19 ASCII digits, a known issuer range for that length, and a valid Luhn check digit."""
    return (
        MIN_LENGTH <= len(digits) <= MAX_LENGTH
        and digits.isascii()
        and digits.isdigit()
        and card_brand(digits) is not None
        and luhn.is_valid(digits)
    )


def _is_standard_grouping(lengths: tuple[int, ...]) -> bool:
    if lengths in ((4, 6, 5), (4, 6, 4), (6, 13)):
        return True
    return len(lengths) >= 3 and all(length == 4 for length in lengths[:-1]) and 1 <= lengths[-1] <= 4


class CreditCardRecognizer(SecureDeskRecognizer):
    ENTITY: ClassVar[str] = "CREDIT_CARD"
    REACH: ClassVar[int] = 2  # a card number is one digit run
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": (
            "card", "card number", "credit", "debit", "visa", "mastercard", "amex", "american express",
            "discover", "diners", "jcb", "unionpay", "maestro", "cc", "pan", "payment", "pay", "paid", "charge", "kort",
            "carte",
        ),
        "fr": (
            "carte", "numéro de carte", "carte bancaire", "cb", "carte bleue", "crédit", "débit", "visa",
            "mastercard", "amex", "paiement", "payé", "prélevé", "card",
        ),
        "sv": (
            "kort", "kortnummer", "kortnr", "kreditkort", "betalkort", "bankkort", "kontokort", "visa",
            "mastercard", "amex", "betalning", "debiterad", "card",
        ),
    }  # fmt: skip

    def find_candidates(self, text: str) -> Iterator[Candidate]:
        for run in iter_digit_runs(text, MIN_LENGTH):
            resume_at = run.start
            for start, end in candidate_spans(run, MIN_LENGTH, MAX_LENGTH):
                if start < resume_at or self._continues_a_grouping(run, start, resume_at):
                    continue
                digits = digits_in(text, start, end)
                if not is_card_number(digits):
                    continue
                score, form = self._score(digits, group_lengths(text, start, end, run.separator))
                if (start, end) != (run.start, run.end):
                    # Part of a longer space-separated run: the run may be another number (a grouped IBAN or NIR).
                    score, form = round(score - 0.2, 2), f"{form}, part of a longer run"
                yield Candidate(start, end, score, form)
                resume_at = end

    def could_hold(self, digits: str, spaced: bool) -> bool:
        return len(digits) >= MIN_LENGTH if spaced else is_card_number(digits)

    @staticmethod
    def _continues_a_grouping(run: DigitRun, start: int, resume_at: int) -> bool:
        """In "1234 5678 9012 3456" no card starts at "5678": a 4-digit group before it belongs to the same number."""
        previous = [group for group in run.groups if group[1] < start and group[0] >= resume_at]
        return bool(previous) and previous[-1][1] - previous[-1][0] == 4

    @staticmethod
    def _score(digits: str, lengths: tuple[int, ...]) -> tuple[float, str]:
        if len(lengths) > 1:
            if _is_standard_grouping(lengths):
                return 0.9, "grouped"
            return 0.65, "irregular groups"
        if len(digits) == 13 and int(digits) in _TIMESTAMP_MS_RANGE:
            return 0.15, "contiguous, reads as a timestamp"
        if len(digits) >= 15:
            return 0.75, "contiguous"
        return 0.55, "contiguous, short"
