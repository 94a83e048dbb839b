"""CREDIT_CARD: ISO/IEC 7812 payment card numbers (PANs) of 12–19 digits, by issuer range, length and Luhn.

Any layout (see ``skeleton``). A 4-4-4-4 (or Amex 4-6-5, Diners 4-6-4) grouping scores high whatever the
separators; a number broken in two over a line scores well; a contiguous one of 15–19 digits scores well; shorter
contiguous numbers (12–14 digits, EAN-13 barcodes look alike) and 13-digit numbers that read as millisecond
timestamps count only with card context. A card inside a longer chain (after an order number, before a CVV)
scores lower, so a grouped IBAN or NIR that happens to contain a Luhn-valid stretch keeps its own type.
"""

from __future__ import annotations

from typing import ClassVar, Final

from stdnum import luhn

from securedesk.detection.recognizers.base import EntityType, adjust_for_place
from securedesk.detection.skeleton import BREAK, MIXED, Chain, Shape

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


class CreditCard(EntityType):
    ENTITY: ClassVar[str] = "CREDIT_CARD"
    LENGTHS: ClassVar[frozenset[int]] = frozenset(range(MIN_LENGTH, MAX_LENGTH + 1))
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

    def is_valid(self, compact: str) -> bool:
        return is_card_number(compact)

    def skip_start(self, chain: Chain, first: int, resume: int) -> bool:
        """In "1234 5678 9012 3456" no card starts at "5678": a 4-digit group before it, not yet part of a number
        taken, belongs to the same number."""
        return first > resume and len(chain.texts[first - 1]) == 4

    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        lengths = shape.lengths
        if len(lengths) > 1:
            if _is_standard_grouping(lengths):
                score, form = 0.9, "grouped"
            elif len(lengths) == 2 and shape.gaps <= {BREAK, MIXED}:
                score, form = 0.7, "broken over lines"
            elif shape.uniform_gaps:
                score, form = 0.6, "irregular groups"
            else:
                score, form = 0.45, "irregular groups, mixed separators"
        elif len(compact) == 13 and int(compact) in _TIMESTAMP_MS_RANGE:
            score, form = 0.15, "contiguous, reads as a timestamp"
        elif len(compact) >= 15:
            score, form = 0.75, "contiguous"
        elif len(compact) == 14:
            score, form = 0.55, "contiguous, 14 digits"
        else:
            score, form = 0.45, "contiguous, 12 or 13 digits"  # EAN-13 barcodes and other ids look alike
        return adjust_for_place(score, form, shape)
