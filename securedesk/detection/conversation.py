"""``ConversationScanner``: numbers typed across consecutive chat messages ("4111 1111", then "1111 1111").

Per conversation it keeps the trailing digit fragments of the last few messages (bounded in messages, seconds and
conversations) and screens their concatenation with the detector. The rule, so that unrelated numbers in
consecutive messages are never merged into a false card:

1. A **tail** is a run of groups (single separators: space, dash, dot, …) at the very end of a message, with at
   most one closing punctuation mark or a word saying more follows (``TRAILING_WORDS``: "and", "puis") after it,
   standing alone (start of text, whitespace, ":" or "(" before it, and not the rest of a phone number after a
   "+46 " country code). A group starts with a digit or with an IBAN's country code and check digits ("FR76"). A
   **head** is such a run at the very start of a message, followed by whitespace, the end, or one punctuation mark;
   it may come after a continuation word (``CONTINUATION_WORDS``) or an ellipsis. A message that is nothing but
   such a run (after such a word) is **digit-only**. A fragment holds 1 to 34 letters and digits.
2. A chain is: one message's tail, then zero or more digit-only messages, then the current message's head; at
   most ``max_messages`` fragments in all, each sent within ``window_seconds`` (the policy window, 2 minutes by
   default) before the current one. Small talk between them (no digits: "wait", "ok", or a pause to find the
   number, "hang on, getting my card"; see ``is_small_talk``) neither joins nor breaks the chain; anything else (a
   sentence, a word before the head other than a continuation such as "and", "the rest:", "puis", "resten") breaks
   it.
3. The fragments are joined with single spaces (with a little of the first message's text before them as context)
   and analyzed for every entity type (``CROSS_MESSAGE_TYPES``), with the same registry, validity rules and
   context scoring as one message: checksums reject chance joins of card, NIR, personnummer and IBAN fragments;
   an SSN, which has none, needs its layout or context words as it would in one message.
4. A finding counts only if it covers digits of the current message **and** of at least one earlier message; the
   earlier messages it touches are reported so the caller can hold them back or retract them.
5. A number all in the current message whose context words are in the one or two messages before ("my SSN is",
   then "536221847": an SSN, which has no check digit, needs them; the chat adds the agent's reply too, "What is
   your SSN?", with ``add_context``) is found by analyzing the current message after
   the last characters of those (``CONTEXT_KEEP_CHARS``, within the window); it is reported with the current
   message as its only part.

Use: ``scan`` (reads the state, runs the detector: call it from a worker thread) on the text as screened, then
``record`` the text actually delivered (after masking), which updates the state and says whether this message's
trailing fragment should be held back briefly. Time comes from the injected clock.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from securedesk.clock import Clock
from securedesk.detection.finding import Finding
from securedesk.detection.normalization import NormalizedText, normalize_text
from securedesk.detection.recognizers import ENTITY_TYPES
from securedesk.errors import ConfigError
from securedesk.sensitive import Sensitive

#: Entity types looked for across messages: all of them. Card, NIR, personnummer and IBAN carry a check; a US SSN
#: has none, so a chance join counts only in an SSN layout or with SSN context, as in one message.
CROSS_MESSAGE_TYPES: Final = ENTITY_TYPES
MIN_FRAGMENT_DIGITS: Final = 1  # a NIR starts with one digit, written apart ("2 05 05 …")
#: Characters in a fragment: an IBAN has up to 34; digits alone, at most a card's 19.
MAX_FRAGMENT_DIGITS: Final = 34
MAX_CARD_DIGITS: Final = 19
#: A message without digits of at most ``SMALL_TALK_WORDS`` words and ``SMALL_TALK_CHARS`` characters ("wait",
#: "ok", "un instant", "vänta lite") is small talk: it neither joins nor breaks a number being typed across
#: messages. So is a longer one, up to ``PAUSE_WORDS`` words and ``PAUSE_CHARS`` characters, that says the customer
#: is pausing to find the number ("hang on, getting my card", "attendez je cherche ma carte", "vänta jag hämtar
#: kortet"): a chain broken too early shows the first part of a number in clear, one kept too long only delays
#: showing a harmless fragment until the window ends or a sentence comes.
SMALL_TALK_WORDS: Final = 3
SMALL_TALK_CHARS: Final = 24
PAUSE_WORDS: Final = 7
PAUSE_CHARS: Final = 48
#: Word stems (lower case, matched at the start of a word) that mark a pause, in English, French and Swedish.
PAUSE_STEMS: Final = (
    "wait", "sec", "moment", "minute", "hold", "hang", "check", "find", "look", "get", "grab", "card", "number",
    "digit", "rest", "sorry", "oops", "typo", "sent", "attend", "instant", "minut", "second", "cherch", "trouv",
    "carte", "numéro", "chiffre", "reste", "pardon", "désolé", "oups", "envoy", "vänta", "ögonblick", "sekund",
    "letar", "kolla", "hämta", "hitta", "kort", "numr", "nummer", "siffr", "resten", "förlåt", "ursäkta", "skick",
)  # fmt: skip
#: Words a customer puts before the rest of a number ("and 1111 1111", "the rest: 1111", "puis 1111", "resten 1111"):
#: a head may follow one of them, in English, French or Swedish, longest phrases first.
CONTINUATION_WORDS: Final = (
    "and then", "and the rest is", "and the rest", "the rest is", "the rest", "rest is", "rest", "and", "then",
    "next", "followed by", "last digits", "last part", "continued", "cont", "also",
    "et puis", "et ensuite", "et la suite", "et le reste", "la suite", "le reste", "reste", "suite", "puis",
    "ensuite", "et", "la fin", "fin",
    "och sedan", "och sen", "och resten", "resten är", "resten", "sedan", "sen", "och", "sista delen", "sista",
    "slutet", "fortsättning",
)  # fmt: skip
#: Characters between the digit groups of one fragment (spaces, dashes, dots of every width).
SEPARATORS: Final = " \t-.\u00a0\u2007\u2009\u202f\u2010\u2011\u2012\u2013\u2212"
#: A tail with at least this many digits, or a digit-only message, is worth holding back for the next message.
HOLD_FRAGMENT_DIGITS: Final = 4
#: Characters of the first message's text (before its tail) and of the current message (after its head) joined
#: around the fragments, so context words ("card", "personnummer") score as they would in one message.
_CONTEXT_BEFORE: Final = 64
_CONTEXT_AFTER: Final = 40
#: Context carried to the next message: the last characters of a message ("my SSN is", then "536221847"), used
#: for a next message of at most ``CONTEXT_MESSAGE_CHARS`` characters.
CONTEXT_KEEP_CHARS: Final = 64
CONTEXT_MESSAGES: Final = 2  # the previous message, and one before it (small talk: "my SSN is", "wait", "53622…")
CONTEXT_MESSAGE_CHARS: Final = 200
#: The fewest digits any number we detect has (an SSN's nine): a message with fewer needs no context scan.
_MIN_NUMBER_DIGITS: Final = 9
#: Tails are found in the last characters of a message only (19 digits with separators, punctuation, spaces).
_TAIL_SEARCH: Final = 80

#: A group starts with a digit, or with an IBAN's country code and check digits; it may hold capital letters after
#: that (an IBAN's BBAN: "3M02"), or, after the first, be capitals (a bank code: "WEST"). A head may start with
#: any such group.
_FIRST_GROUP: Final = r"(?:[A-Z]{2}[0-9]{2}|[0-9])[0-9A-Z]*"
_LATER_GROUP: Final = r"[0-9A-Z]+(?![a-z])"
_GROUPS: Final = rf"{_FIRST_GROUP}(?:[{re.escape(SEPARATORS)}]{{1,3}}{_LATER_GROUP})*"
#: A head may continue an IBAN from any of its groups ("NBIQ 7647 …", "N4LG D1D3 Z").
_HEAD_GROUPS: Final = rf"{_LATER_GROUP}(?:[{re.escape(SEPARATORS)}]{{1,3}}{_LATER_GROUP})*"
_CLOSING: Final = "[.,;:!?\u2026]"
#: A tail may end with the separator the next message continues after ("19811218-", then "9876").
#: Words after the first part of a number that say more follows ("4111 1111 and", "1 84 12 75 puis…").
TRAILING_WORDS: Final = ("and", "then", "and then", "et", "puis", "et puis", "och", "sen", "sedan", "och sen")
_TRAILING: Final = (
    r"(?:\s+(?i:"
    + "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in sorted(TRAILING_WORDS, key=len, reverse=True))
    + r"))?"
)
_TAIL: Final = re.compile(
    rf"(?<![^\s:(])({_GROUPS})(?:{_CLOSING}|[{re.escape(SEPARATORS)}])?{_TRAILING}(?:{_CLOSING}+)?\s*\Z"
)
_LEAD: Final = (
    r"(?:(?i:" + "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in CONTINUATION_WORDS) + r")"
    r"(?=[\s:\-\u2013\u2026.])\s*(?:[:\-\u2013\u2026]|\.{2,3})?\s*|(?:\u2026|\.{2,3}|[-\u2013])\s*)"
)
_HEAD: Final = re.compile(rf"\A\s*{_LEAD}?({_HEAD_GROUPS})(?={_CLOSING}?(?:\s|\Z))")
_WHOLE_END: Final = re.compile(rf"{_CLOSING}?\s*\Z")
#: "+46 70 123": the rest of a phone number after its country code is not a fragment of anything we detect.
_COUNTRY_CODE: Final = re.compile(r"\+[0-9]{1,3}\s\Z")
_TO_SPACE: Final = str.maketrans(dict.fromkeys(SEPARATORS, " "))
_ANY_DIGIT: Final = re.compile(r"\d")
_WORD: Final = re.compile(r"\w+")
#: A short duration ("1 sec", "2 min", "30 s", "une seconde" has no digits anyway): digits that are not a fragment.
_DURATION: Final = re.compile(
    r"(?<!\d)\d{1,2}\s?(?i:s|sec|secs|second|seconds|seconde|secondes|sek|sekund|sekunder|m|min|mins|minute|minutes"
    r"|minut|minuter)(?!\w)"
)


class TextAnalyzer(Protocol):
    """What the scanner (and the Screener) need of ``securedesk.detection.Detector``."""

    @property
    def languages(self) -> tuple[str, ...]: ...

    def analyze(
        self,
        text: str,
        lang: str,
        entities: Collection[str] | None = None,
        *,
        min_score: float | None = None,
    ) -> list[Finding]: ...


@dataclass(frozen=True, slots=True)
class FragmentPart:
    """Where one message holds part of a number: offsets into that message's text as scanned/recorded."""

    message_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CrossMessageFinding:
    """A number found in the concatenation of fragments of several messages; ``parts`` in message order, the last
    one in the current message."""

    entity_type: str
    score: float
    digits: Sensitive  # the whole number, normalized (ASCII digits)
    parts: tuple[FragmentPart, ...]

    @property
    def current_part(self) -> FragmentPart:
        return self.parts[-1]

    @property
    def earlier_parts(self) -> tuple[FragmentPart, ...]:
        return self.parts[:-1]


@dataclass(frozen=True)
class ConversationScan:
    """What ``scan`` found for one message; ``earlier_texts`` are the recorded texts of the earlier messages the
    findings touch (as the caller recorded them), so it can rebuild them with the fragments masked."""

    conversation_id: str
    message_id: str
    findings: tuple[CrossMessageFinding, ...] = ()
    earlier_texts: Mapping[str, Sensitive] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def retract(self) -> tuple[str, ...]:
        """Ids of earlier messages holding part of a finding, oldest first."""
        ids: dict[str, None] = {}
        for finding in self.findings:
            for part in finding.earlier_parts:
                ids[part.message_id] = None
        return tuple(ids)


@dataclass(frozen=True, slots=True)
class _Fragment:
    """A digit run in a message: span in the normalized text, span in the original, the run in the normalized
    text with every separator turned into a space, and its digit count."""

    norm_start: int
    norm_end: int
    start: int
    end: int
    joined: str = field(repr=False)  # part of a number: never in a repr
    digits: int = 0


@dataclass(frozen=True, slots=True)
class _Recorded:
    message_id: str
    at: float
    text: Sensitive
    tail: _Fragment
    digit_only: bool


def _fragment(norm: NormalizedText, start: int, end: int, *, head: bool = False) -> _Fragment | None:
    run = norm.text[start:end]
    if not any(char.isdigit() for char in run):
        return None
    digits = sum(char.isalnum() for char in run)
    # A tail of digits alone can begin a card at most; a head may continue an IBAN's digits.
    limit = MAX_FRAGMENT_DIGITS if head or any(char.isalpha() for char in run) else MAX_CARD_DIGITS
    if not MIN_FRAGMENT_DIGITS <= digits <= limit:
        return None
    original_start, original_end = norm.original_span(start, end)
    return _Fragment(start, end, original_start, original_end, run.translate(_TO_SPACE), digits)


def is_small_talk(text: str) -> bool:
    """A short message without digits ("wait", "ok", "un instant"), or a pause to find the number ("hang on,
    getting my card", "1 sec"): it does not break a number being typed."""
    stripped = _DURATION.sub("", text).strip()
    if len(stripped) > PAUSE_CHARS or _ANY_DIGIT.search(stripped) is not None:
        return False
    words = _WORD.findall(stripped.lower())
    if len(words) <= SMALL_TALK_WORDS and len(stripped) <= SMALL_TALK_CHARS:
        return True
    return len(words) <= PAUSE_WORDS and any(word.startswith(PAUSE_STEMS) for word in words)


def mask_trailing_fragment(text: str, mask: str = "\u2022") -> str:
    """``text`` with the letters and digits of its trailing fragment (see ``find_tail``) replaced by ``mask``:
    how a message that may hold the start of a number is shown until the conversation proves it harmless."""
    norm = normalize_text(text)
    tail = find_tail(norm)
    if tail is None:
        return text
    masked = "".join(mask if char.isalnum() else char for char in text[tail.start : tail.end])
    return text[: tail.start] + masked + text[tail.end :]


def find_tail(norm: NormalizedText) -> _Fragment | None:
    """The trailing digit fragment of a normalized message, if it has one (rule 1 of the module docstring)."""
    text = norm.text
    offset = max(0, len(text.rstrip()) - _TAIL_SEARCH)
    match = _TAIL.search(text, offset)
    if match is None or _COUNTRY_CODE.search(text, max(0, match.start(1) - 8), match.start(1)):
        return None
    return _fragment(norm, match.start(1), match.end(1))


def find_head(norm: NormalizedText) -> tuple[_Fragment, bool] | None:
    """The leading digit fragment of a normalized message and whether the message is nothing but that fragment."""
    match = _HEAD.match(norm.text)
    if match is None:
        return None
    fragment = _fragment(norm, match.start(1), match.end(1), head=True)
    if fragment is None:
        return None
    return fragment, _WHOLE_END.match(norm.text, match.end(1)) is not None


class _Conversation:
    __slots__ = ("context", "pending")

    def __init__(self, size: int) -> None:
        self.pending: deque[_Recorded] = deque(maxlen=size)
        #: The last characters of the last ``CONTEXT_MESSAGES`` messages (as delivered), with when they came.
        self.context: deque[tuple[float, Sensitive]] = deque(maxlen=CONTEXT_MESSAGES)


class ConversationScanner:
    """Finds numbers split across the messages of a conversation. Thread-safe; all state bounded:
    ``max_messages - 1`` earlier messages per conversation, ``window_seconds``, ``max_conversations`` (LRU)."""

    def __init__(
        self,
        detector: TextAnalyzer,
        *,
        clock: Clock,
        max_messages: int = 10,
        window_seconds: float = 120.0,
        max_conversations: int = 10_000,
        entity_types: Sequence[str] = CROSS_MESSAGE_TYPES,
    ) -> None:
        if max_messages < 2:
            raise ConfigError("conversation_max_messages must be at least 2: a split number spans two messages.")
        if window_seconds <= 0:
            raise ConfigError("conversation_window_seconds must be positive.")
        if max_conversations < 1:
            raise ConfigError("conversation_max_tracked must be at least 1.")
        self._detector = detector
        self._clock = clock
        self._max_messages = max_messages
        self._window = window_seconds
        self._max_conversations = max_conversations
        self._entity_types = tuple(entity_types)
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def entity_types(self) -> tuple[str, ...]:
        return self._entity_types

    @property
    def window_seconds(self) -> float:
        """How long a fragment may wait for the rest of its number."""
        return self._window

    def __len__(self) -> int:
        """How many conversations currently have fragments kept."""
        with self._lock:
            return sum(1 for conversation in self._conversations.values() if conversation.pending)

    def forget(self, conversation_id: str) -> None:
        """Drop what is kept for a conversation (it ended)."""
        with self._lock:
            self._conversations.pop(conversation_id, None)

    def pending_message_ids(self, conversation_id: str) -> tuple[str, ...]:
        """Earlier messages whose fragments could still join the next message (oldest first)."""
        now = self._clock.now()
        with self._lock:
            return tuple(record.message_id for record in self._live(conversation_id, now, touch=False))

    def scan(
        self, conversation_id: str, message_id: str, text: str, lang: str, *, min_score: float | None = None
    ) -> ConversationScan:
        """Numbers that begin in earlier messages of the conversation and end in this one. Reads the state only;
        runs the detector (CPU-bound): call it from a worker thread. ``min_score`` as in ``Detector.analyze``."""
        now = self._clock.now()
        norm = normalize_text(text)
        head = find_head(norm)
        chain: list[_Recorded] = []
        if head is not None:
            with self._lock:
                chain = self._live(conversation_id, now, touch=True)
        if chain and head is not None:
            result = self._scan_chain(conversation_id, message_id, norm, head[0], chain, lang, min_score)
            if result.findings:
                return result
        if len(norm.text) > CONTEXT_MESSAGE_CHARS or sum(map(str.isdigit, norm.text)) < _MIN_NUMBER_DIGITS:
            return ConversationScan(conversation_id, message_id)  # no number of ours fits (a mask has only four)
        with self._lock:
            context = self._context(conversation_id, now)
        if context is None:
            return ConversationScan(conversation_id, message_id)
        return self._scan_with_context(conversation_id, message_id, norm, context, lang, min_score)

    def add_context(self, conversation_id: str, text: str) -> None:
        """Count ``text`` (what the other side just wrote, e.g. an agent's "What is your SSN?") as the context of
        this conversation's next message, as if it were the previous message."""
        stripped = normalize_text(text).text.strip()
        if not stripped:
            return
        now = self._clock.now()
        with self._lock:
            self._conversation(conversation_id).context.append((now, Sensitive(stripped[-CONTEXT_KEEP_CHARS:])))

    def record(self, conversation_id: str, message_id: str, text: str, *, consumed: bool = False) -> bool:
        """Remember this message's trailing fragment (``text`` as delivered, numbers found already masked).

        ``consumed``: a finding used the earlier fragments, or the message was not delivered; they are dropped.
        Returns True when the message ends with a fragment that may continue in the next message: the caller
        should hold that message back briefly (or be ready to retract it).
        """
        now = self._clock.now()
        norm = normalize_text(text)
        tail = find_tail(norm)
        head = find_head(norm) if tail is not None else None
        digit_only = head is not None and head[1]
        with self._lock:
            conversation = self._conversation(conversation_id)
            pending = conversation.pending
            self._prune(pending, now)
            if consumed or (not digit_only and not is_small_talk(norm.text)):
                # Only a digit-only message can sit in the middle of a chain; small talk passes over it.
                pending.clear()
            if consumed:
                conversation.context.clear()
            elif norm.text.strip():
                conversation.context.append((now, Sensitive(norm.text.strip()[-CONTEXT_KEEP_CHARS:])))
            if tail is None:
                return False
            pending.append(_Recorded(message_id, now, Sensitive(text), tail, digit_only))
        return digit_only or tail.digits >= HOLD_FRAGMENT_DIGITS

    # --- internals -------------------------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> _Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = _Conversation(self._max_messages - 1)
            self._conversations[conversation_id] = conversation
            while len(self._conversations) > self._max_conversations:
                self._conversations.popitem(last=False)
        else:
            self._conversations.move_to_end(conversation_id)
        return conversation

    def _context(self, conversation_id: str, now: float) -> str | None:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return None
        texts = [text.reveal() for at, text in conversation.context if at >= now - self._window]
        return " ".join(texts) if texts else None

    def _scan_with_context(
        self,
        conversation_id: str,
        message_id: str,
        norm: NormalizedText,
        context: str,
        lang: str,
        min_score: float | None,
    ) -> ConversationScan:
        """A number that is all in this message but whose context words are in the previous one ("my SSN is", then
        "536221847"): the message is analyzed after the end of the previous one, and only findings inside it count."""
        offset = len(context) + 1
        joined = f"{context} {norm.text}"
        found: list[CrossMessageFinding] = []
        for finding in self._detector.analyze(joined, lang, self._entity_types, min_score=min_score):
            if finding.start < offset:
                continue
            start, end = norm.original_span(finding.start - offset, finding.end - offset)
            found.append(
                CrossMessageFinding(
                    finding.entity_type, finding.score, finding.digits, (FragmentPart(message_id, start, end),)
                )
            )
        return ConversationScan(conversation_id, message_id, tuple(found))

    def _prune(self, pending: deque[_Recorded], now: float) -> None:
        while pending and pending[0].at < now - self._window:
            pending.popleft()

    def _live(self, conversation_id: str, now: float, *, touch: bool) -> list[_Recorded]:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return []
        if touch:
            self._conversations.move_to_end(conversation_id)
        self._prune(conversation.pending, now)
        return list(conversation.pending)

    def _scan_chain(
        self,
        conversation_id: str,
        message_id: str,
        norm: NormalizedText,
        head: _Fragment,
        chain: list[_Recorded],
        lang: str,
        min_score: float | None,
    ) -> ConversationScan:
        """Try the longest chain first, then without its oldest message, and so on: an unrelated group at the
        start ("order 1234", then a card in two messages) would otherwise look like the card's first group."""
        first_norm = normalize_text(chain[0].text.reveal())
        context = first_norm.text[max(0, chain[0].tail.norm_start - _CONTEXT_BEFORE) : chain[0].tail.norm_start]
        if context and not context[-1].isspace():
            context += " "
        norms = [first_norm] + [normalize_text(record.text.reveal()) for record in chain[1:]]
        for first in range(len(chain)):
            found = self._scan_joined(message_id, norm, head, chain[first:], norms[first:], context, lang, min_score)
            if found:
                texts = {
                    record.message_id: record.text
                    for record in chain
                    if any(part.message_id == record.message_id for f in found for part in f.earlier_parts)
                }
                return ConversationScan(conversation_id, message_id, tuple(found), MappingProxyType(texts))
        return ConversationScan(conversation_id, message_id)

    def _scan_joined(
        self,
        message_id: str,
        norm: NormalizedText,
        head: _Fragment,
        chain: list[_Recorded],
        norms: list[NormalizedText],
        context: str,
        lang: str,
        min_score: float | None,
    ) -> list[CrossMessageFinding]:
        pieces = [context]
        # (message id, its normalized text, its fragment, the fragment's start and end in the joined text)
        parts: list[tuple[str, NormalizedText, _Fragment, int, int]] = []
        position = len(context)
        for record, record_norm in zip(chain, norms, strict=True):
            parts.append((record.message_id, record_norm, record.tail, position, position + len(record.tail.joined)))
            pieces.append(record.tail.joined + " ")
            position += len(record.tail.joined) + 1
        parts.append((message_id, norm, head, position, position + len(head.joined)))
        pieces.append(head.joined)
        chain_start, chain_end = len(context), position + len(head.joined)
        pieces.append(norm.text[head.norm_end : head.norm_end + _CONTEXT_AFTER])  # starts with a non-digit
        joined = "".join(pieces)

        found: list[CrossMessageFinding] = []
        for finding in self._detector.analyze(joined, lang, self._entity_types, min_score=min_score):
            if finding.start < chain_start or finding.end > chain_end:
                continue
            touched = [part for part in parts if finding.start < part[4] and finding.end > part[3]]
            if len(touched) < 2 or touched[-1][0] != message_id:
                continue
            spans: list[FragmentPart] = []
            for part_id, part_norm, fragment, joined_start, joined_end in touched:
                start = fragment.norm_start + max(finding.start, joined_start) - joined_start
                end = fragment.norm_start + min(finding.end, joined_end) - joined_start
                original_start, original_end = part_norm.original_span(start, end)
                spans.append(FragmentPart(part_id, original_start, original_end))
            found.append(CrossMessageFinding(finding.entity_type, finding.score, finding.digits, tuple(spans)))
        return found
