"""Accuracy and speed of securedesk.language on the customer-service corpus, beside two baselines in the same run.

    .venv/bin/python bench/language.py [--quick]

Test sets: tests/unit/language/corpus/{en,fr,sv}.txt (customer-service messages, written for testing after the word
lists were written), and spaCy's own example sentences for en/fr/sv (news style, written by others) when spaCy is
installed. Baselines: "always en" (the default answer) and "words only" (no character model for unlisted words).
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from pathlib import Path

from securedesk.language import SUPPORTED_LANGUAGES, LanguageDetector

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "unit" / "language" / "corpus"
BUCKETS = (("1-3 words", 1, 3), ("4-8 words", 4, 8), ("9+ words", 9, 10_000))


def load_corpus() -> list[tuple[str, str]]:
    samples = []
    for lang in SUPPORTED_LANGUAGES:
        for line in (CORPUS / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                samples.append((lang, line))
    return samples


def load_external() -> list[tuple[str, str]]:
    samples = []
    for lang in SUPPORTED_LANGUAGES:
        try:
            sentences = importlib.import_module(f"spacy.lang.{lang}.examples").sentences
        except ImportError:
            return []
        samples.extend((lang, sentence) for sentence in sentences)
    return samples


def accuracy(detect: Callable[[str], tuple[str, float]], samples: list[tuple[str, str]]) -> tuple[int, int, int]:
    """(correct, total, defaulted: answers with confidence below 0.6)."""
    correct = defaulted = 0
    for lang, text in samples:
        got, confidence = detect(text)
        correct += got == lang
        defaulted += confidence < 0.6
    return correct, len(samples), defaulted


def percent(correct: int, total: int) -> str:
    return f"{100 * correct / total:5.1f}% ({correct}/{total})" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing rounds")
    args = parser.parse_args()

    full = LanguageDetector.load()
    words_only = LanguageDetector.load(use_char_model=False)

    def always_en(text: str) -> tuple[str, float]:
        return "en", 0.0

    detectors: list[tuple[str, Callable[[str], tuple[str, float]]]] = [
        ("securedesk.language", full.detect),
        ("baseline: words only", words_only.detect),
        ("baseline: always en", always_en),
    ]
    corpus = load_corpus()
    external = load_external()

    rows: list[tuple[str, ...]] = []
    header = ("detector", "set", *SUPPORTED_LANGUAGES, *(b[0] for b in BUCKETS), "all", "defaulted")
    for name, detect in detectors:
        per_lang = [accuracy(detect, [s for s in corpus if s[0] == lang]) for lang in SUPPORTED_LANGUAGES]
        per_bucket = [
            accuracy(detect, [s for s in corpus if low <= len(s[1].split()) <= high]) for _, low, high in BUCKETS
        ]
        overall = accuracy(detect, corpus)
        rows.append(
            (
                name,
                "customer service",
                *(percent(c, t) for c, t, _ in per_lang),
                *(percent(c, t) for c, t, _ in per_bucket),
                percent(overall[0], overall[1]),
                str(overall[2]),
            )
        )
        if external:
            ext = accuracy(detect, external)
            per_lang_ext = [accuracy(detect, [s for s in external if s[0] == lang]) for lang in SUPPORTED_LANGUAGES]
            rows.append(
                (
                    name,
                    "spaCy examples",
                    *(percent(c, t) for c, t, _ in per_lang_ext),
                    *("" for _ in BUCKETS),
                    percent(ext[0], ext[1]),
                    str(ext[2]),
                )
            )
    print_table(header, rows)

    print()
    rounds = 3 if args.quick else 20
    texts = [text for _, text in corpus]
    speed_rows = []
    for name, detect in detectors[:2]:
        start = time.perf_counter()
        for _ in range(rounds):
            for text in texts:
                detect(text)
        elapsed = time.perf_counter() - start
        count = rounds * len(texts)
        speed_rows.append((name, f"{count / elapsed:,.0f}", f"{1e6 * elapsed / count:,.1f}"))
    long_text = " ".join(texts[:60]) * 10  # ~30 KB email body: only the first 1000 characters are read
    start = time.perf_counter()
    for _ in range(rounds * 5):
        full.detect(long_text)
    per_long = (time.perf_counter() - start) / (rounds * 5)
    speed_rows.append(
        (f"securedesk.language, {len(long_text) // 1000} KB text", f"{1 / per_long:,.0f}", f"{1e6 * per_long:,.1f}")
    )
    print_table(("detector", "messages/s", "µs/message"), speed_rows)


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
