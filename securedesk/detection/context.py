"""Context-word scoring: words near a candidate ("card", "kortnummer", "sécurité sociale") raise its score.

A presidio ``ContextAwareEnhancer``. Unlike presidio's ``LemmaContextAwareEnhancer`` it matches multi-word phrases
("numéro de carte", "social security"), looks after the candidate as well as before it, matches a context word
as the start of a longer word (Swedish compounds: "kort" in "kortnumret"), folds accents so "securite" matches
"sécurité", and lowers the score of a number labelled as a reference ("order", "facture", "ordernummer").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

from securedesk.detection.nlp import LazyNlpArtifacts, fold_word, tokenize

_SENTENCE_ENDS: Final = frozenset(".!?;\n")
#: A context word of at least this many letters also matches as the start of a longer word.
PREFIX_MATCH_MIN_LENGTH: Final = 4


class PhraseMatcher:
    """Finds the first of some context words or phrases in a sequence of lemmas, with one compiled regex.

    Phrases are tokenized and folded like the text ("numéro d'assuré" → numero d ' assure). A word of at least
    ``PREFIX_MATCH_MIN_LENGTH`` letters also matches the start of a longer word; shorter ones match whole words.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        alternatives: list[str] = []
        for phrase in phrases:
            words = [fold_word(word) for word in tokenize(phrase)]
            if words:
                alternatives.append(
                    " ".join(
                        re.escape(word) + (r"\S*" if len(word) >= PREFIX_MATCH_MIN_LENGTH else "") for word in words
                    )
                )
        self._pattern = re.compile(f"(?:^| )(?:{'|'.join(alternatives)})(?= |$)") if alternatives else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def search(self, lemmas: Sequence[str]) -> str | None:
        """The first matched words, or None."""
        if self._pattern is None:
            return None
        match = self._pattern.search(" ".join(lemmas))
        return match.group().strip() if match else None

    def last(self, lemmas: Sequence[str]) -> tuple[int, str] | None:
        """(index of its first lemma, matched words) of the last match, or None."""
        if self._pattern is None:
            return None
        joined = " ".join(lemmas)
        found = None
        for found in self._pattern.finditer(joined):  # noqa: B007 - only the last one is wanted
            pass
        if found is None:
            return None
        return joined.count(" ", 0, found.start() + 1), found.group().strip()


class ContextWordEnhancer(ContextAwareEnhancer):
    """Raise (or lower) each result's score by the context words of the recognizer that produced it.

    The window is ``words_before`` content words before the result and ``words_after`` after it, up to the end of
    its sentence (stop words and punctuation are not counted, but a phrase may span them). The nearest label
    before the number decides: a reference word ("order", "ref", "faktura") closer than any supporting word
    subtracts ``penalty``; otherwise a supporting word before or after adds ``boost`` and lifts the score to at
    least ``min_score_with_context`` (if it scored at least ``min_score_to_lift`` before).
    """

    def __init__(
        self,
        recognizers: Iterable[EntityRecognizer] = (),
        *,
        boost: float = 0.35,
        min_score_with_context: float = 0.6,
        penalty: float = 0.3,
        min_score_to_lift: float = 0.2,
        words_before: int = 6,
        words_after: int = 4,
    ) -> None:
        super().__init__(
            context_similarity_factor=boost,
            min_score_with_context_similarity=min_score_with_context,
            context_prefix_count=words_before,
            context_suffix_count=words_after,
        )
        self.penalty = penalty
        # A candidate the layout rules nearly rule out (part of a longer run, a grouping no such number uses) is
        # raised by ``boost`` only, never lifted to ``min_score_with_context``: context alone cannot make it one.
        self.min_score_to_lift = min_score_to_lift
        # Parsed once per recognizer; recognizers added later are parsed on use.
        self._phrases = {recognizer.id: self._parse(recognizer) for recognizer in recognizers}

    @staticmethod
    def _parse(recognizer: EntityRecognizer) -> tuple[PhraseMatcher, PhraseMatcher]:
        negative: Sequence[str] = getattr(recognizer, "negative_context", ())
        return PhraseMatcher(recognizer.context or ()), PhraseMatcher(negative)

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        if not raw_results:
            return raw_results
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        # Our lazy artifacts tokenize just the stretches around each result; others are read whole, once.
        local = nlp_artifacts if isinstance(nlp_artifacts, LazyNlpArtifacts) else None
        lemmas: list[str] = []
        starts: list[int] = []
        content: list[bool] = []
        if local is None and nlp_artifacts is not None:
            lemmas, starts = nlp_artifacts.lemmas, nlp_artifacts.tokens_indices
            # Content words: presidio's keywords (stop words and punctuation removed) that contain a letter.
            keywords = set(nlp_artifacts.keywords)
            content = [lemma in keywords and any(char.isalpha() for char in lemma) for lemma in lemmas]
        extra = [fold_word(word) for word in context or ()]
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, ""))
            if recognizer is None:
                continue
            supporting, negative = self._phrases.get(recognizer.id) or self._parse(recognizer)
            if not supporting and not negative:
                continue
            if local is not None:
                before, after = local.context_lemmas(
                    result.start, result.end, self.context_prefix_count, self.context_suffix_count
                )
            else:
                before, after = self._window(lemmas, starts, content, result.start, result.end)
            after = _within_sentence(after) + extra
            # The nearest label before the number decides: "ref 123456789. Mitt amerikanska SSN är …" is a
            # reference number even though SSN context follows; failing that, a supporting word after it counts.
            label = supporting.last(before)
            reference = negative.last(before)
            if reference is not None and any(lemma.isdigit() for lemma in before[reference[0] + 1 :]):
                reference = None  # "Order 123 4111 1111 …": the label names the number between, not this one
            word: str | None = None
            if reference is not None and (label is None or reference[0] > label[0]):
                result.score = max(ContextAwareEnhancer.MIN_SCORE, result.score - self.penalty)
            elif label is not None or (word := supporting.search(after)) is not None:
                word = label[1] if label is not None else word
                lifted = result.score + self.context_similarity_factor
                if result.score >= self.min_score_to_lift:
                    lifted = max(lifted, self.min_score_with_context_similarity)
                result.score = min(ContextAwareEnhancer.MAX_SCORE, lifted)
            else:
                continue
            metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
            result.recognition_metadata = metadata
            if result.analysis_explanation is not None:
                if word is not None:
                    result.analysis_explanation.set_supportive_context_word(word)
                result.analysis_explanation.set_improved_score(result.score)
        return raw_results

    def _window(
        self, lemmas: list[str], starts: list[int], content: list[bool], start: int, end: int
    ) -> tuple[list[str], list[str]]:
        """Lemmas before [start, end) back to the n-th content word, and after it up to the m-th."""
        first_inside = next((i for i, token_start in enumerate(starts) if token_start >= start), len(starts))
        first_after = next((i for i in range(first_inside, len(starts)) if starts[i] >= end), len(starts))
        begin, remaining = first_inside, self.context_prefix_count
        while begin > 0 and remaining > 0:
            begin -= 1
            remaining -= content[begin]
        finish, remaining = first_after, self.context_suffix_count
        while finish < len(lemmas) and remaining > 0:
            remaining -= content[finish]
            finish += 1
        return lemmas[begin:first_inside], lemmas[first_after:finish]


def _within_sentence(lemmas: list[str]) -> list[str]:
    """The lemmas up to the end of the sentence: what follows a full stop is about something else."""
    for index, lemma in enumerate(lemmas):
        if lemma in _SENTENCE_ENDS:
            return lemmas[:index]
    return lemmas
