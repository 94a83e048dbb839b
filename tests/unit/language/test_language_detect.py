"""Language detection for channels that do not say: en/fr/sv, defaulting to English when unsure."""

from __future__ import annotations

import pytest

from securedesk.errors import ConfigError
from securedesk.language import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    LanguageDetector,
    normalize_language_tag,
    parse_word_lists,
    tokenize,
)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.load()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # English
        ("Hi, I was charged twice. My card is 4111 1111 1111 1111, exp 12/29, cvv 737.", "en"),
        ("Please refund to IBAN GB82 WEST 1234 5698 7654 32. My SSN is 536-22-1234.", "en"),
        ("my card number is 5555555555554444 can u check", "en"),
        ("Thanks!", "en"),
        ("Hello?", "en"),
        ("still waiting on order #88213", "en"),
        ("Can someone call me back on +1 202 555 0143?", "en"),
        # French
        ("Bonjour, mon numéro de sécurité sociale est 1 84 12 75 108 045 28, pouvez-vous vérifier ?", "fr"),
        ("J’ai été prélevé deux fois le 03/05, voici ma carte 4111 1111 1111 1111", "fr"),
        ("Merci !", "fr"),
        ("Bonjour", "fr"),
        ("c'est urgent svp", "fr"),
        ("Je n'ai toujours pas reçu mon remboursement de 49,90 €", "fr"),
        ("Mon IBAN : FR14 2004 1010 0505 0001 3M02 606", "fr"),
        # Swedish
        ("Hej! Mitt personnummer är 19811218-9876 och kortnummer 5555-5555-5555-4444.", "sv"),
        ("Tack!", "sv"),
        ("Hej", "sv"),
        ("Jag har fortfarande inte fått min återbetalning på 299 kr", "sv"),
        ("kan ni ringa mig på 070-123 45 67", "sv"),
        ("Varför drogs pengarna två gånger?", "sv"),
        ("Mitt kortnummer: 4111111111111111", "sv"),
    ],
)
def test_detects_customer_messages(detector: LanguageDetector, text: str, lang: str) -> None:
    detected, confidence = detector.detect(text)
    assert detected == lang
    assert confidence >= 0.6


@pytest.mark.parametrize(
    "text",
    ["", "   ", "4111 1111 1111 1111", "12/29 737", "+33 6 12 34 56 78", "!!!", "https://example.com/a/b", "a@b.se"],
)
def test_text_without_words_defaults_to_english_with_zero_confidence(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == (DEFAULT_LANGUAGE, 0.0)
    assert detector.probabilities(text) is None


@pytest.mark.parametrize("text", ["ok", "OK", "Ok 4111"])
def test_ambiguous_text_defaults_to_english_with_low_confidence(detector: LanguageDetector, text: str) -> None:
    probabilities = detector.probabilities(text)
    assert probabilities is not None
    assert max(probabilities.values()) < 0.6  # no language is sure
    assert detector.detect(text) == ("en", probabilities["en"])


def test_confidence_below_the_minimum_means_defaulted() -> None:
    strict = LanguageDetector.load(min_confidence=0.999)
    lang, confidence = strict.detect("tack")  # Swedish, but one short word is not enough for 0.999
    assert lang == "en"
    assert confidence < 0.999
    assert LanguageDetector.load().detect("tack")[0] == "sv"


def test_probabilities_sum_to_one(detector: LanguageDetector) -> None:
    probabilities = detector.probabilities("Bonjour, je voudrais annuler ma commande")
    assert probabilities is not None
    assert set(probabilities) == set(SUPPORTED_LANGUAGES)
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_only_the_first_max_chars_are_read(detector: LanguageDetector) -> None:
    english = "I would like to cancel my order please. " * 100
    swedish = "Jag vill avbryta min beställning tack. " * 100_000
    assert detector.detect(english + swedish)[0] == "en"
    assert detector.detect(swedish + english)[0] == "sv"


def test_without_the_character_model_unlisted_words_carry_no_evidence() -> None:
    words_only = LanguageDetector.load(use_char_model=False)
    assert words_only.detect("vattenskador") == ("en", pytest.approx(1 / 3))
    assert LanguageDetector.load().detect("vattenskador")[0] == "sv"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("L'adresse d'envoi", ["l'", "adresse", "d'", "envoi"]),
        ("J’ai reçu qu’un colis", ["j'", "ai", "reçu", "qu'", "un", "colis"]),
        ("jusqu'à aujourd'hui", ["jusqu'", "à", "aujourd'hui"]),
        ("I don't know, it's O'Brien's", ["i", "don't", "know", "it's", "o'brien's"]),
        ("Card 4111-1111 exp12/29", ["card", "exp"]),
        ("see https://x.example/a?b=c or mail me@x.example now", ["see", "or", "mail", "now"]),
        ("ÅTERBETALNING på 299kr", ["återbetalning", "på", "kr"]),
        ("Cafe\u0301 e-post", ["café", "e", "post"]),  # decomposed accent is composed (NFC)
        ("snake_case", ["snake", "case"]),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert list(tokenize(text)) == tokens


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("fr-CA", "fr"),
        ("sv_SE", "sv"),
        (" sv-FI ", "sv"),
        ("de", None),
        ("nb-NO", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_language_tag(tag: str | None, expected: str | None) -> None:
    assert normalize_language_tag(tag) == expected


def test_parse_word_lists() -> None:
    parsed = parse_word_lists("# comment\n[fr]\nLe la\n\n[en]\nthe a\nof\n")
    assert parsed == {"en": ["the", "a", "of"], "fr": ["le", "la"], "sv": []}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("the a\n[en]\n", "line 1 comes before any"),
        ("[en]\nthe\n[de]\nder\n", "unsupported languages: de"),
    ],
)
def test_parse_word_lists_refuses(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_word_lists(text)


def test_constructor_checks_its_word_lists() -> None:
    with pytest.raises(ConfigError, match="exactly en, fr, sv"):
        LanguageDetector({"en": ["the"], "fr": ["le"]})
    with pytest.raises(ConfigError, match="for 'sv' is empty"):
        LanguageDetector({"en": ["the"], "fr": ["le"], "sv": []})
    with pytest.raises(ConfigError, match="min_confidence"):
        LanguageDetector({"en": ["the"], "fr": ["le"], "sv": ["och"]}, min_confidence=1.0)


def test_bundled_word_lists_are_substantial() -> None:
    from importlib import resources

    lists = parse_word_lists(resources.files("securedesk").joinpath("language_words.txt").read_text("utf-8"))
    assert all(len(set(words)) >= 300 for words in lists.values())
