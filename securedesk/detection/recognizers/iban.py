"""IBAN_CODE: International Bank Account Numbers, in any layout and any case.

Validated with python-stdnum: ISO 7064 mod 97-10 check digits and the country's registered BBAN structure, which
fixes the length per country (GB 22, FR 27, SE 24, …). An IBAN starts with letters, so it is read off the
skeleton's text rather than its digit chains: from each country code and check digits, letters and digits are
taken across the same gaps as a digit chain's (spaces, dashes, line breaks and quote prefixes, markup) until the
country's length is reached.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import ClassVar, Final

from stdnum import numdb
from stdnum.iso7064 import mod_97_10

from securedesk.detection.recognizers.base import Candidate, EntityType
from securedesk.detection.skeleton import Shape, Skeleton, gap_at

MIN_LENGTH: Final = 15
MAX_LENGTH: Final = 34
#: The check digits of a possible IBAN, right after a country code that starts a token. Matched from its first
#: digit (the regex engine skips ahead to digits in C; a pattern starting with a lookbehind is three times
#: slower on prose): the IBAN starts two characters before the match.
_CHECK_DIGITS: Final = re.compile(r"[0-9](?<=(?<![A-Za-z0-9])[A-Za-z]{2}[0-9])[0-9]")
_ALNUM: Final = re.compile(r"[A-Za-z0-9]+")

_BBAN_PART: Final = re.compile(r"(\d+)!([nac])")
_BBAN_CLASS: Final = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}


def _registry() -> Mapping[str, tuple[int, re.Pattern[str]]]:
    """Country code → (IBAN length, compiled pattern of the whole IBAN: check digits and BBAN structure), from
    python-stdnum's copy of the SWIFT registry, read once at import."""
    database = numdb.get("iban")
    registry: dict[str, tuple[int, re.Pattern[str]]] = {}
    for first in string.ascii_uppercase:
        for second in string.ascii_uppercase:
            info = database.info(first + second)
            structure = info[0][1].get("bban") if info else None
            if structure:
                parts = _BBAN_PART.findall(structure)
                bban = "".join(f"{_BBAN_CLASS[kind]}{{{count}}}" for count, kind in parts)
                length = 4 + sum(int(count) for count, _ in parts)
                registry[first + second] = (length, re.compile(f"{first}{second}[0-9]{{2}}{bban}"))
    return MappingProxyType(registry)


_REGISTRY: Final = _registry()


def iban_length(country: str) -> int | None:
    """The registered IBAN length for a country code ("GB" → 22), or None for a country without IBANs."""
    entry = _REGISTRY.get(country.upper())
    return entry[0] if entry else None


def is_valid_iban(compact: str) -> bool:
    """True for an upper-case IBAN without separators: a registered country, its BBAN structure and length, and
    ISO 7064 mod 97-10 check digits (python-stdnum)."""
    entry = _REGISTRY.get(compact[:2])
    return (
        entry is not None and entry[1].fullmatch(compact) is not None and mod_97_10.is_valid(compact[4:] + compact[:4])
    )


class Iban(EntityType):
    ENTITY: ClassVar[str] = "IBAN_CODE"
    LENGTHS: ClassVar[frozenset[int]] = frozenset(range(MIN_LENGTH, MAX_LENGTH + 1))
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": ("iban", "bank", "account", "bank account", "transfer", "wire", "refund", "bic", "swift"),
        "fr": ("iban", "rib", "compte", "compte bancaire", "banque", "virement", "remboursement", "bic"),
        "sv": ("iban", "bank", "konto", "kontonummer", "bankkonto", "överföring", "återbetalning", "bic"),
    }
    # An IBAN is never an order or invoice number: its checksum and structure already say what it is.
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()

    def is_valid(self, compact: str) -> bool:
        return is_valid_iban(compact)

    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        return (0.9, "grouped") if len(shape.lengths) > 1 else (0.85, "contiguous")

    def candidates(self, skeleton: Skeleton) -> Iterator[Candidate]:
        text = skeleton.text
        position = 0
        while (match := _CHECK_DIGITS.search(text, position + 2)) is not None:
            start = match.start() - 2
            found = self._at(text, start)
            if found is not None:
                yield found
                position = found.end
            else:
                position = start + 1

    @staticmethod
    def _at(text: str, start: int) -> Candidate | None:
        """The IBAN starting at ``start``: alphanumeric groups across gaps until the country's length; the last
        group must end exactly there (an IBAN is one token: "FR76…189abc" is not one)."""
        length = iban_length(text[start : start + 2])
        if length is None:
            return None
        pieces: list[str] = []
        taken = 0
        position = start
        groups = 0
        while taken < length:
            group = _ALNUM.match(text, position)
            if group is None:
                return None
            pieces.append(group.group())
            taken += len(group.group())
            groups += 1
            position = group.end()
            if taken >= length:
                break
            following = gap_at(text, position)
            if following is None:
                return None
            position = following
        if taken != length:
            return None
        compact = "".join(pieces).upper()
        if not is_valid_iban(compact):
            return None
        return Candidate(start, position, 0.9 if groups > 1 else 0.85, "grouped" if groups > 1 else "contiguous")
