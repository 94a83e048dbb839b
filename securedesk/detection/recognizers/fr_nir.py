"""FR_NIR: the French numéro de sécurité sociale (NIR, "numéro INSEE"): 13 characters and a 2-digit key.

Layout: sex (1, 2, or 3, 4, 7, 8 for provisional numbers), year, month, department (two digits, or 2A/2B for
Corsica), commune, order number, key = 97 − (number mod 97), where 2A counts as 19 and 2B as 18 (python-stdnum).
Written contiguously or grouped ("1 84 12 75 108 045 28") with one separator used consistently; the key may stand
apart after a space ("1841275108045 28").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar, Final

from stdnum.fr import nir

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.digit_runs import SEPARATOR_CLASS, stands_alone

_SEP: Final = f"{SEPARATOR_CLASS}?"
_NIR: Final = re.compile(
    rf"(?<![\w+])[1-478]{_SEP}[0-9]{{2}}{_SEP}(?:0[1-9]|1[0-2]|[2-9][0-9]){_SEP}(?:[0-9]{{2}}|2[ABab])"
    rf"{_SEP}[0-9]{{3}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{2}}(?![\w])"
)


def is_valid_nir(compact: str) -> bool:
    """True for 15 characters (2A/2B allowed as department) with a valid key."""
    return len(compact) == 15 and nir.is_valid(compact)


class FrNirRecognizer(SecureDeskRecognizer):
    ENTITY: ClassVar[str] = "FR_NIR"
    REACH: ClassVar[int] = 16  # a Corsican NIR continues past its "2A"/"2B"
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": (
            "nir", "insee", "french social security", "social security", "securite sociale", "sécurité sociale",
            "carte vitale", "vitale", "france", "french",
        ),
        "fr": (
            "nir", "insee", "numéro de sécurité sociale", "sécurité sociale", "sécu", "carte vitale", "vitale",
            "numéro d'assuré", "assuré", "assurance maladie", "ameli", "cpam", "numéro d'inscription",
        ),
        "sv": ("nir", "insee", "franskt", "franska", "socialförsäkringsnummer", "sécurité sociale", "frankrike"),
    }  # fmt: skip

    def could_hold(self, digits: str, spaced: bool) -> bool:
        return len(digits) >= 15 if spaced else is_valid_nir(digits)

    def find_candidates(self, text: str) -> Iterator[Candidate]:
        for match in _NIR.finditer(text):
            start, end = match.span()
            raw = match.group()
            separators = [char for char in raw if not char.isalnum()]
            if not separators:
                form, score = "contiguous", 0.65
            elif len(set(separators)) != 1:
                continue
            elif len(separators) == 1 and raw[-3] == separators[0]:
                form, score = "key apart", 0.75
            elif len(separators) >= 5:
                form, score = "grouped", 0.85
            else:
                form, score = "irregular groups", 0.6
            compact = "".join(char for char in raw if char.isalnum()).upper()
            if is_valid_nir(compact) and stands_alone(text, start, end):
                yield Candidate(start, end, score, form)
