"""Detection of card numbers, national IDs and IBANs in free text (recognizers on presidio-analyzer)."""

from __future__ import annotations

from securedesk.detection.detector import DEFAULT_LANGUAGES, DEFAULT_SCORE_THRESHOLD, Detector
from securedesk.detection.finding import Finding
from securedesk.detection.normalization import NormalizedText, normalize_text
from securedesk.detection.recognizers import ENTITY_TYPES, card_brand

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_SCORE_THRESHOLD",
    "ENTITY_TYPES",
    "Detector",
    "Finding",
    "NormalizedText",
    "card_brand",
    "normalize_text",
]
