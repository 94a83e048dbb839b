"""IBAN_CODE: International Bank Account Numbers, grouped by four or contiguous, any case.

Validated with python-stdnum: ISO 7064 mod 97-10 check digits and the country's registered BBAN structure, which
fixes the length per country (GB 22, FR 27, SE 24, …).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import ClassVar, Final

from stdnum import numdb
from stdnum.iso7064 import mod_97_10

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.digit_runs import stands_alone

MIN_LENGTH: Final = 15
MAX_LENGTH: Final = 34
# \b (not a lookbehind) lets the regex engine skip ahead quickly; stands_alone() checks the rest.
_IBAN: Final = re.compile(r"\b[A-Za-z]{2}[0-9]{2}(?:[ \u00a0\u2009\u202f-]?[A-Za-z0-9]){11,30}")


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
        entry is not None
        and entry[1].fullmatch(compact) is not None
        and mod_97_10.is_valid(compact[4:] + compact[:4])
    )


class IbanRecognizer(SecureDeskRecognizer):
    ENTITY: ClassVar[str] = "IBAN_CODE"
    REACH: ClassVar[int] = 44  # up to 34 characters in groups of four (42 with spaces) around the account number
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": ("iban", "bank", "account", "bank account", "transfer", "wire", "refund", "bic", "swift"),
        "fr": ("iban", "rib", "compte", "compte bancaire", "banque", "virement", "remboursement", "bic"),
        "sv": ("iban", "bank", "konto", "kontonummer", "bankkonto", "överföring", "återbetalning", "bic"),
    }
    # An IBAN is never an order or invoice number: its checksum and structure already say what it is.
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()

    def find_candidates(self, text: str) -> Iterator[Candidate]:
        position = 0
        while (match := _IBAN.search(text, position)) is not None:
            candidate = self._at(text, match.start(), match.end())
            if candidate is not None:
                yield candidate
                position = candidate.end
            else:
                # The match may have run on into the next IBAN ("… 0120 Kontonummer FR80 …"): look again inside it.
                position = match.start() + 1

    @staticmethod
    def _at(text: str, start: int, end: int) -> Candidate | None:
        """The IBAN starting at ``start``: the match may run on into the next words ("… 7654 32 thanks"), so it is
        cut where the country's registered length ends, which must be a group boundary."""
        length = iban_length(text[start : start + 2])
        if length is None:
            return None
        raw = text[start:end]
        separators = [char for char in raw if not char.isalnum()]
        taken = 0
        for index, char in enumerate(raw):
            if char.isalnum():
                taken += 1
                if taken == length:
                    cut = index + 1
                    break
            elif char != separators[0]:
                return None  # a second kind of separator before the end: not one IBAN written consistently
        else:
            return None
        if cut < len(raw) and raw[cut].isalnum():
            return None
        compact = "".join(char for char in raw[:cut] if char.isalnum()).upper()
        if not is_valid_iban(compact) or not stands_alone(text, start, start + cut):
            return None
        grouped = cut != len(compact)
        return Candidate(start, start + cut, 0.9 if grouped else 0.85, "grouped" if grouped else "contiguous")
