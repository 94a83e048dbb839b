"""The shape every SecureDesk recognizer shares: a presidio recognizer for one entity and one language.

A subclass yields ``Candidate`` spans with a base score (its checksum and format already checked); the context
enhancer then raises the score for context words of the recognizer's language and lowers it for negative ones.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar, NamedTuple

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from securedesk.detection.nlp import fold_word, tokenize

#: Words that suggest a number is an order, invoice, tracking or reference number (all languages).
REFERENCE_WORDS: tuple[str, ...] = (
    "order", "order number", "invoice", "tracking", "reference", "ref", "ticket", "receipt", "confirmation",
    "booking", "case number", "customer number", "account id", "transaction id",
    "commande", "facture", "suivi", "colis", "numéro de suivi", "référence", "dossier", "bon de commande",
    "ordernummer", "order nr", "faktura", "fakturanummer", "referens", "ärende", "ärendenummer", "kundnummer",
    "sändningsnummer", "kollinummer", "bokningsnummer", "kvitto",
)  # fmt: skip


def _loose_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Any of the phrases' words in order, separated by anything that is not a letter or digit."""
    alternatives = []
    for phrase in phrases:
        words = [fold_word(word) for word in tokenize(phrase) if any(char.isalnum() for char in word)]
        if words:
            alternatives.append(r"\W+".join(re.escape(word) + r"\w*" for word in words))
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})") if alternatives else None


class Candidate(NamedTuple):
    """A validated match: span in the analyzed text, base score before context, and which form matched.

    A NamedTuple rather than a frozen dataclass: recognizers make many, and a tuple is built in C."""

    start: int
    end: int
    score: float
    form: str


class SecureDeskRecognizer(LocalRecognizer):
    """Base for our recognizers: one entity, one language, context words per language, no NLP needed."""

    ENTITY: ClassVar[str]
    #: How far beyond a run of nine digits or more (see the Detector) a candidate containing it can extend, plus
    #: the two characters the boundary checks look at.
    REACH: ClassVar[int]
    CONTEXT: ClassVar[Mapping[str, tuple[str, ...]]]
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = REFERENCE_WORDS

    def __init__(self, supported_language: str = "en") -> None:
        if supported_language not in self.CONTEXT:
            raise ValueError(f"{type(self).__name__} has no context words for language {supported_language!r}")
        self.negative_context: tuple[str, ...] = self.NEGATIVE_CONTEXT
        self.recognizer_name = f"{type(self).__name__}_{supported_language}"
        self._context_pattern = _loose_pattern(self.CONTEXT[supported_language])
        super().__init__(
            supported_entities=[self.ENTITY],
            supported_language=supported_language,
            name=self.recognizer_name,
            context=list(self.CONTEXT[supported_language]),
        )

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        results: list[RecognizerResult] = []
        for candidate in self.find_candidates(text):
            explanation = AnalysisExplanation(
                recognizer=self.recognizer_name,
                original_score=candidate.score,
                pattern_name=candidate.form,
                textual_explanation=f"Detected by {self.recognizer_name} ({candidate.form})",
            )
            results.append(
                RecognizerResult(
                    entity_type=self.ENTITY,
                    start=candidate.start,
                    end=candidate.end,
                    score=candidate.score,
                    analysis_explanation=explanation,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.recognizer_name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results

    def could_hold(self, digits: str, spaced: bool) -> bool:
        """Whether a candidate could lie in a run of these ``digits`` (its separators removed; ``spaced``: the
        groups were separated by spaces, so a candidate may be any part of them). Checked on the digits alone,
        it spares the recognizer's own scan where nothing can be found; True means "maybe"."""
        return True

    def mentions_context(self, folded_text: str) -> bool:
        """True when ``folded_text`` (see ``fold_text``) contains one of this recognizer's context words.

        Looser than the context enhancer (anywhere in the text, words joined by any punctuation), so a False
        here means the enhancer cannot find one either.
        """
        return self._context_pattern is not None and self._context_pattern.search(folded_text) is not None

    @abstractmethod
    def find_candidates(self, text: str) -> Iterator[Candidate]:
        """Validated candidates in ``text`` (normalized: ASCII digits, no zero-width characters)."""
