"""``Detector``: normalize a text, read its digit skeleton, let every entity type find its numbers, score them in
context, and map them back to the original text.

One pass, linear in the text: normalization (a C-level translate), the skeleton (one regex over digit groups), the
candidates of each registered type (group-aligned spans tested by the type's validity rules), context scoring of
the candidates that context can still change (presidio's ``ContextAwareEnhancer`` protocol, our
``ContextWordEnhancer``, on lazily tokenized stretches around each candidate), and overlap resolution in
O(n log n). A text without a digit costs one regex search. presidio's ``AnalyzerEngine`` is not in the path: its
result de-duplication is quadratic in the number of results (a 1 MB mail of card numbers would time out), and it
would re-tokenize every window; the recognizers are presidio ``EntityRecognizer``s all the same, usable in one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from presidio_analyzer import RecognizerResult

from securedesk.detection.context import ContextWordEnhancer
from securedesk.detection.finding import Finding
from securedesk.detection.nlp import LazyNlpArtifacts, LightweightNlpEngine, fold_text
from securedesk.detection.normalization import normalize_text
from securedesk.detection.recognizers import ENTITY_REGISTRY, ENTITY_TYPES, SecureDeskRecognizer, build_recognizers
from securedesk.detection.skeleton import Skeleton
from securedesk.errors import ConfigError, DetectionError, InvalidInput
from securedesk.sensitive import Sensitive

if TYPE_CHECKING:
    from securedesk.config import Settings

DEFAULT_LANGUAGES: Final = ("en", "fr", "sv")
#: A finding at or above this score is "found"; policy may choose another threshold per entity.
DEFAULT_SCORE_THRESHOLD: Final = 0.5
#: Candidates below this score are dropped even when a caller asks for weak findings.
MIN_CANDIDATE_SCORE: Final = 0.05
#: Entity types in priority order, for ties between overlapping findings.
_PRIORITY: Final = MappingProxyType({entity: index for index, entity in enumerate(ENTITY_TYPES)})
_LANGUAGE_CODE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?")
_DIGIT: Final = re.compile(r"[0-9]")
_ANY_DIGIT: Final = re.compile(r"\d")  # a decimal digit of any script


class Detector:
    """Finds CREDIT_CARD, US_SSN, FR_NIR, SE_PERSONNUMMER and IBAN_CODE in text. Thread-safe: holds no per-call
    state, so one instance can serve a thread pool."""

    def __init__(
        self,
        recognizers: Sequence[SecureDeskRecognizer],
        *,
        languages: Sequence[str],
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        enhancer: ContextWordEnhancer | None = None,
    ) -> None:
        if not 0.0 < score_threshold <= 1.0:
            raise ConfigError(
                f"The detection score threshold must be above 0 and at most 1, not {score_threshold}.",
                hint="set detection_score_threshold",
            )
        self._languages = tuple(languages)
        self._recognizers: dict[str, dict[str, SecureDeskRecognizer]] = {
            lang: {recognizer.ENTITY: recognizer for recognizer in recognizers if recognizer.supported_language == lang}
            for lang in self._languages
        }
        self._enhancer = enhancer if enhancer is not None else ContextWordEnhancer(recognizers)
        self._nlp = LightweightNlpEngine(self._languages)
        self._nlp.load()
        self._score_threshold = score_threshold

    @classmethod
    def create(
        cls, languages: Sequence[str] = DEFAULT_LANGUAGES, *, score_threshold: float = DEFAULT_SCORE_THRESHOLD
    ) -> Detector:
        """Our recognizers per language and context-word scoring; nothing is downloaded or loaded from disk."""
        languages = tuple(dict.fromkeys(languages))
        unsupported = [lang for lang in languages if lang not in DEFAULT_LANGUAGES]
        if unsupported or not languages:
            raise ConfigError(
                f"Detection languages must be some of {', '.join(DEFAULT_LANGUAGES)}; got "
                f"{', '.join(repr(lang) for lang in languages) or 'none'}.",
                hint="set detection_languages",
            )
        normalize_text("\uff10")  # build the normalization table now, not during the first request
        return cls(build_recognizers(languages), languages=languages, score_threshold=score_threshold)

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

    def recognizers(self, lang: str) -> tuple[SecureDeskRecognizer, ...]:
        """The presidio recognizers for one language (to use in a presidio ``AnalyzerEngine`` too)."""
        return tuple(self._recognizers[self.resolve_language(lang)].values())

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
        if not wanted or _ANY_DIGIT.search(text) is None:
            return []
        try:
            return self._analyze(text, language, wanted, floor)
        except (DetectionError, InvalidInput):
            raise
        except Exception as exc:  # fail closed, and never echo the text
            raise DetectionError(f"Detection failed ({type(exc).__name__}); the content was not screened.") from None

    def analyze_parts(
        self,
        texts: Sequence[str],
        lang: str,
        entities: Collection[str] | None = None,
        *,
        min_score: float | None = None,
    ) -> list[list[Finding]]:
        """``analyze`` for each of several texts of one message (an email's parts, a form's fields), in order."""
        return [self.analyze(text, lang, entities, min_score=min_score) for text in texts]

    def _analyze(self, text: str, language: str, wanted: list[str], floor: float) -> list[Finding]:
        normalized = normalize_text(text)
        if _DIGIT.search(normalized.text) is None:
            return []
        skeleton = Skeleton(normalized.text, min_length=min(_MIN_LENGTH[entity] for entity in wanted))
        recognizers = self._recognizers[language]
        scored: list[RecognizerResult] = []
        needs_context: list[RecognizerResult] = []
        for entity in ENTITY_REGISTRY:
            if entity.ENTITY not in wanted:
                continue
            recognizer = recognizers[entity.ENTITY]
            candidates = list(entity.candidates(skeleton))
            reach = _ContextReach(recognizer, normalized.text, many=len(candidates) > _MANY_CANDIDATES)
            for candidate in candidates:
                result = recognizer.result(candidate, candidate.start, candidate.end)
                scored.append(result)
                if reach.within(result.start, result.end):
                    needs_context.append(result)
        if needs_context:
            artifacts = LazyNlpArtifacts(normalized.text, language, self._nlp)
            self._enhancer.enhance_using_context(normalized.text, needs_context, artifacts, list(recognizers.values()))
        findings: list[Finding] = []
        for result in scored:
            result.score = round(float(result.score), 4)  # "0.7 - 0.2" must compare as 0.5
        for result in _without_overlaps([result for result in scored if result.score >= floor]):
            score = result.score
            original_start, original_end = normalized.original_span(result.start, result.end)
            compact = "".join(char for char in normalized.text[result.start : result.end] if char.isalnum()).upper()
            compact = _strip_label(compact, result.entity_type)
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


#: The fewest group characters a number of each type has (what the skeleton may skip below).
_MIN_LENGTH: Final = {entity.ENTITY: entity.min_length for entity in ENTITY_REGISTRY}

#: How far context scoring can read around a candidate (``nlp._MAX_CONTEXT_SPAN``, and a word's length).
_CONTEXT_REACH: Final = 512 + 32


#: Beyond this many candidates of one type in a text, context words are located once in the whole text.
_MANY_CANDIDATES: Final = 32


class _ContextReach:
    """Whether any context word of a recognizer stands within reach of a candidate: if none does, context scoring
    would change nothing, and a dense text of numbers skips it for most candidates. For a few candidates each
    window is searched; for many, the words are located once (when folding keeps offsets, as for ASCII text)."""

    def __init__(self, recognizer: SecureDeskRecognizer, text: str, *, many: bool) -> None:
        self._recognizer = recognizer
        self._text = text
        self._positions: list[int] | None = None
        if many:
            folded = fold_text(text)
            if len(folded) == len(text):
                self._positions = recognizer.context_positions(folded)

    def within(self, start: int, end: int) -> bool:
        low, high = max(0, start - _CONTEXT_REACH), end + _CONTEXT_REACH
        if self._positions is None:
            return self._recognizer.mentions_context(fold_text(self._text[low:high]))
        index = bisect.bisect_left(self._positions, low)
        return index < len(self._positions) and self._positions[index] < high


#: Letters a key label leaves in a NIR's compact form ("…045CLE28" → "…04528").
_LABEL_LETTERS: Final = re.compile(r"CL[EÉ]|KEY|NYCKEL")


def _strip_label(compact: str, entity_type: str) -> str:
    if entity_type == "FR_NIR" and len(compact) > 15:
        return _LABEL_LETTERS.sub("", compact)
    return compact


def _without_overlaps(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Where findings overlap, keep the higher score; on a tie the longer one (it explains more of the text), then
    the entity type listed first in the registry. O(n log n): kept spans never overlap, so one neighbour on each
    side decides."""
    if len(results) < 2:
        return results
    ranked = sorted(results, key=lambda r: (-r.score, r.start - r.end, _PRIORITY.get(r.entity_type, 99), r.start))
    starts: list[int] = []
    ends: list[int] = []
    kept: list[RecognizerResult] = []
    for result in ranked:
        index = bisect.bisect_left(starts, result.start)
        if index < len(starts) and starts[index] < result.end:
            continue
        if index > 0 and ends[index - 1] > result.start:
            continue
        starts.insert(index, result.start)
        ends.insert(index, result.end)
        kept.append(result)
    return kept
