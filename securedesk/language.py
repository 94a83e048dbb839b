"""Which of English, French and Swedish a customer wrote in, for a channel that does not say.

A small naive-Bayes scorer over a bundled word list (``language_words.txt``) with a character trigram model for the
words the list does not have; no dependencies. Too-short or ambiguous text gets the default language, English.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import Final

from securedesk.errors import ConfigError

SUPPORTED_LANGUAGES: Final = ("en", "fr", "sv")
DEFAULT_LANGUAGE: Final = "en"

# French elided articles and pronouns: "l'adresse" is the token "l'" followed by "adresse". Any other word with an
# apostrophe ("don't", "aujourd'hui", "O'Brien") stays one token.
_ELISIONS: Final = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"})
_NOT_PROSE: Final = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

# Share of running text that is not in a word list; such words are scored by the character model instead.
_UNLISTED_SHARE: Final = 0.5
# Interpolation weights of the character model: trigram, bigram, unigram, uniform.
_CHAR_WEIGHTS: Final = (0.55, 0.3, 0.12, 0.03)


def normalize_language_tag(tag: str | None) -> str | None:
    """The supported language a tag such as ``fr-CA``, ``sv_SE`` or ``EN`` names, or None (``de``, empty, None)."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else None


class _CharModel:
    """An interpolated character trigram model of one language's words, with ``^^`` and ``$`` as word bounds.

    The weighted conditional probabilities are computed once, so scoring a word is three dict lookups per character.
    """

    def __init__(self, words: Sequence[str], alphabet_size: int) -> None:
        tri: Counter[str] = Counter()
        bi: Counter[str] = Counter()
        bi_context: Counter[str] = Counter()
        uni: Counter[str] = Counter()
        uni_context: Counter[str] = Counter()
        for word in words:
            padded = f"^^{word}$"
            for index in range(2, len(padded)):
                a, b, c = padded[index - 2], padded[index - 1], padded[index]
                tri[a + b + c] += 1
                bi_context[a + b] += 1
                bi[b + c] += 1
                uni_context[b] += 1
                uni[c] += 1
        w3, w2, w1, w0 = _CHAR_WEIGHTS
        total = sum(uni.values())
        self._p3 = MappingProxyType({gram: w3 * n / bi_context[gram[:2]] for gram, n in tri.items()})
        self._p2 = MappingProxyType({gram: w2 * n / uni_context[gram[0]] for gram, n in bi.items()})
        self._p1 = MappingProxyType({char: w1 * n / total for char, n in uni.items()})
        self._floor = w0 / alphabet_size

    def log_prob(self, word: str) -> float:
        p3, p2, p1, floor = self._p3, self._p2, self._p1, self._floor
        padded = f"^^{word}$"
        total = 0.0
        for index in range(2, len(padded)):
            c = padded[index]
            total += math.log(
                p3.get(padded[index - 2 : index + 1], 0.0)
                + p2.get(padded[index - 1 : index + 1], 0.0)
                + p1.get(c, 0.0)
                + floor
            )
        return total


class LanguageDetector:
    """Detects en/fr/sv. Immutable after construction, so one instance serves every thread.

    ``detect`` returns ``(language, confidence)``: the language the model finds most probable and its probability.
    Text with no letters gives ``("en", 0.0)``; when no language reaches ``min_confidence`` the answer is
    ``("en", p_en)``, so a confidence below ``min_confidence`` always means "not sure, defaulted to English".
    Only the first ``max_chars`` characters are read. ``use_char_model=False`` scores listed words only (the
    benchmark's baseline).
    """

    def __init__(
        self,
        word_lists: Mapping[str, Sequence[str]],
        *,
        min_confidence: float = 0.6,
        use_char_model: bool = True,
        max_chars: int = 1000,
    ) -> None:
        if tuple(word_lists) != SUPPORTED_LANGUAGES:
            raise ConfigError(f"Word lists must be given for exactly {', '.join(SUPPORTED_LANGUAGES)}, in that order.")
        if not 0.0 < min_confidence < 1.0:
            raise ConfigError("min_confidence must be between 0 and 1.")
        self._min_confidence = min_confidence
        self._max_chars = max_chars
        self._use_char_model = use_char_model
        alphabet = {char for words in word_lists.values() for word in words for char in word} | {"$"}
        word_log_probs: dict[str, Mapping[str, float]] = {}
        char_models: dict[str, _CharModel] = {}
        for lang, words in word_lists.items():
            unique = list(dict.fromkeys(word.lower() for word in words))
            if not unique:
                raise ConfigError(f"The word list for {lang!r} is empty.")
            # Zipf-Mandelbrot: the word at rank r gets a share proportional to 1 / (r + 2.7).
            weights = [1.0 / (rank + 2.7) for rank in range(len(unique))]
            total = sum(weights)
            word_log_probs[lang] = MappingProxyType(
                {
                    word: math.log((1.0 - _UNLISTED_SHARE) * weight / total)
                    for word, weight in zip(unique, weights, strict=True)
                }
            )
            char_models[lang] = _CharModel(unique, len(alphabet) + 1)
        self._word_log_probs: Mapping[str, Mapping[str, float]] = MappingProxyType(word_log_probs)
        self._char_models: Mapping[str, _CharModel] = MappingProxyType(char_models)
        # Without the character model an unlisted word carries no evidence: the same constant for every language.
        self._unlisted_flat = math.log(_UNLISTED_SHARE) - 20.0

    @classmethod
    def load(
        cls, *, min_confidence: float = 0.6, use_char_model: bool = True, max_chars: int = 1000
    ) -> LanguageDetector:
        """The detector built from the word lists shipped with SecureDesk."""
        text = resources.files("securedesk").joinpath("language_words.txt").read_text(encoding="utf-8")
        return cls(
            parse_word_lists(text), min_confidence=min_confidence, use_char_model=use_char_model, max_chars=max_chars
        )

    def detect(self, text: str) -> tuple[str, float]:
        probabilities = self.probabilities(text)
        if probabilities is None:
            return DEFAULT_LANGUAGE, 0.0
        best = max(SUPPORTED_LANGUAGES, key=lambda lang: probabilities[lang])
        if probabilities[best] < self._min_confidence:
            return DEFAULT_LANGUAGE, probabilities[DEFAULT_LANGUAGE]
        return best, probabilities[best]

    def probabilities(self, text: str) -> dict[str, float] | None:
        """The probability of each language, or None when the text has no words at all."""
        counts = Counter(tokenize(text[: self._max_chars]))
        if not counts:
            return None
        scores = {lang: 0.0 for lang in SUPPORTED_LANGUAGES}
        for token, count in counts.items():
            for lang in SUPPORTED_LANGUAGES:
                listed = self._word_log_probs[lang].get(token)
                if listed is not None:
                    scores[lang] += count * listed
                elif self._use_char_model:
                    scores[lang] += count * (math.log(_UNLISTED_SHARE) + self._char_models[lang].log_prob(token))
                else:
                    scores[lang] += count * self._unlisted_flat
        top = max(scores.values())
        exps = {lang: math.exp(score - top) for lang, score in scores.items()}
        total = sum(exps.values())
        return {lang: value / total for lang, value in exps.items()}


def tokenize(text: str) -> Iterator[str]:
    """Lower-case words of ``text``: digits, URLs and e-mail addresses dropped, French elisions split off."""
    prose = _NOT_PROSE.sub(" ", unicodedata.normalize("NFC", text).translate(_APOSTROPHES))
    for match in _WORD.finditer(prose.lower()):
        word = match.group()
        while "'" in word:
            prefix, rest = word.split("'", 1)
            if prefix not in _ELISIONS:
                break
            yield prefix + "'"
            word = rest
        yield word


def parse_word_lists(text: str) -> dict[str, list[str]]:
    """Read the ``[xx]``-sectioned word list format of ``language_words.txt``."""
    lists: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = lists.setdefault(line[1:-1].strip(), [])
            continue
        if current is None:
            raise ConfigError(f"Word list line {number} comes before any [language] header.")
        current.extend(line.lower().split())
    unknown = sorted(set(lists) - set(SUPPORTED_LANGUAGES))
    if unknown:
        raise ConfigError(f"Word lists name unsupported languages: {', '.join(unknown)}.")
    return {lang: lists.get(lang, []) for lang in SUPPORTED_LANGUAGES}
