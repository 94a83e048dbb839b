"""Apply findings to a text: each becomes a mask such as ``[CARD •••• 1111]``, and card verification codes and
expiry dates next to a detected card are removed outright (never kept, not even for the vault)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from securedesk.detection import ENTITY_TYPES, Finding, card_brand, normalize_text
from securedesk.errors import InvalidInput
from securedesk.sensitive import Sensitive

#: What each entity type is called inside its mask.
MASK_LABELS: Final[dict[str, str]] = {
    "CREDIT_CARD": "CARD",
    "US_SSN": "SSN",
    "FR_NIR": "FR_NIR",
    "SE_PERSONNUMMER": "PERSONNUMMER",
    "IBAN_CODE": "IBAN",
}
CVV_MARKER: Final = "[CVV removed]"
EXPIRY_MARKER: Final = "[EXPIRY removed]"
#: A value shorter than this shows no digits at all in its mask, so the mask never gives away most of it.
_MIN_LENGTH_TO_SHOW_LAST4: Final = 8

# Keywords are matched in the normalized text (ASCII digits, full-width letters folded, zero-width removed).
_GAP: Final = r"[^\d\n]{0,14}?"
_CVV: Final = re.compile(
    r"\b(?:cvv2?|cvc2?|cvn|cid|csc|card\s+verification\s+(?:code|value|number)|security\s+code|"
    r"code\s+(?:de\s+s[ée]curit[ée]|cvv|cvc|secret)|cryptogramme(?:\s+visuel)?|crypto|"
    r"s[äa]kerhetskod(?:en)?|kontrollkod(?:en)?|kontrollsiffr(?:a|or|orna)|verifieringskod(?:en)?|cvv-kod(?:en)?)"
    rf"(?!\w){_GAP}(?<!\d)\d{{3,4}}(?!\d)",
    re.IGNORECASE,
)
_EXPIRY_DATE: Final = r"(?<!\d)(?:0?[1-9]|1[0-2])\s?[/\-.]\s?(?:20\d{2}|\d{2})(?!\d)"
_EXPIRY: Final = re.compile(
    r"\b(?:exp(?:iry|iration|ires|ire|\.)?(?:\s+date)?|valid\s+(?:thru|through|until|till|to)|good\s+thru|"
    r"date\s+d['’]\s?exp(?:iration)?|expire(?:s|\s+le|\s+fin)?|fin\s+de\s+validit[ée]|"
    r"valable\s+jusqu['’]\s?(?:à|au|a|en)|validit[ée]|"
    r"giltig(?:t|hetstid)?(?:\s+till)?|utg[åa]ngsdatum|utg[åa]r|g[åa]r\s+ut)"
    rf"(?!\w){_GAP}{_EXPIRY_DATE}",
    re.IGNORECASE,
)
#: Right after a card with nothing but punctuation between: "4111 1111 1111 1111 12/29 737".
_ADJACENT_EXPIRY: Final = re.compile(rf"[\s,;:|]{{1,3}}({_EXPIRY_DATE})")
_ADJACENT_CVV: Final = re.compile(r"[\s,;:|]{1,3}((?<!\d)\d{3,4})(?![\d/.,\-]\d|\d)")
_SEARCH_AFTER: Final = 100
_SEARCH_BEFORE: Final = 80


@dataclass(frozen=True, slots=True)
class RedactedItem:
    """One replaced span of the original text, with what the vault needs: the original value and its digits."""

    entity_type: str
    start: int
    end: int
    value: Sensitive
    mask: str
    digits: Sensitive
    score: float
    last4: str
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class DiscardedItem:
    """A card verification code or expiry date that was removed; its value is deliberately not kept."""

    kind: str  # "CVV" or "EXPIRY"
    start: int
    end: int
    marker: str


@dataclass(frozen=True)
class Redaction:
    text: str
    items: list[RedactedItem] = field(default_factory=list)
    discarded: list[DiscardedItem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.items or self.discarded)


def mask_for(entity_type: str, digits: str) -> str:
    """``[CARD •••• 1111]``: the label and at most the last four characters of the normalized value."""
    label = MASK_LABELS.get(entity_type, entity_type)
    if len(digits) < _MIN_LENGTH_TO_SHOW_LAST4:
        return f"[{label} ••••]"
    return f"[{label} •••• {digits[-4:]}]"


def redact_text(text: str, findings: Sequence[Finding]) -> Redaction:
    """Replace each finding (overlapping ones merged) by its mask; remove CVV and expiry near each card."""
    for finding in findings:
        if not 0 <= finding.start < finding.end <= len(text):
            raise InvalidInput("A finding does not fit the text it is applied to.", hint="redact the analyzed text")
    items = _merge(text, findings)
    discarded = _card_extras(text, items)
    replacements: list[tuple[int, int, str]] = [(item.start, item.end, item.mask) for item in items]
    replacements += [(item.start, item.end, item.marker) for item in discarded]
    replacements.sort()
    pieces: list[str] = []
    position = 0
    for start, end, marker in replacements:
        pieces.append(text[position:start])
        pieces.append(marker)
        position = end
    pieces.append(text[position:])
    return Redaction("".join(pieces), items, discarded)


def _merge(text: str, findings: Sequence[Finding]) -> list[RedactedItem]:
    """Overlapping findings become one item spanning them all, typed by the strongest (then ENTITY_TYPES order)."""
    priority = {entity: index for index, entity in enumerate(ENTITY_TYPES)}
    groups: list[list[Finding]] = []
    group_end = -1
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if groups and finding.start < group_end:
            groups[-1].append(finding)
            group_end = max(group_end, finding.end)
        else:
            groups.append([finding])
            group_end = finding.end
    items: list[RedactedItem] = []
    for group in groups:
        winner = max(group, key=lambda f: (f.score, -priority.get(f.entity_type, len(priority))))
        start, end = min(f.start for f in group), max(f.end for f in group)
        digits = winner.digits.reveal()
        items.append(
            RedactedItem(
                entity_type=winner.entity_type,
                start=start,
                end=end,
                value=Sensitive(text[start:end]),
                mask=mask_for(winner.entity_type, digits),
                digits=winner.digits,
                score=winner.score,
                last4=digits[-4:] if len(digits) >= _MIN_LENGTH_TO_SHOW_LAST4 else "",
                brand=card_brand(digits) if winner.entity_type == "CREDIT_CARD" else None,
            )
        )
    return items


def _card_extras(text: str, items: Sequence[RedactedItem]) -> list[DiscardedItem]:
    """CVV codes and expiry dates before or after each card, found in the normalized text, mapped back."""
    cards = [item for item in items if item.entity_type == "CREDIT_CARD"]
    if not cards:
        return []
    normalized = normalize_text(text)
    norm = normalized.text
    taken = [(normalized.normalized_index(item.start), normalized.normalized_index(item.end)) for item in items]
    found: list[tuple[int, int, str]] = []

    def claim(start: int, end: int, kind: str) -> None:
        if all(end <= other_start or start >= other_end for other_start, other_end in taken):
            taken.append((start, end))
            found.append((start, end, kind))

    for card in cards:
        card_start, card_end = normalized.normalized_index(card.start), normalized.normalized_index(card.end)
        # Keep the search from running into a neighbouring finding.
        upper = min([s for s, _ in taken if s >= card_end] + [card_end + _SEARCH_AFTER, len(norm)])
        lower = max([e for _, e in taken if e <= card_start] + [card_start - _SEARCH_BEFORE, 0])
        adjacent_end = card_end
        expiry = _ADJACENT_EXPIRY.match(norm, card_end, upper)
        if expiry is not None:
            claim(expiry.start(1), expiry.end(1), "EXPIRY")
            adjacent_end = expiry.end()
        cvv = _ADJACENT_CVV.match(norm, adjacent_end, upper)
        if cvv is not None:
            claim(cvv.start(1), cvv.end(1), "CVV")
        for pattern, kind in ((_CVV, "CVV"), (_EXPIRY, "EXPIRY")):
            for region_start, region_end in ((card_end, upper), (lower, card_start)):
                for match in pattern.finditer(norm, region_start, region_end):
                    claim(match.start(), match.end(), kind)
    discarded: list[DiscardedItem] = []
    for start, end, kind in sorted(found):
        original_start, original_end = normalized.original_span(start, end)
        marker = CVV_MARKER if kind == "CVV" else EXPIRY_MARKER
        discarded.append(DiscardedItem(kind, original_start, original_end, marker))
    return discarded
