"""The registry: every entity type we detect, one module each, registered here in one place.

The single-text path (``Detector.analyze``), the many-texts path (``Detector.analyze_parts``: an email's parts, a
form's fields) and the conversation path (``ConversationScanner``) all read this one registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from securedesk.detection.recognizers.base import Candidate, EntityType, SecureDeskRecognizer
from securedesk.detection.recognizers.credit_card import CreditCard, card_brand, is_card_number
from securedesk.detection.recognizers.fr_nir import FrNir, is_valid_nir
from securedesk.detection.recognizers.iban import Iban, is_valid_iban
from securedesk.detection.recognizers.se_personnummer import SePersonnummer, is_valid_personnummer
from securedesk.detection.recognizers.us_ssn import UsSsn, is_issuable_ssn

#: Entity types in priority order: when two findings of equal score overlap, the earlier type wins.
ENTITY_REGISTRY: Final[tuple[EntityType, ...]] = (CreditCard(), Iban(), FrNir(), SePersonnummer(), UsSsn())
ENTITY_TYPES: Final[tuple[str, ...]] = tuple(entity.ENTITY for entity in ENTITY_REGISTRY)


def build_recognizers(languages: Sequence[str]) -> list[SecureDeskRecognizer]:
    """One presidio recognizer per entity type and language (presidio binds a recognizer to one language)."""
    return [SecureDeskRecognizer(entity, supported_language=lang) for lang in languages for entity in ENTITY_REGISTRY]


__all__ = [
    "ENTITY_REGISTRY",
    "ENTITY_TYPES",
    "Candidate",
    "CreditCard",
    "EntityType",
    "FrNir",
    "Iban",
    "SePersonnummer",
    "SecureDeskRecognizer",
    "UsSsn",
    "build_recognizers",
    "card_brand",
    "is_card_number",
    "is_issuable_ssn",
    "is_valid_iban",
    "is_valid_nir",
    "is_valid_personnummer",
]
