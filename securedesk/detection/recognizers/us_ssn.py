"""US_SSN: US Social Security numbers, AAA-GG-SSSS, spaced or dotted, or 9 bare digits only with SSN context.

SSA rules: area 000, 666 and 900–999, group 00 and serial 0000 are never issued.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.digit_runs import SPACE_SEPARATORS, digits_in, iter_digit_runs


def is_issuable_ssn(digits: str) -> bool:
    """True when 9 digits satisfy the SSA's rules for an issued number."""
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


class UsSsnRecognizer(SecureDeskRecognizer):
    ENTITY: ClassVar[str] = "US_SSN"
    REACH: ClassVar[int] = 2  # an SSN is one digit run
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": ("ssn", "ssns", "social security", "social security number", "ss", "ssa", "taxpayer", "tin"),
        "fr": ("ssn", "social security", "numéro de sécurité sociale américain", "américain", "états-unis", "us"),
        "sv": ("ssn", "social security", "amerikanskt", "amerikanska", "usa"),
    }

    def could_hold(self, digits: str, spaced: bool) -> bool:
        # A spaced run may end in a group glued to what follows, which the recognizer then drops.
        return spaced or is_issuable_ssn(digits)

    def find_candidates(self, text: str) -> Iterator[Candidate]:
        for run in iter_digit_runs(text, 9):
            if run.digit_count != 9:
                continue
            lengths = tuple(end - start for start, end in run.groups)
            if lengths == (9,):
                score, form = 0.3, "9 bare digits"
            elif lengths != (3, 2, 4):
                continue
            elif run.separator == "-" or run.separator == "\u2011":
                score, form = 0.75, "AAA-GG-SSSS"
            elif run.separator in SPACE_SEPARATORS:
                score, form = 0.5, "AAA GG SSSS"
            else:
                score, form = 0.4, "AAA.GG.SSSS"
            if is_issuable_ssn(digits_in(text, run.start, run.end)):
                yield Candidate(run.start, run.end, score, form)
