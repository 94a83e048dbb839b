"""A lightweight presidio ``NlpEngine``: a regex tokenizer and accent-folding lemmas for en, fr and sv, no model.

Why not ``spacy.blank``: it downloads nothing, but loading the blank French pipeline costs about four seconds (its
tokenizer exceptions), and every spaCy tokenizer interns each token it sees, card numbers included, in a vocabulary
that lives as long as the process. This engine keeps nothing between calls: tokens are built per text, in a
throw-away vocabulary, and are garbage once the request is done.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.tokens import Doc
from spacy.vocab import Vocab

_TOKEN: Final = re.compile(r"\w+|[^\w\s]")
#: For context windows, line breaks count too: a new line, like a full stop, ends what is said about a number.
_CONTEXT_TOKEN: Final = re.compile(r"\w+|[^\w\s]|\n")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Function words that do not count as context (the window is measured in content words, like presidio's).
STOP_WORDS: Final[Mapping[str, frozenset[str]]] = {
    "en": _word_set(
        "a an and are as at be been being but by did do does for from had has have he her here his i if in "
        "into is it its me mine my no not of on or our ours please she so than that the their them then there "
        "these they this those to too us was we were what when where which who why will with would you your "
        "yours thanks thank hi hello dear regards"
    ),
    "fr": _word_set(
        "a au aux avec ce ces cet cette d de des du elle en est et etait eu il ils j je l la le les leur lui "
        "m ma mais me mes moi mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses si son sur t "
        "ta te tes toi ton tu un une vos votre vous y c ca suis ai a bonjour merci cordialement svp"
    ),
    "sv": _word_set(
        "alla allt att av de dem den denna det detta dig din ditt du efter eller en ett fran for har hade han "
        "hans har henne hon i inte jag kan man med mig min mina mitt nar ni nu och om oss pa sa sig sin sina "
        "sitt ska som till under upp ut var vara vi vid vad ar hej tack mvh halsningar"
    ),
}


def tokenize(text: str) -> list[str]:
    """Words and single punctuation marks, as this engine splits them ("d'assuré" → "d", "'", "assuré")."""
    return _TOKEN.findall(text)


def fold_word(word: str) -> str:
    """The lemma we use: case-folded, accents removed ("Sécurité" → "securite"), so spelling variants match."""
    folded = word.casefold().replace("’", "'")
    if folded.isascii():
        return folded
    return folded.translate(_WITHOUT_ACCENTS)


class _AccentTable(dict[int, str]):
    """``str.translate`` table: each character decomposed (NFKD) without its combining marks, worked out the first
    time the character is seen (per character is exact: NFKD never composes, and the marks it reorders are
    dropped)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        value = "".join(char for char in decomposed if not unicodedata.combining(char))
        if len(self) < _ACCENT_TABLE_SIZE:  # bounded: a text of every code point must not grow it for ever
            self[code] = value
        return value


#: How many characters the accent table remembers.
_ACCENT_TABLE_SIZE: Final = 1 << 16


_WITHOUT_ACCENTS: Final = _AccentTable()


def fold_text(text: str) -> str:
    """A whole text folded like ``fold_word`` (offsets may shift: for searching only)."""
    return fold_word(text)


#: Characters tokenized on each side of a result at first; doubled until enough content words are found, up to
#: ``_MAX_CONTEXT_SPAN`` (a text of digits alone has no content words: without a bound, each result would read
#: back to the start of the text, and a dense text would cost quadratic time).
_CONTEXT_SPAN: Final = 64
_MAX_CONTEXT_SPAN: Final = 512


class LazyNlpArtifacts(NlpArtifacts):
    """presidio's ``NlpArtifacts``, computed on first use.

    Most candidate windows (phone numbers, dates, order numbers) produce no recognizer result, and then nothing
    reads the artifacts: tokenizing them anyway would be most of the cost of analyzing such a window.
    """

    def __init__(self, text: str, language: str, engine: LightweightNlpEngine) -> None:
        # NlpArtifacts.__init__ would tokenize and filter keywords eagerly, which is what this class avoids.
        self.entities = []
        self.scores = []
        self.nlp_engine = engine
        self._text = text
        self._language = language
        self._words: list[str] | None = None
        self._starts: list[int] = []
        self._lemmas: list[str] = []
        self._keywords: list[str] = []
        self._content: list[bool] = []
        self._doc: Doc | None = None

    def _tokenize(self) -> list[str]:
        if self._words is None:
            text = self._text
            # ASCII lower-cases in place, so one call covers every token; other text is folded word by word.
            lowered = text.lower() if text.isascii() else None
            stop_words = STOP_WORDS.get(self._language, frozenset())
            words: list[str] = []
            for match in _TOKEN.finditer(text):
                start, end = match.span()
                word = match.group()
                lemma = lowered[start:end] if lowered is not None else fold_word(word)
                words.append(word)
                self._starts.append(start)
                self._lemmas.append(lemma)
                if (word[0].isalnum() or word[0] == "_") and lemma not in stop_words:
                    self._keywords.append(lemma)
                    self._content.append(not lemma.isdigit())
                else:
                    self._content.append(False)
            self._words = words
        return self._words

    def context_lemmas(self, start: int, end: int, before: int, after: int) -> tuple[list[str], list[str]]:
        """Lemmas back to the ``before``-th content word before ``start``, and up to the ``after``-th one from
        ``end`` (content word: see ``content_words``), tokenizing only those stretches of the text."""
        stop_words = STOP_WORDS.get(self._language, frozenset())
        span = _CONTEXT_SPAN
        while True:
            low = max(0, start - span)
            lemmas = self._lemmas_between(low, start)
            taken, counted = 0, 0
            for lemma in reversed(lemmas):
                if counted == before:
                    break
                taken += 1
                if lemma[0].isalnum() and lemma not in stop_words and not lemma.isdigit():
                    counted += 1  # a content word (see content_words)
            if counted == before or low == 0 or span >= _MAX_CONTEXT_SPAN:
                preceding = lemmas[len(lemmas) - taken :] if taken else []
                break
            span *= 2
        span = _CONTEXT_SPAN
        while True:
            high = min(len(self._text), end + span)
            lemmas = self._lemmas_between(end, high)
            taken, counted = 0, 0
            for lemma in lemmas:
                if counted == after:
                    break
                taken += 1
                if lemma[0].isalnum() and lemma not in stop_words and not lemma.isdigit():
                    counted += 1
            if counted == after or high == len(self._text) or span >= _MAX_CONTEXT_SPAN:
                following = lemmas[:taken]
                break
            span *= 2
        return preceding, following

    def _lemmas_between(self, low: int, high: int) -> list[str]:
        text = self._text
        if 0 < low < high and text[low - 1].isalnum():
            while low < high and text[low].isalnum():
                low += 1  # the stretch starts inside a word: leave that word out
        # Folding the stretch at once gives the same lemmas as folding word by word (no offsets are needed here).
        # "ref_4111…" and "INV_…": an underscore joins a label to a number, so it separates words here.
        return _CONTEXT_TOKEN.findall(fold_text(text[low:high]).replace("_", " "))

    @property
    def content_words(self) -> list[bool]:
        """Per token: a keyword (see ``keywords``) with at least one letter, the words context windows count."""
        self._tokenize()
        return self._content

    @property
    def tokens(self) -> Doc:
        """A spaCy ``Doc`` of the words (for presidio's LemmaContextAwareEnhancer), in a throw-away vocabulary."""
        if self._doc is None:
            words = self._tokenize()
            self._doc = Doc(Vocab(), words=words) if words else Doc(Vocab())
        return self._doc

    @tokens.setter
    def tokens(self, value: Doc) -> None:
        self._doc = value

    @property
    def tokens_indices(self) -> list[int]:
        self._tokenize()
        return self._starts

    @tokens_indices.setter
    def tokens_indices(self, value: list[int]) -> None:
        self._tokenize()
        self._starts = value

    @property
    def lemmas(self) -> list[str]:
        self._tokenize()
        return self._lemmas

    @lemmas.setter
    def lemmas(self, value: list[str]) -> None:
        self._tokenize()
        self._lemmas = value

    @property
    def keywords(self) -> list[str]:
        """Folded lemmas that are neither stop words nor punctuation, as presidio defines keywords."""
        self._tokenize()
        return self._keywords

    @keywords.setter
    def keywords(self, value: list[str]) -> None:
        self._tokenize()
        self._keywords = value


class LightweightNlpEngine(NlpEngine):
    """Tokens, offsets and folded lemmas for context scoring; no named-entity model (our recognizers need none)."""

    engine_name = "securedesk-lightweight"
    is_available = True

    def __init__(self, languages: Sequence[str]) -> None:
        unknown = [lang for lang in languages if lang not in STOP_WORDS]
        if unknown or not languages:
            raise ValueError(f"LightweightNlpEngine supports {sorted(STOP_WORDS)}, not {unknown or 'nothing'}")
        self._languages = tuple(languages)
        self._loaded = False

    def load(self) -> None:
        self._loaded = True

    def is_loaded(self) -> bool:
        return self._loaded

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if language not in self._languages:
            raise ValueError(f"language {language!r} is not loaded")
        return LazyNlpArtifacts(text, language, self)

    def process_batch(
        self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1, **kwargs: Any
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return fold_word(word) in STOP_WORDS.get(language, frozenset())

    def is_punct(self, word: str, language: str) -> bool:
        return not any(char.isalnum() for char in word)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return list(self._languages)
