"""``Detector``: normalize a text, find candidate windows, run presidio's ``AnalyzerEngine`` on them, map back.

Every entity we detect contains a run of nine digits or more (for an IBAN, its account number). Fast path: a text
without such a run never reaches a recognizer. For each run, the recognizers are first asked directly, on just
the stretch an entity holding it can span (checksums reject most order, phone and invoice numbers there); only a
window around a run that holds a candidate (about 64 characters of context before it, 40 after) goes through the
AnalyzerEngine, for context scoring. So a 5 KB email with a phone number in its signature costs little more than
scanning it, and a message with a card number costs one analyzer pass over a short window.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult

from securedesk.detection.context import ContextWordEnhancer
from securedesk.detection.finding import Finding
from securedesk.detection.nlp import LightweightNlpEngine, fold_text
from securedesk.detection.normalization import normalize_text
from securedesk.detection.recognizers import ENTITY_TYPES, SecureDeskRecognizer, build_recognizers
from securedesk.detection.recognizers.digit_runs import SEPARATORS, SPACE_SEPARATORS
from securedesk.errors import ConfigError, DetectionError, InvalidInput
from securedesk.sensitive import Sensitive

if TYPE_CHECKING:
    from securedesk.config import Settings

DEFAULT_LANGUAGES: Final = ("en", "fr", "sv")
#: A finding at or above this score is "found"; policy may choose another threshold per entity.
DEFAULT_SCORE_THRESHOLD: Final = 0.5
#: Candidates below this score are dropped even when a caller asks for weak findings.
MIN_CANDIDATE_SCORE: Final = 0.05

#: A run of digit groups joined by one separator used throughout ("+": the personnummer of someone 100 or older).
#: Every entity we detect contains such a run of nine digits or more; for an IBAN it is the account number. No
#: lookbehind and a digit first, so the regex engine skips quickly from digit to digit.
_RUN: Final = re.compile(rf"[0-9]+(?:([{re.escape(SEPARATORS)}+])[0-9]+(?:\1[0-9]+)*)?")
#: The exception: a NIR of someone born in Corsica (department 2A/2B) is cut in two by its letter.
_CORSICAN_NIR: Final = re.compile(
    rf"[0-9](?:[{re.escape(SEPARATORS)}]?[0-9]){{4}}[{re.escape(SEPARATORS)}]?2[ABab](?:[{re.escape(SEPARATORS)}]?[0-9]){{8}}"
)
_MIN_RUN_DIGITS: Final = 9
_SEPARATOR_SET: Final = frozenset(SEPARATORS + "+")
_WHITESPACE: Final = re.compile(r"[ \n\t]")
#: Entity types in priority order, for ties between overlapping findings.
_PRIORITY: Final = MappingProxyType({entity: index for index, entity in enumerate(ENTITY_TYPES)})
_LANGUAGE_CODE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?")


class Detector:
    """Finds CREDIT_CARD, US_SSN, FR_NIR, SE_PERSONNUMMER and IBAN_CODE in text. Thread-safe: holds no per-call
    state, so one instance can serve a thread pool."""

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        *,
        languages: Sequence[str],
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        context_before: int = 64,
        context_after: int = 40,
        snap_limit: int = 24,
    ) -> None:
        if not 0.0 < score_threshold <= 1.0:
            raise ConfigError(
                f"The detection score threshold must be above 0 and at most 1, not {score_threshold}.",
                hint="set detection_score_threshold",
            )
        self._analyzer = analyzer
        self._languages = tuple(languages)
        self._recognizers: dict[str, list[SecureDeskRecognizer]] = {
            lang: [
                recognizer
                for recognizer in analyzer.registry.recognizers
                if isinstance(recognizer, SecureDeskRecognizer) and recognizer.supported_language == lang
            ]
            for lang in self._languages
        }
        self._score_threshold = score_threshold
        self._context_before = context_before
        self._context_after = context_after
        self._snap_limit = snap_limit

    @classmethod
    def create(
        cls, languages: Sequence[str] = DEFAULT_LANGUAGES, *, score_threshold: float = DEFAULT_SCORE_THRESHOLD
    ) -> Detector:
        """Build the analyzer: our recognizers per language, the lightweight NLP engine, context-word scoring."""
        languages = tuple(dict.fromkeys(languages))
        unsupported = [lang for lang in languages if lang not in DEFAULT_LANGUAGES]
        if unsupported or not languages:
            raise ConfigError(
                f"Detection languages must be some of {', '.join(DEFAULT_LANGUAGES)}; got "
                f"{', '.join(repr(lang) for lang in languages) or 'none'}.",
                hint="set detection_languages",
            )
        nlp_engine = LightweightNlpEngine(languages)
        nlp_engine.load()
        recognizers = build_recognizers(languages)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=list(languages))
        analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=list(languages),
            context_aware_enhancer=ContextWordEnhancer(recognizers),
            default_score_threshold=MIN_CANDIDATE_SCORE,
        )
        normalize_text("\uff10")  # build the normalization table now, not during the first request
        return cls(analyzer, languages=languages, score_threshold=score_threshold)

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        return cls.create(settings.detection_languages, score_threshold=settings.detection_score_threshold)

    @property
    def languages(self) -> tuple[str, ...]:
        return self._languages

    @property
    def entity_types(self) -> tuple[str, ...]:
        return ENTITY_TYPES

    @property
    def score_threshold(self) -> float:
        """Findings scoring at least this are returned by default ("found")."""
        return self._score_threshold

    @property
    def analyzer(self) -> AnalyzerEngine:
        return self._analyzer

    def resolve_language(self, lang: str) -> str:
        """``lang`` as one of our language codes ("EN", "sv-SE" and "fr_FR" are accepted); InvalidInput if not."""
        if isinstance(lang, str) and _LANGUAGE_CODE.fullmatch(lang):
            base = lang.replace("_", "-").split("-", 1)[0].lower()
            if base in self._languages:
                return base
            shown = f"Unsupported language {lang!r}."
        else:
            shown = "Unsupported language."  # letters only are echoed: a digit in here may be anything at all
        raise InvalidInput(shown, hint=f"use one of {', '.join(self._languages)}")

    def analyze(
        self,
        text: str,
        lang: str,
        entities: Collection[str] | None = None,
        *,
        min_score: float | None = None,
    ) -> list[Finding]:
        """Findings in ``text``, ordered by start, without overlaps.

        By default only findings scoring at least ``score_threshold`` are returned. Pass ``min_score`` (e.g. 0.0)
        to also get weaker candidates, such as nine bare digits without SSN context, each with its score.
        """
        if not isinstance(text, str):
            raise InvalidInput("Text to analyze must be a string.")
        language = self.resolve_language(lang)
        wanted = self._entity_list(entities)
        floor = self._score_threshold if min_score is None else max(min_score, MIN_CANDIDATE_SCORE)
        if not wanted:
            return []
        normalized = normalize_text(text)
        gates = self._recognizers[language]
        if len(wanted) < len(ENTITY_TYPES):
            gates = [recognizer for recognizer in gates if recognizer.ENTITY in wanted]
        raw: list[tuple[int, int, RecognizerResult]] = []
        for window_start, window_end, types in self._windows_to_analyze(normalized.text, gates, floor):
            window = normalized.text[window_start:window_end]
            for result in self._analyze_window(window, language, types):
                raw.append((window_start + result.start, window_start + result.end, result))
        findings: list[Finding] = []
        for start, end, result in _without_overlaps(raw):
            score = round(float(result.score), 4)
            if score < floor:
                continue
            original_start, original_end = normalized.original_span(start, end)
            compact = "".join(char for char in normalized.text[start:end] if char.isalnum()).upper()
            findings.append(
                Finding(
                    entity_type=result.entity_type,
                    start=original_start,
                    end=original_end,
                    score=score,
                    value=Sensitive(text[original_start:original_end]),
                    digits=Sensitive(compact),
                )
            )
        findings.sort(key=lambda finding: finding.start)
        return findings

    def _entity_list(self, entities: Collection[str] | None) -> list[str]:
        if entities is None:
            return list(ENTITY_TYPES)
        unknown = sorted(set(entities) - set(ENTITY_TYPES))
        if unknown:
            raise InvalidInput(
                f"Unknown entity types: {', '.join(unknown)}.", hint=f"use any of {', '.join(ENTITY_TYPES)}"
            )
        return [entity for entity in ENTITY_TYPES if entity in entities]

    def _analyze_window(self, window: str, language: str, entities: list[str]) -> list[RecognizerResult]:
        try:
            results: list[RecognizerResult] = self._analyzer.analyze(
                text=window, language=language, entities=entities, score_threshold=MIN_CANDIDATE_SCORE
            )
        except Exception as exc:  # presidio and regex errors alike: fail closed, and never echo their text
            raise DetectionError(f"Detection failed ({type(exc).__name__}); the content was not screened.") from None
        return results

    def _windows_to_analyze(
        self, text: str, gates: list[SecureDeskRecognizer], floor: float
    ) -> list[tuple[int, int, list[str]]]:
        """Windows worth a full analyzer pass, merged, each with the entity types to look for in it.

        Every entity we detect contains a run of nine digits or more. For each run, the recognizers are asked
        directly, on just the stretch of text an entity holding that run can span: far cheaper than an analyzer
        pass, and most runs are order, phone or invoice numbers that no checksum accepts. A candidate scoring
        below ``floor`` can only reach it with one of its context words, so without any in its window it is not
        worth analyzing either. The window adds context on both sides, widened to whitespace so no word is cut.
        """
        windows: list[tuple[int, int, list[str]]] = []
        for run_start, run_end, digits, spaced in _digit_runs(text):
            start = self._snap_start(text, max(0, run_start - self._context_before))
            end = self._snap_end(text, min(len(text), run_end + self._context_after))
            types: list[str] = []
            folded: str | None = None
            for gate in gates:
                if not gate.could_hold(digits, spaced):
                    continue
                # A region may cut a word at its edge: that can only add a candidate, judged later on the window.
                region = text[max(0, run_start - gate.REACH) : run_end + gate.REACH]
                best = -1.0
                for candidate in gate.find_candidates(region):
                    best = max(best, candidate.score)
                if best < 0:
                    continue
                if best < floor:
                    folded = fold_text(text[start:end]) if folded is None else folded
                    if not gate.mentions_context(folded):
                        continue
                types.append(gate.ENTITY)
            if not types:
                continue
            if windows and start <= windows[-1][1]:
                previous_start, previous_end, previous_types = windows[-1]
                merged = [entity for entity in ENTITY_TYPES if entity in previous_types or entity in types]
                windows[-1] = (previous_start, max(end, previous_end), merged)
            else:
                windows.append((start, end, types))
        return windows

    def _snap_start(self, text: str, start: int) -> int:
        """Move a window start back to just after a space or line break, and never inside a number."""
        lower = max(0, start - self._snap_limit)
        space = max(text.rfind(" ", lower, start), text.rfind("\n", lower, start), text.rfind("\t", lower, start))
        start = space + 1 if space >= 0 else lower
        while start > 0 and (
            text[start - 1].isdigit() or (start > 1 and text[start - 1] in _SEPARATOR_SET and text[start - 2].isdigit())
        ):
            start -= 1
        return start

    def _snap_end(self, text: str, end: int) -> int:
        """Move a window end forward to a space or line break, and never inside a number."""
        space = _WHITESPACE.search(text, end, min(len(text), end + self._snap_limit))
        end = space.start() if space is not None else min(len(text), end + self._snap_limit)
        while end < len(text) and (
            text[end].isdigit() or (end + 1 < len(text) and text[end] in _SEPARATOR_SET and text[end + 1].isdigit())
        ):
            end += 1
        return end


def _shape(text: str) -> bytes:
    """The text mapped byte for byte to its shape: digit "0", possible separator "s", anything else "x".

    Patterns over the shape start with a literal, which lets the regex engine jump from digit to digit about three
    times faster than a character class over the text itself. "replace" keeps one byte per character: anything
    beyond Latin-1 becomes "?", which counts as a possible separator (thin spaces and en-dashes are beyond
    Latin-1), so areas are never missed, only widened.
    """
    return text.encode("latin-1", errors="replace").translate(_SHAPE_TABLE)


def _shape_table() -> bytes:
    table = bytearray(b"x" * 256)
    for byte in b"0123456789":
        table[byte] = ord("0")
    for byte in (SEPARATORS + "+?").encode("latin-1", errors="ignore"):
        table[byte] = ord("s")
    return bytes(table)


_SHAPE_TABLE: Final = _shape_table()
#: Where runs of nine digits or more can be: nine digits or more with single separators of any kind between them.
#: Few matches, so few match objects; _RUN then looks only inside these areas.
_DIGIT_AREA_SHAPE: Final = re.compile(rb"0(?:s?0){8,}")
#: Where a Corsican NIR can be: six digits, the department letter, eight digits ("2 53 07 2A 073 004 43").
_CORSICAN_SHAPE: Final = re.compile(rb"0(?:s?0){5}x(?:s?0){8}")


def _digit_runs(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, digits, space-separated) of each run of nine digits or more, and of each Corsican NIR (its
    characters, department letter included), in order."""
    shape = _shape(text)
    runs: list[tuple[int, int, str, bool]] = []
    for area in _DIGIT_AREA_SHAPE.finditer(shape):
        for match in _RUN.finditer(text, area.start(), area.end()):
            separator, run = match.group(1), match.group()
            digits = run.replace(separator, "") if separator else run
            if len(digits) < _MIN_RUN_DIGITS:
                continue
            start = match.start()
            if start and text[start - 1] == "+":
                continue  # a phone number's country code, never part of an entity
            runs.append((start, match.end(), digits, separator in SPACE_SEPARATORS))
    corsican = [
        (
            nir.start(),
            nir.end(),
            "".join(char for char in nir.group() if char.isalnum()).upper(),
            any(char in SPACE_SEPARATORS for char in nir.group()),
        )
        for area in _CORSICAN_SHAPE.finditer(shape)
        if (nir := _CORSICAN_NIR.match(text, area.start())) is not None
    ]
    return sorted(runs + corsican) if corsican else runs


def _without_overlaps(raw: list[tuple[int, int, RecognizerResult]]) -> list[tuple[int, int, RecognizerResult]]:
    """Where findings overlap, keep the higher score; on a tie the longer one (it explains more of the text), then
    the entity type listed first in ENTITY_TYPES."""
    if len(raw) < 2:
        return raw
    ranked = sorted(
        raw, key=lambda item: (-item[2].score, item[0] - item[1], _PRIORITY.get(item[2].entity_type, 99), item[0])
    )
    kept: list[tuple[int, int, RecognizerResult]] = []
    for item in ranked:
        if all(item[1] <= other[0] or item[0] >= other[1] for other in kept):
            kept.append(item)
    return kept
