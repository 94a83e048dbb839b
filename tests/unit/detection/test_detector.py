"""The Detector: languages, entity filters, thresholds, context in en/fr/sv, overlaps, the fast path, errors and
thread safety."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult

from securedesk.config import Settings
from securedesk.detection import DEFAULT_SCORE_THRESHOLD, ENTITY_TYPES, Detector
from securedesk.detection.context import ContextWordEnhancer
from securedesk.detection.nlp import LightweightNlpEngine
from securedesk.detection.recognizers import build_recognizers
from securedesk.errors import ConfigError, DetectionError, InvalidInput

Spans = Callable[..., list[tuple[str, int, int]]]

MIXED = (
    "Hi, my card is 4111 1111 1111 1111 and my SSN is 123-45-6789.\n"
    "Mon NIR : 1 84 12 75 108 045 28. Mitt personnummer är 811218-9876.\n"
    "IBAN GB82 WEST 1234 5698 7654 32, order 123456789012, call +33 6 12 34 56 78."
)


def test_detector_is_built_on_presidio_recognizers(detector: Detector) -> None:
    assert detector.languages == ("en", "fr", "sv")
    assert detector.entity_types == ENTITY_TYPES
    assert detector.score_threshold == DEFAULT_SCORE_THRESHOLD
    names = {recognizer.name for lang in detector.languages for recognizer in detector.recognizers(lang)}
    assert "CreditCard_sv" in names
    assert "FrNir_fr" in names
    assert len(names) == 15


def test_the_recognizers_work_in_a_stock_presidio_analyzer(detector: Detector) -> None:
    """The seam: our recognizers are presidio EntityRecognizers, usable by any AnalyzerEngine."""
    registry = RecognizerRegistry(recognizers=list(detector.recognizers("en")), supported_languages=["en"])
    engine = AnalyzerEngine(registry=registry, nlp_engine=LightweightNlpEngine(["en"]), supported_languages=["en"])
    text = "card 4111 1111-1111 1111 and SSN 123-45-6789"
    results = sorted((r.entity_type, r.start, r.end) for r in engine.analyze(text=text, language="en"))
    assert results == [("CREDIT_CARD", 5, 24), ("US_SSN", 33, 44)]


def test_all_entity_types_in_one_text(spans: Spans) -> None:
    def at(value: str, entity: str) -> tuple[str, int, int]:
        return entity, MIXED.index(value), MIXED.index(value) + len(value)

    assert spans(MIXED) == [
        at("4111 1111 1111 1111", "CREDIT_CARD"),
        at("123-45-6789", "US_SSN"),
        at("1 84 12 75 108 045 28", "FR_NIR"),
        at("811218-9876", "SE_PERSONNUMMER"),
        at("GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
    ]


def test_entities_filter(spans: Spans) -> None:
    assert [s[0] for s in spans(MIXED, entities=["US_SSN", "IBAN_CODE"])] == ["US_SSN", "IBAN_CODE"]
    assert spans(MIXED, entities=[]) == []


@pytest.mark.parametrize("entities", [["CARD"], ["CREDIT_CARD", "PHONE_NUMBER"]])
def test_unknown_entity_is_invalid_input(detector: Detector, entities: list[str]) -> None:
    with pytest.raises(InvalidInput, match="Unknown entity types"):
        detector.analyze("4111111111111111", "en", entities)


@pytest.mark.parametrize(("lang", "resolved"), [("en", "en"), ("EN", "en"), ("sv-SE", "sv"), ("fr_FR", "fr")])
def test_language_codes(detector: Detector, lang: str, resolved: str) -> None:
    assert detector.resolve_language(lang) == resolved


@pytest.mark.parametrize(("lang", "shown"), [("de", "'de'"), ("english", None), ("", None)])
def test_unknown_language_is_invalid_input(detector: Detector, lang: str, shown: str | None) -> None:
    with pytest.raises(InvalidInput) as raised:
        detector.analyze("card 4111111111111111", lang)
    assert "Unsupported language" in str(raised.value)
    assert "en, fr, sv" in str(raised.value)
    if shown:
        assert shown in str(raised.value)


def test_an_unknown_language_is_never_echoed_when_it_holds_digits(detector: Detector) -> None:
    with pytest.raises(InvalidInput) as raised:
        detector.analyze("x", "en-4111-1111-1111-1111")
    assert "4111" not in str(raised.value)


def test_text_must_be_a_string(detector: Detector) -> None:
    with pytest.raises(InvalidInput):
        detector.analyze(b"4111111111111111", "en")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang", "value", "entity"),
    [
        # Nine bare digits are an SSN, ten a personnummer, only with context in the message's language.
        ("Here is my social security number: 123456789", "en", "123456789", "US_SSN"),
        ("ssn 123456789 thanks", "en", "123456789", "US_SSN"),
        ("Mitt personnummer är 8112189876", "sv", "8112189876", "SE_PERSONNUMMER"),
        ("8112189876 är mitt personnr", "sv", "8112189876", "SE_PERSONNUMMER"),
        ("Mitt samordningsnummer: 8112789873", "sv", "8112789873", "SE_PERSONNUMMER"),
        ("Swedish personal identity number 8112189876", "en", "8112189876", "SE_PERSONNUMMER"),
        ("Mon numéro personnel suédois est le 8112189876", "fr", "8112189876", "SE_PERSONNUMMER"),
        ("Numéro de carte : 4222222222222", "fr", "4222222222222", "CREDIT_CARD"),
        ("numero de carte 4222222222222", "fr", "4222222222222", "CREDIT_CARD"),  # accents folded
        ("Kortnumret är 4222222222222", "sv", "4222222222222", "CREDIT_CARD"),  # Swedish compound
        ("CARTE BANCAIRE 4222222222222", "fr", "4222222222222", "CREDIT_CARD"),
    ],
)
def test_context_words_per_language(spans: Spans, text: str, lang: str, value: str, entity: str) -> None:
    start = text.index(value)
    assert spans(text, lang) == [(entity, start, start + len(value))]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ring mig på 0701234569", "sv"),  # a phone number that is also a valid 10-digit personnummer
        ("Reference 123456789", "en"),
        ("Facture 4222222222222", "fr"),
        ("The card arrived. Many lines later we talk about something else entirely, quote 123456789", "en"),
    ],
)
def test_no_context_no_finding(spans: Spans, text: str, lang: str) -> None:
    assert spans(text, lang) == []


def test_context_raises_the_score(detector: Detector) -> None:
    [plain] = detector.analyze("4111111111111111", "en")
    [with_context] = detector.analyze("credit card 4111111111111111", "en")
    assert plain.score < with_context.score == 1.0


def test_min_score_returns_weak_candidates_with_their_score(detector: Detector) -> None:
    text = "see 123456789 and 0701234569"
    assert detector.analyze(text, "sv") == []
    weak = detector.analyze(text, "sv", min_score=0.0)
    assert [(f.entity_type, f.start, f.end) for f in weak] == [("US_SSN", 4, 13), ("SE_PERSONNUMMER", 18, 28)]
    assert all(0 < f.score < DEFAULT_SCORE_THRESHOLD for f in weak)


def test_threshold_is_configurable() -> None:
    strict = Detector.create(languages=("en",), score_threshold=0.8)
    assert strict.analyze("4111111111111111", "en") == []  # contiguous, no context: 0.75
    assert len(strict.analyze("4111 1111 1111 1111", "en")) == 1
    with pytest.raises(ConfigError, match="threshold"):
        Detector.create(languages=("en",), score_threshold=0.0)


@pytest.mark.parametrize("languages", [(), ("de",), ("en", "xx")])
def test_unsupported_detection_languages_are_a_config_error(languages: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="Detection languages"):
        Detector.create(languages=languages)


def test_from_settings(settings: Settings) -> None:
    detector = Detector.from_settings(settings.replace(detection_languages=("sv",), detection_score_threshold=0.9))
    assert detector.languages == ("sv",)
    assert detector.score_threshold == 0.9
    with pytest.raises(InvalidInput):
        detector.analyze("text", "en")


def test_overlapping_candidates_keep_the_stronger(detector: Detector, spans: Spans) -> None:
    # 15 digits that are both a valid Amex number (Luhn) and a valid NIR (key 68): context decides.
    number = "378205000075068"
    both = detector.analyze(number, "fr", min_score=0.0)
    assert [(f.entity_type, f.score) for f in both] == [("CREDIT_CARD", 0.75)]  # NIR scored 0.65: overlap removed
    assert spans(f"carte {number}", "fr") == [("CREDIT_CARD", 6, 21)]
    assert spans(f"numéro de sécurité sociale {number}", "fr") == [("FR_NIR", 27, 42)]


def test_findings_are_ordered_and_do_not_overlap(detector: Detector) -> None:
    findings = detector.analyze(MIXED * 3, "en")
    assert len(findings) == 15
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_long_email_offsets(spans: Spans) -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 80
    text = filler + "My card: 5555 5555 5555 4444\n" + filler + "SSN 123-45-6789\n" + filler
    card, ssn = text.index("5555 5555"), text.index("123-45")
    assert spans(text) == [("CREDIT_CARD", card, card + 19), ("US_SSN", ssn, ssn + 11)]


class _ExplodingEnhancer(ContextWordEnhancer):
    """Context scoring that fails the way a library bug would, with the text in its message."""

    def enhance_using_context(self, *args: object, **kwargs: object) -> list[RecognizerResult]:
        raise ValueError("Did not find word '4111111111111111' in the list of tokens")


def _exploding_detector() -> Detector:
    recognizers = build_recognizers(["en"])
    return Detector(recognizers, languages=["en"], enhancer=_ExplodingEnhancer(recognizers))


def test_text_without_candidates_never_reaches_context_scoring() -> None:
    detector = _exploding_detector()
    assert detector.analyze("Hello, order 12345 arrives on 2024-05-01 at 10:30. Call 555-0123!", "en") == []
    assert detector.analyze("", "en") == []
    assert detector.analyze("no digits at all, only words", "en") == []
    with pytest.raises(DetectionError):
        detector.analyze("card 4111111111111111", "en")


def test_a_failure_inside_detection_fails_closed_without_echoing_the_text() -> None:
    with pytest.raises(DetectionError) as raised:
        _exploding_detector().analyze("card 4111111111111111", "en")
    assert "4111" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_thread_safe(detector: Detector) -> None:
    texts = [
        MIXED,
        "card ４１１１ １１１１ １１１１ １１１１",
        "Mitt personnummer är 8112189876",
        "nothing here",
        "SSN 123456789",
    ]
    langs = ["en", "en", "sv", "fr", "en"]
    expected = [detector.analyze(text, lang) for text, lang in zip(texts, langs, strict=True)]
    jobs = [(texts[i % len(texts)], langs[i % len(texts)], i % len(texts)) for i in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (detector.analyze(job[0], job[1]), job[2]), jobs))
    for findings, index in results:
        assert [(f.entity_type, f.start, f.end, f.score) for f in findings] == [
            (f.entity_type, f.start, f.end, f.score) for f in expected[index]
        ]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Mon numéro d'assuré est le 185057800604830", "fr"),
        ("Mon numéro d’assuré : 185057800604830", "fr"),
        ("Mitt ID-nummer 8112189876", "sv"),
    ],
)
def test_phrases_with_apostrophes_and_hyphens(detector: Detector, text: str, lang: str) -> None:
    value = text.split()[-1]
    [finding] = detector.analyze(text, lang)
    assert (finding.start, finding.end) == (text.index(value), len(text))
    assert finding.score >= 0.75  # the context phrase matched: without it these score 0.65 and 0.4


def test_negative_words_count_only_before_the_number(detector: Detector) -> None:
    [before] = detector.analyze("tracking 414 64 5954", "en", min_score=0.0)
    [after] = detector.analyze("Here it is: 414 64 5954 The tracking page", "en", min_score=0.0)
    assert before.score < DEFAULT_SCORE_THRESHOLD <= after.score


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # A Luhn-valid, Maestro-like stretch inside a grouped NIR or IBAN does not steal it.
        ("Carte vitale 1 64 05 57 496 112 54 merci", "fr", [("FR_NIR", 13, 34)]),
        ("Återbetala till IBAN DE57 6363 8205 1029 6691 25. Tack", "sv", [("IBAN_CODE", 21, 48)]),
        # Two IBANs in a row: the first match must not swallow the start of the second.
        (
            "Mitt konto: BE30 6771 1499 0120 Kontonummer FR80 6395 3762 3328 6212 4312 188",
            "sv",
            [("IBAN_CODE", 12, 31), ("IBAN_CODE", 44, 77)],
        ),
    ],
)
def test_neighbouring_entities(spans: Spans, text: str, lang: str, expected: list[tuple[str, int, int]]) -> None:
    assert spans(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # A float or UUID in the same run of digit groups is judged on its own token, not the number's.
        (
            "Mon numéro de sécurité sociale est 1 50 09 82 537 062 16. 4.3428528471417649E-02.",
            "fr",
            [("FR_NIR", 35, 56)],
        ),
        ("pnr 19351108-4976 7.9959041837815756E-02", "sv", [("SE_PERSONNUMMER", 4, 17)]),
        ("card 4111 1111 1111 1111 123e4567-e89b-12d3-a456-426614174000", "en", [("CREDIT_CARD", 5, 24)]),
        # A quantity alone stays a quantity; a comma between a card's last groups is not a decimal.
        ("value 0.4111111111111111 ok", "en", []),
        ("uuid 41111111-1111-1111-1111-111111111111", "en", []),
        ("card 6204 8764 7593,8241", "en", [("CREDIT_CARD", 5, 24)]),
    ],
)
def test_a_number_beside_a_quantity_or_uuid(
    spans: Spans, text: str, lang: str, expected: list[tuple[str, int, int]]
) -> None:
    assert spans(text, lang) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Total 12 € — card 4111\u20091111\u20091111\u20091111 please",  # thin spaces in text beyond Latin-1
        "Summe 12 €, Karte 4111\u20131111\u20131111\u20131111",  # en-dashes
        "l’IBAN : FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189 …",
        "né en Corse – 2 53 07 2A 073 004 43 €",
    ],
)
def test_text_beyond_latin1_keeps_every_separator(spans: Spans, text: str) -> None:
    assert len(spans(text, "fr")) == 1


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("ref 639447036. Mitt amerikanska SSN är 045161641.", "sv", ["045161641"]),
        ("123456789 is my SSN", "en", ["123456789"]),
        ("Here: 123456789. SSN of my wife follows later", "en", []),  # context after a full stop does not count
        ("Here: 123456789\nSSN of my wife follows later", "en", []),  # nor after a line break
        ("Order 123456789, the SSN one is elsewhere", "en", []),  # the nearest label says reference
        ("My SSN, as asked: 123456789", "en", ["123456789"]),
    ],
)
def test_the_nearest_label_decides(detector: Detector, text: str, lang: str, found: list[str]) -> None:
    assert [f.value.reveal() for f in detector.analyze(text, lang)] == found
