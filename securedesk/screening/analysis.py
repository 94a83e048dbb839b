"""The CPU-bound half of screening: pick the language, detect, apply the policy to each finding, redact, and check
that the redacted text holds nothing the policy requires removed. Runs in a worker thread; holds no state.

Policy, per finding: a score below the rule's threshold is no finding; a value on the entity type's allow-list, or
a rule whose action is ``allow``, is left in the text; everything else is masked. Where findings of different
types overlap (redaction merges them into one mask), the strictest action of the group applies to the mask:
block > vault > redact > allow. The message's decision follows from the strictest action of all its masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from securedesk.detection import Finding
from securedesk.detection.conversation import ConversationScan, CrossMessageFinding, TextAnalyzer
from securedesk.errors import RedactionIncomplete
from securedesk.language import LanguageDetector, normalize_language_tag
from securedesk.policy import Action, Policy, Rule
from securedesk.redaction import RedactedItem, mask_for, redact_text
from securedesk.screening.result import Retraction
from securedesk.sensitive import Sensitive

_SEVERITY: Final = {Action.ALLOW: 0, Action.REDACT: 1, Action.VAULT: 2, Action.BLOCK: 3}


def strictest(actions: Iterable[Action]) -> Action:
    """block > vault > redact > allow; ``allow`` for none."""
    return max(actions, key=_SEVERITY.__getitem__, default=Action.ALLOW)


@dataclass(frozen=True, slots=True)
class ActedItem:
    """A masked span and what the policy does with its value (``REDACT``, ``VAULT`` or ``BLOCK``) under ``rule``."""

    item: RedactedItem
    action: Action
    rule: Rule


@dataclass(frozen=True)
class Analysis:
    """A message after detection, policy and redaction, before anything is stored."""

    lang: str  # the customer's language: texts are rendered in it
    detector_lang: str  # the language context scoring ran in (one of the detector's)
    text: str  # redacted
    items: tuple[ActedItem, ...] = ()
    discarded: int = 0
    allowed: int = 0  # findings left in the text: allow-listed values and entity types the policy allows

    @property
    def action(self) -> Action:
        return strictest(acted.action for acted in self.items)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for acted in self.items:
            counts[acted.item.entity_type] = counts.get(acted.item.entity_type, 0) + 1
        return counts


class TextScreen:
    """Language, detection, policy and redaction for one text. Thread-safe (the detectors are)."""

    def __init__(self, detector: TextAnalyzer, language: LanguageDetector, *, verify: bool = True) -> None:
        self._detector = detector
        self._language = language
        self._verify = verify

    @property
    def detector(self) -> TextAnalyzer:
        return self._detector

    def resolve_language(self, text: str, hint: str | None) -> tuple[str, str]:
        """(the customer's language, the detector language): the channel's hint when it names en/fr/sv, else
        detected from the text; the detector language falls back to the detector's first one."""
        lang = normalize_language_tag(hint)
        if lang is None:
            lang, _confidence = self._language.detect(text)
        languages = self._detector.languages
        return lang, (lang if lang in languages else languages[0])

    def analyze(self, text: str, *, lang_hint: str | None, channel: str, policy: Policy) -> Analysis:
        lang, detector_lang = self.resolve_language(text, lang_hint)
        rules = policy.rules_for(channel)
        floor = _floor(rules.values())
        if floor is None:  # every entity type is allowed on this channel
            return Analysis(lang, detector_lang, text)
        findings = self._detector.analyze(text, detector_lang, min_score=floor)
        kept, allowed = select_findings(findings, rules, policy)
        if not kept:
            return Analysis(lang, detector_lang, text, allowed=allowed)
        redaction = redact_text(text, [finding for finding, _rule in kept])
        items = tuple(_acted(item, kept) for item in redaction.items)
        if self._verify:
            leftover, _ = select_findings(
                self._detector.analyze(redaction.text, detector_lang, min_score=floor), rules, policy
            )
            if leftover:
                types = ", ".join(sorted({finding.entity_type for finding, _rule in leftover}))
                raise RedactionIncomplete(f"The redacted text still holds {types}; the message is held.")
        return Analysis(lang, detector_lang, redaction.text, items, len(redaction.discarded), allowed)

    def cross_floor(self, channel: str, policy: Policy, entity_types: Sequence[str]) -> float | None:
        """The lowest threshold among the cross-message types this channel masks (None: it masks none)."""
        rules = policy.rules_for(channel)
        return _floor(rules[entity] for entity in entity_types)

    def apply_cross(
        self, analysis: Analysis, scan: ConversationScan, *, channel: str, policy: Policy
    ) -> tuple[Analysis, tuple[CrossMessageFinding, ...], tuple[Retraction, ...]]:
        """Mask numbers completed by this message (and, in the earlier messages' texts, their first parts).

        Returns the new analysis, the cross-message findings that were masked, and the replacement texts of the
        earlier messages holding their parts.
        """
        rules = policy.rules_for(channel)
        kept: list[tuple[CrossMessageFinding, Rule]] = []
        for finding in scan.findings:
            rule = rules[finding.entity_type]
            if finding.score < rule.threshold or rule.action is Action.ALLOW:
                continue
            if policy.is_allowed_value(finding.entity_type, finding.digits.reveal()):
                continue
            kept.append((finding, rule))
        if not kept:
            return analysis, (), ()
        text = analysis.text
        synthetic = [
            (
                Finding(
                    entity_type=finding.entity_type,
                    start=finding.current_part.start,
                    end=finding.current_part.end,
                    score=finding.score,
                    value=Sensitive(text[finding.current_part.start : finding.current_part.end]),
                    digits=finding.digits,  # the whole number: its mask shows the number's last four
                ),
                rule,
            )
            for finding, rule in kept
        ]
        redaction = redact_text(text, [finding for finding, _rule in synthetic])
        items = analysis.items + tuple(_acted(item, synthetic) for item in redaction.items)
        updated = Analysis(
            analysis.lang,
            analysis.detector_lang,
            redaction.text,
            items,
            analysis.discarded + len(redaction.discarded),
            analysis.allowed,
        )
        return updated, tuple(finding for finding, _rule in kept), _retractions(scan, [f for f, _ in kept])


def select_findings(
    findings: Iterable[Finding], rules: Mapping[str, Rule], policy: Policy
) -> tuple[list[tuple[Finding, Rule]], int]:
    """The findings the policy masks, each with its rule, and how many it leaves in the text."""
    kept: list[tuple[Finding, Rule]] = []
    allowed = 0
    for finding in findings:
        rule = rules[finding.entity_type]
        if finding.score < rule.threshold:
            continue
        if rule.action is Action.ALLOW or policy.is_allowed_value(finding.entity_type, finding.digits.reveal()):
            allowed += 1
            continue
        kept.append((finding, rule))
    return kept, allowed


def _floor(rules: Iterable[Rule]) -> float | None:
    thresholds = [rule.threshold for rule in rules if rule.action is not Action.ALLOW]
    return min(thresholds) if thresholds else None


def _acted(item: RedactedItem, kept: Sequence[tuple[Finding, Rule]]) -> ActedItem:
    """The mask's action: the strictest among the findings it covers; its rule: the one that asked for it."""
    covered = [rule for finding, rule in kept if finding.start < item.end and finding.end > item.start]
    if not covered:  # cannot happen: every item comes from at least one finding
        raise RedactionIncomplete("A mask does not match any finding; the message is held.")
    rule = max(covered, key=lambda candidate: _SEVERITY[candidate.action])
    return ActedItem(item, rule.action, rule)


def _retractions(scan: ConversationScan, findings: Sequence[CrossMessageFinding]) -> tuple[Retraction, ...]:
    """The earlier messages' texts with their fragments masked (no digit shown: the last four are in the last
    part, shown in the current message's mask)."""
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for finding in findings:
        for part in finding.earlier_parts:
            spans.setdefault(part.message_id, []).append((part.start, part.end, mask_for(finding.entity_type, "")))
    out: list[Retraction] = []
    for message_id in scan.retract:
        if message_id not in spans:
            continue
        text = scan.earlier_texts[message_id].reveal()
        for start, end, mask in sorted(spans[message_id], reverse=True):
            text = text[:start] + mask + text[end:]
        out.append(Retraction(message_id, text))
    return tuple(out)
