"""SE_PERSONNUMMER: Swedish personnummer and samordningsnummer (day of birth + 60), 10 or 12 digits.

Every legal layout: YYMMDD-NNNN, YYMMDD+NNNN (aged 100 or more), YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDDNNNN, and
the same with a space, plus other groupings with context. The date must exist (29 February only in a leap year;
the century is 18, 19 or 20), and the last ten digits must pass Luhn. Our own date rule rather than
``stdnum.se.personnummer``: stdnum reads today's date to place a 10-digit number in a century (so its answer
changes over time) and rejects samordningsnummer. A bare 10-digit number starting with 0 could be a phone number
("0701234567") and counts only with context; so do layouts no personnummer uses ("070-123 45 67").
"""

from __future__ import annotations

import calendar
from typing import ClassVar, Final

from stdnum import luhn

from securedesk.detection.recognizers.base import EntityType, adjust_for_place
from securedesk.detection.skeleton import DASH, PLUS, SPACE, Shape


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


def is_valid_personnummer(compact: str) -> bool:
    """True for 10 or 12 digits with a real (or coordination) birth date and a valid Luhn digit."""
    if len(compact) not in (10, 12) or not (compact.isascii() and compact.isdigit()):
        return False
    century = compact[:2] if len(compact) == 12 else None
    if century is not None and century not in ("18", "19", "20"):
        return False
    last_ten = compact[-10:]
    return is_plausible_birth_date(century, last_ten[:2], last_ten[2:4], last_ten[4:6]) and luhn.is_valid(last_ten)


#: 10-digit Unix timestamps in seconds, 2001-09-09 to 2036-07-18: log lines are full of them.
_UNIX_SECONDS: Final = range(1_000_000_000, 2_100_000_000)


class SePersonnummer(EntityType):
    ENTITY: ClassVar[str] = "SE_PERSONNUMMER"
    LENGTHS: ClassVar[frozenset[int]] = frozenset({10, 12})
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

    def is_valid(self, compact: str) -> bool:
        return is_valid_personnummer(compact)

    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        lengths, gaps = shape.lengths, shape.gaps
        long_form = len(compact) == 12
        if lengths in ((6, 4), (8, 4)) and gaps <= {DASH, PLUS}:
            score, form = (0.85, "YYYYMMDD-NNNN") if long_form else (0.75, "YYMMDD-NNNN")
        elif lengths in ((6, 4), (8, 4)) and gaps == {SPACE}:
            score, form = (0.5, "YYYYMMDD NNNN") if long_form else (0.45, "YYMMDD NNNN")
        elif lengths in ((6, 4), (8, 4)):
            score, form = 0.45, "YYMMDD NNNN, other separator"
        elif lengths == (12,):
            score, form = 0.55, "YYYYMMDDNNNN"
        elif lengths == (10,) and int(compact) in _UNIX_SECONDS:
            score, form = 0.3, "YYMMDDNNNN, reads as a Unix timestamp"
        elif lengths == (10,) and compact[0] != "0":
            score, form = 0.5, "YYMMDDNNNN"
        elif lengths == (10,):
            score, form = 0.4, "YYMMDDNNNN starting with 0"  # born 2000–2009, or a Swedish phone number
        elif len(lengths) == 4 and lengths[:3] in ((4, 2, 2), (2, 2, 2)):
            score, form = 0.45, "YYYY-MM-DD-NNNN"
        else:
            score, form = 0.3, "other grouping"
        return adjust_for_place(score, form, shape)
