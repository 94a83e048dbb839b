"""Our recognizers, one file per entity, registered here in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from securedesk.detection.recognizers.base import Candidate, SecureDeskRecognizer
from securedesk.detection.recognizers.credit_card import CreditCardRecognizer, card_brand, is_card_number
from securedesk.detection.recognizers.fr_nir import FrNirRecognizer, is_valid_nir
from securedesk.detection.recognizers.iban import IbanRecognizer, is_valid_iban
from securedesk.detection.recognizers.se_personnummer import SePersonnummerRecognizer
from securedesk.detection.recognizers.us_ssn import UsSsnRecognizer, is_issuable_ssn

#: Recognizer classes in priority order: when two findings of equal score overlap, the earlier type wins.
RECOGNIZER_CLASSES: Final[tuple[type[SecureDeskRecognizer], ...]] = (
    CreditCardRecognizer,
    IbanRecognizer,
    FrNirRecognizer,
    SePersonnummerRecognizer,
    UsSsnRecognizer,
)
ENTITY_TYPES: Final[tuple[str, ...]] = tuple(cls.ENTITY for cls in RECOGNIZER_CLASSES)


def build_recognizers(languages: Sequence[str]) -> list[SecureDeskRecognizer]:
    """One instance of each recognizer per language (presidio binds a recognizer to one language)."""
    return [cls(supported_language=lang) for lang in languages for cls in RECOGNIZER_CLASSES]


__all__ = [
    "ENTITY_TYPES",
    "RECOGNIZER_CLASSES",
    "Candidate",
    "CreditCardRecognizer",
    "FrNirRecognizer",
    "IbanRecognizer",
    "SePersonnummerRecognizer",
    "SecureDeskRecognizer",
    "UsSsnRecognizer",
    "build_recognizers",
    "card_brand",
    "is_card_number",
    "is_issuable_ssn",
    "is_valid_iban",
    "is_valid_nir",
]
