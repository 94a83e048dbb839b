"""Accuracy on the customer-service corpus in corpus/ (written for this test, not used to build the word lists).

The full breakdown (by language and length, with a words-only baseline) is printed by ``bench/language.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from securedesk.language import SUPPORTED_LANGUAGES, LanguageDetector

CORPUS = Path(__file__).with_name("corpus")


def corpus(name: str) -> list[str]:
    lines = (CORPUS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.load()


def test_corpus_is_large_enough() -> None:
    assert all(len(corpus(lang)) >= 90 for lang in SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_accuracy_per_language(detector: LanguageDetector, lang: str) -> None:
    lines = corpus(lang)
    correct = sum(detector.detect(line)[0] == lang for line in lines)
    assert correct / len(lines) >= 0.95, f"{lang}: {correct}/{len(lines)}"


def test_accuracy_on_messages_of_four_words_or_more(detector: LanguageDetector) -> None:
    samples = [(lang, line) for lang in SUPPORTED_LANGUAGES for line in corpus(lang) if len(line.split()) >= 4]
    assert len(samples) >= 200
    wrong = [(lang, line) for lang, line in samples if detector.detect(line)[0] != lang]
    assert wrong == []


def test_neutral_lines_default_to_english(detector: LanguageDetector) -> None:
    assert all(detector.detect(line) == ("en", 0.0) for line in corpus("neutral"))
