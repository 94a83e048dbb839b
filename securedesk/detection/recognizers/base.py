"""What every entity type knows, and the presidio recognizer that presents one type in one language.

An ``EntityType`` is one module's knowledge of one kind of number: the lengths it can have, its validity rules
(checksums, issuer ranges, dates; python-stdnum where it has the scheme), how its layouts score, its context words
per language, and what it may be mistaken for. It reads candidates off a ``Skeleton`` (see ``skeleton``), so every
layout of a number is tried; precision comes from the validity rules, the score of the layout and context words.

``SecureDeskRecognizer`` is the presidio ``EntityRecognizer`` for one type and one language: the ``Detector``
uses it for context scoring (presidio's ``ContextAwareEnhancer`` reads its context words), and it can be added to
any presidio ``AnalyzerEngine`` as it is.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar, NamedTuple

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from securedesk.detection.nlp import fold_word, tokenize
from securedesk.detection.normalization import normalize_text
from securedesk.detection.skeleton import LABEL, Chain, Shape, Skeleton

#: Words that suggest a number is an order, invoice, tracking, product or reference number, or a phone number
#: (all languages): a weak candidate labelled so is not a finding.
REFERENCE_WORDS: tuple[str, ...] = (
    "order", "order number", "invoice", "tracking", "reference", "ref", "ticket", "receipt", "confirmation",
    "booking", "case number", "customer number", "account id", "transaction id", "serial", "serial number",
    "imei", "sku", "ean", "gtin", "upc", "isbn", "barcode", "product", "article", "item", "parcel", "shipment",
    "phone", "tel", "mobile", "fax", "vat", "siret", "siren", "version", "build",
    "commande", "facture", "suivi", "colis", "numéro de suivi", "référence", "dossier", "bon de commande",
    "numéro de série", "produit", "article", "téléphone", "portable", "tva",
    "ordernummer", "order nr", "faktura", "fakturanummer", "referens", "ärende", "ärendenummer", "kundnummer",
    "sändningsnummer", "kollinummer", "bokningsnummer", "kvitto", "serienummer", "artikelnummer", "artikel",
    "telefon", "telefonnummer", "mobilnummer", "organisationsnummer", "orgnr", "momsnummer",
)  # fmt: skip


def _loose_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Any of the phrases' words in order, separated by anything that is not a letter or digit."""
    alternatives = []
    for phrase in phrases:
        words = [fold_word(word) for word in tokenize(phrase) if any(char.isalnum() for char in word)]
        if words:
            alternatives.append(r"\W+".join(re.escape(word) + r"\w*" for word in words))
    return re.compile(rf"(?<![^\W\d])(?:{'|'.join(alternatives)})") if alternatives else None


class Candidate(NamedTuple):
    """A validated match: span in the normalized text, base score before context, and which layout matched.

    A NamedTuple rather than a frozen dataclass: a dense text makes many, and a tuple is built in C."""

    start: int
    end: int
    score: float
    form: str


class EntityType(ABC):
    """One kind of number. Subclasses set the class attributes and implement ``is_valid`` and ``score``."""

    ENTITY: ClassVar[str]
    #: Characters (digits, and the letters of a Corsican department) a number of this type holds.
    LENGTHS: ClassVar[frozenset[int]]
    CONTEXT: ClassVar[Mapping[str, tuple[str, ...]]]
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = REFERENCE_WORDS
    #: Whether a key label ("clé") may stand between two groups of one number (the NIR's key).
    KEY_LABEL: ClassVar[bool] = False

    @property
    def min_length(self) -> int:
        return min(self.LENGTHS)

    @property
    def max_length(self) -> int:
        return max(self.LENGTHS)

    @abstractmethod
    def is_valid(self, compact: str) -> bool:
        """True when ``compact`` (digits, upper-case letters, no separators) is a valid number of this type."""

    @abstractmethod
    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        """(base score, layout name) for a valid number written with ``shape``; None when the layout rules it
        out (for instance a number inside a UUID)."""

    def candidates(self, skeleton: Skeleton) -> Iterator[Candidate]:
        """Every valid number of this type in the skeleton: for each first group the longest valid span, and the
        next search starts after a span taken."""
        low, high = self.min_length, self.max_length
        for chain in skeleton.chains:
            if chain.cumulative[-1] < low:
                continue
            resume = 0
            cumulative, total = chain.cumulative, chain.cumulative[-1]
            for first in range(len(chain)):
                if total - cumulative[first] < low:
                    break  # too few digits left in this chain for any number of this type
                if first < resume or self.skip_start(chain, first, resume):
                    continue
                for last in reversed(chain.ends_within(first, low, high)):
                    compact = chain.span_digits(first, last)
                    if len(compact) not in self.LENGTHS or not self.is_valid(compact):
                        continue
                    shape = skeleton.shape(chain, first, last)
                    if shape.surroundings.opaque or (LABEL in shape.gaps and not self.KEY_LABEL):
                        continue
                    scored = self.score(compact, shape)
                    if scored is None:
                        continue
                    yield Candidate(chain.starts[first], chain.ends[last], scored[0], scored[1])
                    resume = last + 1
                    break

    def skip_start(self, chain: Chain, first: int, resume: int) -> bool:
        """True when no number of this type can start at group ``first`` (``resume``: the first group after the
        last number taken in this chain)."""
        return False


def adjust_for_place(score: float, form: str, shape: Shape) -> tuple[float, str]:
    """The common penalties: part of a longer chain, glued to a word, in a URL path (where long numbers are
    mostly order and object ids: only with context there) or after a country code (a phone number)."""
    if not shape.whole_chain:
        score, form = score - 0.2, f"{form}, part of a longer run"
    if shape.glued:
        score, form = score - 0.1, f"{form}, touching a word"
    if shape.surroundings.in_url_path:
        score, form = score - 0.3, f"{form}, in a URL path"
    if shape.surroundings.country_code:
        score, form = score - 0.3, f"{form}, after a country code"
    return round(score, 2), form


class SecureDeskRecognizer(LocalRecognizer):
    """The presidio recognizer of one entity type in one language: context words per language, no NLP needed."""

    def __init__(self, entity_type: EntityType, supported_language: str = "en") -> None:
        if supported_language not in entity_type.CONTEXT:
            raise ValueError(f"{entity_type.ENTITY} has no context words for language {supported_language!r}")
        self.entity_type = entity_type
        self.negative_context: tuple[str, ...] = entity_type.NEGATIVE_CONTEXT
        self.recognizer_name = f"{type(entity_type).__name__}_{supported_language}"
        self._context_pattern = _loose_pattern(entity_type.CONTEXT[supported_language])
        self._negative_pattern = _loose_pattern(entity_type.NEGATIVE_CONTEXT)
        super().__init__(
            supported_entities=[entity_type.ENTITY],
            supported_language=supported_language,
            name=self.recognizer_name,
            context=list(entity_type.CONTEXT[supported_language]),
        )

    @property
    def ENTITY(self) -> str:  # noqa: N802 - the class-constant name presidio users know
        return self.entity_type.ENTITY

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def result(self, candidate: Candidate, start: int, end: int) -> RecognizerResult:
        """A presidio result for a candidate at [start, end)."""
        explanation = AnalysisExplanation(
            recognizer=self.recognizer_name,
            original_score=candidate.score,
            pattern_name=candidate.form,
            textual_explanation=f"Detected by {self.recognizer_name} ({candidate.form})",
        )
        return RecognizerResult(
            entity_type=self.entity_type.ENTITY,
            start=start,
            end=end,
            score=candidate.score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.recognizer_name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """presidio's entry point: the candidates of this type in ``text``, with offsets into ``text``."""
        if entities and self.entity_type.ENTITY not in entities:
            return []
        normalized = normalize_text(text)
        results = []
        for candidate in self.entity_type.candidates(Skeleton(normalized.text, min_length=self.entity_type.min_length)):
            start, end = normalized.original_span(candidate.start, candidate.end)
            results.append(self.result(candidate, start, end))
        return results

    def context_positions(self, folded_text: str) -> list[int]:
        """Start offsets of every context or negative word in ``folded_text``, in order."""
        positions = [
            match.start()
            for pattern in (self._context_pattern, self._negative_pattern)
            if pattern is not None
            for match in pattern.finditer(folded_text)
        ]
        return sorted(positions)

    def mentions_context(self, folded_text: str) -> bool:
        """True when ``folded_text`` (see ``fold_text``) contains one of this recognizer's context words, or one of
        its negative ones. Looser than the context enhancer (anywhere, words joined by any punctuation), so False
        means context scoring cannot change the candidate's score."""
        return any(
            pattern is not None and pattern.search(folded_text) is not None
            for pattern in (self._context_pattern, self._negative_pattern)
        )
