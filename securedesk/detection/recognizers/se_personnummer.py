"""SE_PERSONNUMMER: Swedish personnummer and samordningsnummer (day of birth + 60), 10 or 12 digits.

Forms: YYMMDD-NNNN, YYMMDD+NNNN (100 years or older), YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDDNNNN. The date must
exist (29 February only in a leap year), the last ten digits must pass Luhn. A bare 10-digit number starting with
0 could be a phone number ("0701234567") and counts only with context.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from typing import ClassVar, Final

from stdnum import luhn

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.digit_runs import SPACE_SEPARATORS, stands_alone

_PERSONNUMMER: Final = re.compile(
    r"(?<![\w+])(?P<century>1[89]|20)?(?P<yy>[0-9]{2})(?P<mm>0[1-9]|1[0-2])(?P<dd>[0-9]{2})"
    r"(?P<sep>[-+\u2010\u2011\u2013\u2212 \u00a0])?(?P<serial>[0-9]{4})(?![\w])"
)
_DASHES: Final = frozenset("-\u2010\u2011\u2013\u2212")


def is_plausible_birth_date(century: str | None, yy: str, mm: str, dd: str) -> bool:
    """A real calendar date; samordningsnummer add 60 to the day. Without a century any leap year may apply."""
    month, day = int(mm), int(dd)
    if day > 60:
        day -= 60
    if not 1 <= month <= 12 or day < 1:
        return False
    # Without a century, 2000 stands for all: it is a leap year, so 29 February is possible whenever YY % 4 == 0.
    year = 2000 + int(yy) if century is None else int(century + yy)
    return day <= calendar.monthrange(year, month)[1]


class SePersonnummerRecognizer(SecureDeskRecognizer):
    ENTITY: ClassVar[str] = "SE_PERSONNUMMER"
    REACH: ClassVar[int] = 2  # a personnummer is one digit run (its "+" included)
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": (
            "personnummer", "personal identity number", "personal number", "swedish id", "swedish", "sweden",
            "samordningsnummer", "coordination number", "pnr", "id number",
        ),
        "fr": ("personnummer", "numéro personnel", "suédois", "suède", "samordningsnummer", "numéro d'identité"),
        "sv": (
            "personnummer", "personnumret", "personnr", "pnr", "samordningsnummer", "samordningsnumret",
            "födelsenummer", "id-nummer", "legitimation", "identitetsnummer",
        ),
    }  # fmt: skip

    def could_hold(self, digits: str, spaced: bool) -> bool:
        if spaced:
            return len(digits) >= 10
        if len(digits) not in (10, 12):
            return False
        century = digits[:2] if len(digits) == 12 else None
        last_ten = digits[-10:]
        return is_plausible_birth_date(century, last_ten[:2], last_ten[2:4], last_ten[4:6]) and luhn.is_valid(last_ten)

    def find_candidates(self, text: str) -> Iterator[Candidate]:
        for match in _PERSONNUMMER.finditer(text):
            century, separator = match.group("century"), match.group("sep")
            if not is_plausible_birth_date(century, match.group("yy"), match.group("mm"), match.group("dd")):
                continue
            last_ten = match.group("yy") + match.group("mm") + match.group("dd") + match.group("serial")
            if not luhn.is_valid(last_ten):
                continue
            start, end = match.span()
            if not stands_alone(text, start, end):
                continue
            if separator == "+" or (separator is not None and separator in _DASHES):
                score, form = (0.85, "YYYYMMDD-NNNN") if century else (0.75, "YYMMDD-NNNN")
            elif separator is not None and separator in SPACE_SEPARATORS:
                score, form = 0.45, "YYMMDD NNNN"
            elif century:
                score, form = 0.55, "YYYYMMDDNNNN"
            elif match.group("yy")[0] != "0":
                score, form = 0.5, "YYMMDDNNNN"
            else:
                # Born 2000–2009, or a Swedish phone number ("0701234567"): only with context.
                score, form = 0.4, "YYMMDDNNNN starting with 0"
            yield Candidate(start, end, score, form)
