"""US_SSN: US Social Security numbers, 9 digits in any layout (AAA-GG-SSSS scores highest).

Validity is python-stdnum's ``stdnum.us.ssn``: the SSA never issues area 000, 666 or 900–999, group 00 or serial
0000, nor the numbers it lists as misused in advertising (078-05-1120 and others). There is no check digit, so the
layout carries the weight: AAA-GG-SSSS with dashes scores as found, other 3-2-4 layouts and 9 bare digits only
with SSN context nearby ("SSN", "social security", …), and other groupings only with context as well.
"""

from __future__ import annotations

from typing import ClassVar

from stdnum.us import ssn

from securedesk.detection.recognizers.base import EntityType, adjust_for_place
from securedesk.detection.skeleton import DASH, DOT, SPACE, Shape


def is_issuable_ssn(digits: str) -> bool:
    """True when 9 digits satisfy the SSA's rules for an issued number (python-stdnum)."""
    return len(digits) == 9 and digits.isascii() and digits.isdigit() and ssn.is_valid(digits)


class UsSsn(EntityType):
    ENTITY: ClassVar[str] = "US_SSN"
    LENGTHS: ClassVar[frozenset[int]] = frozenset({9})
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": (
            "ssn",
            "ssns",
            "social security",
            "social security number",
            "social",
            "soc sec",
            "ss",
            "ssa",
            "taxpayer",
            "tin",
            "itin",
        ),
        "fr": ("ssn", "social security", "numéro de sécurité sociale américain", "américain", "états-unis", "us"),
        "sv": ("ssn", "social security", "amerikanskt", "amerikanska", "usa"),
    }

    def is_valid(self, compact: str) -> bool:
        return is_issuable_ssn(compact)

    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        if shape.lengths == (9,):
            score, form = 0.3, "9 bare digits"
        elif shape.lengths == (3, 2, 4):
            if shape.gaps == {DASH}:
                score, form = 0.75, "AAA-GG-SSSS"
            elif shape.gaps == {SPACE}:
                score, form = 0.5, "AAA GG SSSS"
            elif shape.gaps == {DOT}:
                score, form = 0.4, "AAA.GG.SSSS"
            else:
                score, form = 0.4, "AAA GG SSSS, other separators"
        else:
            score, form = 0.2, "other grouping"
        if shape.surroundings.in_url or shape.surroundings.in_email:
            score -= 0.1  # an SSN has no check digit: nine digits in an address are usually something else
        return adjust_for_place(score, form, shape)
