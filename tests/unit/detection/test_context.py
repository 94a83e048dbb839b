"""The lightweight NLP engine and context-word scoring, including compatibility with presidio's own enhancer."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

from securedesk.detection.context import PhraseMatcher
from securedesk.detection.nlp import LazyNlpArtifacts, LightweightNlpEngine, fold_word


def test_tokens_lemmas_and_keywords() -> None:
    engine = LightweightNlpEngine(["fr"])
    artifacts = engine.process_text("Mon numéro de Sécurité-Sociale : 1 84", "fr")
    assert isinstance(artifacts, LazyNlpArtifacts)
    assert artifacts.lemmas == ["mon", "numero", "de", "securite", "-", "sociale", ":", "1", "84"]
    assert artifacts.tokens_indices == [0, 4, 11, 14, 22, 23, 31, 33, 35]
    assert artifacts.keywords == ["numero", "securite", "sociale", "1", "84"]
    assert [token.text for token in artifacts.tokens] == [
        "Mon",
        "numéro",
        "de",
        "Sécurité",
        "-",
        "Sociale",
        ":",
        "1",
        "84",
    ]


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="supports"):
        LightweightNlpEngine(["de"])
    with pytest.raises(ValueError, match="not loaded"):
        LightweightNlpEngine(["en"]).process_text("x", "sv")


@pytest.mark.parametrize(
    ("word", "folded"),
    [("Sécurité", "securite"), ("FÖDELSENUMMER", "fodelsenummer"), ("Ärende", "arende"), ("card", "card")],
)
def test_fold_word(word: str, folded: str) -> None:
    assert fold_word(word) == folded


@pytest.mark.parametrize(
    ("phrase", "lemmas", "matches"),
    [
        ("kort", ["kortnumret"], True),  # 4+ letters: matches the start of a compound
        ("kortnummer", ["kortnumret"], False),
        ("cc", ["ccv"], False),  # short words match whole words only
        ("cc", ["cc"], True),
        ("numéro de carte", ["numero", "de", "carte"], True),
        ("numéro de carte", ["numero", "carte"], False),
        ("numéro d'assuré", ["numero", "d", "'", "assure"], True),
        ("numéro d’assuré", ["numero", "d", "'", "assure"], True),
        ("numéro d'assuré", ["numero", "d", "assure"], False),
        ("id-nummer", ["id", "-", "nummer"], True),
        ("social security", ["social", "securityno"], True),
    ],
)
def test_phrase_matching(phrase: str, lemmas: list[str], matches: bool) -> None:
    matcher = PhraseMatcher([phrase])
    assert (matcher.search(["before", *lemmas, "after"]) is not None) is matches
    assert (matcher.search(lemmas) is not None) is matches


def test_presidio_lemma_enhancer_works_with_the_lightweight_engine() -> None:
    """The stock enhancer reads tokens and lemmas: our engine gives it both, so stock context scoring works."""
    engine = LightweightNlpEngine(["en"])
    registry = RecognizerRegistry(recognizers=[UsSsnRecognizer()], supported_languages=["en"])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    [without] = analyzer.analyze("number 123456788 here", "en")
    [with_context] = analyzer.analyze("my ssn is 123456788", "en")
    assert without.score == pytest.approx(0.05)
    assert with_context.score == pytest.approx(0.4)


def test_first_matching_phrase_is_reported() -> None:
    matcher = PhraseMatcher(["card", "card number", "visa"])
    assert matcher.search(["my", "visa", "card", "number", "is"]) == "visa"
    assert matcher.search(["kortnummer"]) is None
    assert not PhraseMatcher([])
    assert PhraseMatcher([]).search(["card"]) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Here is my social security number: 123456789", "en"),
        ("123456789 and that is my SSN, as you asked", "en"),
        ("Mitt personnummer är 8112189876 tack", "sv"),
        ("Numéro d’assuré : 185057800604830", "fr"),
        ("Reference 4222222222222 attached, card later", "en"),
        ("The parcel number 123456789 arrived, the order number", "en"),
        ("short 123456789", "en"),
    ],
)
def test_lazy_and_full_artifacts_give_the_same_scores(text: str, lang: str) -> None:
    """Our lazy artifacts tokenize only around each result; any other NlpArtifacts are read whole. Same scores."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from securedesk.detection.context import ContextWordEnhancer
    from securedesk.detection.recognizers import build_recognizers

    recognizers = build_recognizers([lang])
    enhancer = ContextWordEnhancer(recognizers)
    engine = LightweightNlpEngine([lang])
    lazy = engine.process_text(text, lang)
    assert isinstance(lazy, LazyNlpArtifacts)
    full = NlpArtifacts(
        entities=[], tokens=lazy.tokens, tokens_indices=lazy.tokens_indices, lemmas=lazy.lemmas,
        nlp_engine=engine, language=lang,
    )  # fmt: skip
    scores = []
    for artifacts in (engine.process_text(text, lang), full):
        results = [result for recognizer in recognizers for result in recognizer.analyze(text, [], artifacts)]
        enhanced = enhancer.enhance_using_context(text, results, artifacts, list(recognizers))
        scores.append(sorted((r.entity_type, r.start, r.end, round(r.score, 4)) for r in enhanced))
    assert scores[0] == scores[1]
    assert scores[0]
