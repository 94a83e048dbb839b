"""The digit skeleton of a text: its digit groups, and which of them one written number could span.

A number is what it is whatever its layout, so recognition works on groups of digits and the gaps between them,
not on layout rules. A **group** is a maximal run of digits (a Corsican department "2A"/"2B" counts as digits).
Two neighbouring groups belong to one **chain** when the text between them is a **gap**: only characters that can
sit between the digits of one written number — any mix of spaces, TABs, dashes, dots, slashes, underscores,
commas and "+", one line break with the mail quote prefix ("> ") of the next line, a quoted-printable soft break,
HTML tags without digits and HTML entities that stand for spaces or dashes. Invisible characters (NUL and other
controls, zero-width and format characters, combining marks) were already dropped by ``normalize_text``, so they
never split a group.

A **candidate** of an entity type is a run of whole consecutive groups of one chain whose digits have a length the
type allows; the type's validity rules (checksums, issuer ranges, dates) decide, and its scoring looks at the
``Shape`` of the candidate (group lengths, gap kinds, glued letters, where it stands). Because candidates always
start and end on group boundaries, the number of candidates is linear in the number of groups: no input costs
more than linear time.

What stands around a chain is read once, lazily, for the candidates that pass validation: whether the token holding
it is a URL, an email address, or an opaque identifier (UUID, hex digest, base64), which scoring uses.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

#: Characters people and software put between digit groups (after normalization): spaces of every width, hyphens
#: and dashes, the minus sign, dot, middle dot, slash, underscore, comma, and "+" (a Swedish personnummer of
#: someone aged 100 or more). Used by other modules to recognise separators too.
SEPARATORS: Final = (
    " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
    "./_,\u00b7\u2024\u2027+"
)
SPACE_SEPARATORS: Final = frozenset(
    " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
DASH_SEPARATORS: Final = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63")
_SEPARATOR_CLASS: Final = "[" + re.escape(SEPARATORS) + "]"
#: HTML entities that stand for a space, a dash or nothing visible (numeric ones for digits are never a gap).
_ENTITY: Final = (
    r"&(?:nbsp|ensp|emsp|thinsp|hairsp|numsp|puncsp|shy|zwj|zwnj|lrm|rlm|wj|ndash|mdash|minus|hyphen|dash|"
    r"middot|period|sol|lowbar|comma|plus|NonBreakingSpace);"
    r"|&#(?:32|45|43|44|46|47|95|160|173|8199|8200|8201|8202|8203|8204|8205|8208|8209|8210|8211|8212|8239|8722);"
    r"|&#[xX](?:20|2[dD]|2[bB]|2[cC]|2[eE]|2[fF]|5[fF]|[aA]0|[aA][dD]|200[7-9a-dA-D]|201[0-4]|202[fF]|2212);"
)
#: One line break, with the quote prefix of the next line ("> > "), or a quoted-printable soft line break.
_LINE_BREAK: Final = r"=?(?:\r\n|\n|\r|\u2028|\u2029|\u0085)(?:[ \t]*>)*"
_TAG: Final = r"</?[A-Za-z][^<>0-9]{0,200}>|<!--[^0-9]{0,200}?-->"
_GAP_UNIT: Final = rf"(?:{_SEPARATOR_CLASS}|{_LINE_BREAK}|{_TAG}|{_ENTITY})"
#: A label between a French NIR and its key ("… 045 clé 28", "… 045 (clé : 28)", "key 28").
_KEY_LABEL: Final = r"[ (]*(?:cl[ée]|cle|key|nyckel)[ :.)]*"
_KEY_LABEL_WORD: Final = re.compile(r"cl[eé]|key|nyckel", re.IGNORECASE)
_GAP_RUN: Final = re.compile(rf"{_GAP_UNIT}+")
_GAP: Final = re.compile(rf"{_GAP_UNIT}+|{_GAP_UNIT}*{_KEY_LABEL}{_GAP_UNIT}*", re.IGNORECASE)
_MAX_GAP: Final = 240
#: Digits, with a Corsican "2A"/"2B" not followed by a letter. Written to begin with a digit class, so the regex
#: engine skips ahead to the next digit in C (an alternation first is five times slower on prose).
_GROUP_PATTERN: Final = r"[0-9](?:[0-9]|(?<=2)[ABab](?![A-Za-z]))*"
_GROUP: Final = re.compile(_GROUP_PATTERN)
#: A region: groups joined by anything a gap could be made of, read in one C-level pass. Every chain lies inside
#: one region (a gap is a run of gap units, or of gap units and a key label), so a region with fewer digits than
#: the shortest number asked for holds no candidate and is skipped without reading its groups one by one. The
#: atomic group keeps the scan linear: gap units hold no digits, so taking all of them is always right.
_REGION: Final = re.compile(rf"{_GROUP_PATTERN}(?:(?>(?:{_GAP_UNIT}|(?i:{_KEY_LABEL}))+){_GROUP_PATTERN})*")
#: What a region's digit count is taken from: digits, and the letter of a Corsican "2A" (counting more is safe).
_GROUP_CHARACTER: Final = re.compile(r"[0-9ABab]")
#: A chain is read only up to this many groups before it is cut (a megabyte of "1 2 3 …" stays linear).
MAX_CHAIN_GROUPS: Final = 4096

#: Gap kinds, for scoring: what a candidate's gaps are made of.
SPACE: Final = "space"
DASH: Final = "dash"
DOT: Final = "dot"
SLASH: Final = "slash"
COMMA: Final = "comma"
UNDERSCORE: Final = "underscore"
PLUS: Final = "plus"
BREAK: Final = "break"  # a line break, quote prefix or soft break
MARKUP: Final = "markup"  # HTML tags or entities
LABEL: Final = "label"  # a key label ("clé")
MIXED: Final = "mixed"  # several of the above in one gap

_SIMPLE_GAPS: Final = {
    **dict.fromkeys(SPACE_SEPARATORS, SPACE),
    **dict.fromkeys(DASH_SEPARATORS, DASH),
    ".": DOT,
    "\u00b7": DOT,
    "\u2024": DOT,
    "\u2027": DOT,
    "/": SLASH,
    ",": COMMA,
    "_": UNDERSCORE,
    "+": PLUS,
}
_BREAK_CHARS: Final = frozenset("\r\n\u2028\u2029\u0085")
_TOKEN_STOP: Final = frozenset(" \t\r\n\u00a0<>\"'()[]{}|,;")
_TOKEN_RUN: Final = re.compile("[^" + re.escape("".join(sorted(_TOKEN_STOP))) + "]*")
_TOKEN_LOOK: Final = 256
_UUID: Final = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_HEX_DIGEST: Final = re.compile(r"[0-9A-Fa-f]{24,}")
_EXPONENT: Final = re.compile(r"[eE][+\-\u2212]?[0-9]")
_URL_START: Final = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.\-]*://|www\.)")


def gap_at(text: str, position: int) -> int | None:
    """Where the gap starting at ``position`` ends (the start of the next group), or None if none starts there."""
    match = _GAP_RUN.match(text, position, min(len(text), position + _MAX_GAP + 1))
    if match is None or gap_kind(match.group()) is None:
        return None
    return match.end()


def gap_kind(gap: str) -> str | None:
    """The kind of text between two digit groups of one number, or None when it ends the number."""
    simple = _SIMPLE_GAPS.get(gap)
    if simple is not None:
        return simple
    if not gap or len(gap) > _MAX_GAP or _GAP.fullmatch(gap) is None:
        return None
    breaks = sum(gap.count(char) for char in _BREAK_CHARS) - gap.count("\r\n")
    if breaks > 1:
        return None  # a blank line ends what is said: no number spans a paragraph break
    structural = set()
    if breaks:
        structural.add(BREAK)
    if "<" in gap or "&" in gap:
        structural.add(MARKUP)
    elif _KEY_LABEL_WORD.search(gap):
        structural.add(LABEL)
    if structural:
        return structural.pop() if len(structural) == 1 else MIXED
    kinds = {_SIMPLE_GAPS[char] for char in gap if char in _SIMPLE_GAPS}
    if len(kinds) > 1:
        kinds.discard(SPACE)  # " - " and " / " are a dash and a slash with room around them
    return kinds.pop() if len(kinds) == 1 else MIXED


@dataclass(frozen=True, slots=True)
class Chain:
    """Digit groups that one written number could span. Offsets index the normalized text."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    texts: tuple[str, ...] = field(repr=False)  # the groups' digits: never in a repr
    gaps: tuple[str, ...]  # kind of the gap after each group but the last
    cumulative: tuple[int, ...]  # cumulative[i] = characters in groups before group i

    def __len__(self) -> int:
        return len(self.starts)

    def span_digits(self, first: int, last: int) -> str:
        return "".join(self.texts[first : last + 1])

    def lengths(self, first: int, last: int) -> tuple[int, ...]:
        return tuple(len(text) for text in self.texts[first : last + 1])

    def gap_kinds(self, first: int, last: int) -> frozenset[str]:
        return frozenset(self.gaps[first:last])

    def ends_within(self, first: int, low: int, high: int) -> range:
        """Indexes ``last`` ≥ ``first`` whose span [first, last] holds between ``low`` and ``high`` characters."""
        base = self.cumulative[first]
        lo = bisect.bisect_left(self.cumulative, base + low, first + 1) - 1
        hi = bisect.bisect_right(self.cumulative, base + high, first + 1) - 1
        return range(max(lo, first), min(hi, len(self.starts) - 1) + 1)


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What the token holding a candidate is: read from the text around it."""

    in_url: bool = False
    in_url_path: bool = False
    in_email: bool = False
    opaque: bool = False  # a UUID, hex digest or similar identifier: never a number of ours
    country_code: bool = False  # the chain starts after "+": a phone number


@dataclass(frozen=True, slots=True)
class Shape:
    """How a candidate is written: group lengths, the kinds of its gaps, and its place in its chain."""

    lengths: tuple[int, ...]
    gaps: frozenset[str]
    whole_chain: bool  # the candidate is its whole chain (nothing joined before or after it)
    glued_before: bool  # a letter touches its first digit
    glued_after: bool  # a letter touches its last digit
    surroundings: Surroundings

    @property
    def contiguous(self) -> bool:
        return len(self.lengths) == 1

    @property
    def uniform_gaps(self) -> bool:
        return len(self.gaps) == 1 and MIXED not in self.gaps

    @property
    def glued(self) -> bool:
        return self.glued_before or self.glued_after


class Skeleton:
    """The chains of a normalized text. Build once per text; every entity type reads the same skeleton."""

    __slots__ = ("_quantities", "_surroundings", "chains", "text")

    def __init__(self, text: str, *, min_length: int = 1) -> None:
        """``min_length``: the fewest group characters any wanted number has; chains shorter than that may be
        left out (they hold no candidate), which keeps text with short numbers only (dates, prices) cheap."""
        self.text = text
        self.chains: list[Chain] = _chains(text, min_length)
        self._surroundings: dict[tuple[int, int], Surroundings] = {}
        self._quantities: dict[int, tuple[tuple[int, int], ...]] = {}

    def shape(self, chain: Chain, first: int, last: int) -> Shape:
        text = self.text
        start, end = chain.starts[first], chain.ends[last]
        surroundings = self._surroundings.get((start, end))
        if surroundings is None:
            quantities = self._quantities.get(chain.starts[0])
            if quantities is None:
                quantities = self._quantities[chain.starts[0]] = _quantities(text, chain)
            surroundings = _surroundings(text, chain.starts[0], start, end, quantities)
            self._surroundings[(start, end)] = surroundings
        return Shape(
            lengths=chain.lengths(first, last),
            gaps=chain.gap_kinds(first, last),
            whole_chain=first == 0 and last == len(chain) - 1,
            glued_before=start > 0
            and (text[start - 1].isalpha() or (start > 1 and text[start - 1] in "_-" and text[start - 2].isalpha())),
            glued_after=end < len(text) and text[end].isalpha(),
            surroundings=surroundings,
        )


def _chains(text: str, min_length: int) -> list[Chain]:
    if min_length <= 1:
        return _chains_in(text, 0, len(text))
    chains: list[Chain] = []
    for region in _REGION.finditer(text):
        start, end = region.span()
        if end - start >= min_length and len(_GROUP_CHARACTER.findall(text, start, end)) >= min_length:
            chains.extend(_chains_in(text, start, end))
    return chains


def _chains_in(text: str, region_start: int, region_end: int) -> list[Chain]:
    """The chains whose groups start in ``region_start``…``region_end`` (a region starts where a chain does)."""
    chains: list[Chain] = []
    starts: list[int] = []
    ends: list[int] = []
    texts: list[str] = []
    gaps: list[str] = []
    previous_end = -1
    for match in _GROUP.finditer(text, region_start):
        start, end = match.span()
        if start >= region_end:
            break
        if start and text[start - 1] in _ENTITY_PREFIX_END and _in_numeric_entity(text, start, end):
            continue  # the digits of "&#160;" are part of a gap, not a group
        kind = gap_kind(text[previous_end:start]) if starts and len(starts) < MAX_CHAIN_GROUPS else None
        if kind is None and starts:
            chains.append(_chain(starts, ends, texts, gaps))
            starts, ends, texts, gaps = [], [], [], []
        elif kind is not None:
            gaps.append(kind)
        starts.append(start)
        ends.append(end)
        texts.append(match.group().upper())
        previous_end = end
    if starts:
        chains.append(_chain(starts, ends, texts, gaps))
    return chains


_ENTITY_PREFIX_END: Final = frozenset("#xXabcdefABCDEF")
_NUMERIC_ENTITY_BEFORE: Final = re.compile(r"&#[xX]?[0-9A-Fa-f]{0,6}\Z")
_NUMERIC_ENTITY_AFTER: Final = re.compile(r"[0-9A-Fa-f]{0,6};")


def _in_numeric_entity(text: str, start: int, end: int) -> bool:
    return (
        _NUMERIC_ENTITY_BEFORE.search(text, max(0, start - 9), start) is not None
        and _NUMERIC_ENTITY_AFTER.match(text, end) is not None
    )


def _chain(starts: list[int], ends: list[int], texts: list[str], gaps: list[str]) -> Chain:
    cumulative = [0]
    for group in texts:
        cumulative.append(cumulative[-1] + len(group))
    return Chain(tuple(starts), tuple(ends), tuple(texts), tuple(gaps), tuple(cumulative))


def _quantities(text: str, chain: Chain) -> tuple[tuple[int, int], ...]:
    """Where the chain holds quantities: each numeral (groups joined by a single "." "," or "'", nothing else) that
    is a decimal or an amount (when it is the whole chain) or in scientific notation (anywhere). Judged numeral by
    numeral, so that a NIR written just before "2.467E-2" is not taken for part of it."""
    spans: list[tuple[int, int]] = []
    first = 0
    for index in range(len(chain)):
        joined = index + 1 < len(chain) and text[chain.ends[index] : chain.starts[index + 1]] in _NUMERAL_JOINS
        if not joined:
            whole = first == 0 and index == len(chain) - 1
            # Part of a longer chain, only scientific notation counts: "7593,8241" after "6204 8764 " is a card's
            # last groups written with a comma, not a decimal.
            if _is_quantity(text, chain, first, index) if whole else _EXPONENT.match(text, chain.ends[index]):
                spans.append((chain.starts[first], chain.ends[index]))
            first = index + 1
    return tuple(spans)


_NUMERAL_JOINS: Final = frozenset(".,'")


def _is_quantity(text: str, chain: Chain, first: int, last: int) -> bool:
    """Whether groups ``first``…``last`` (one numeral) are a decimal ("0.4111111111111111", "4,5"), an amount with
    thousands separators ("4,111,111.00"), or a number in scientific notation ("2.467E-2"): a quantity, not an
    identifier."""
    end = chain.ends[last]
    if _EXPONENT.match(text, end):
        return True
    gaps = [text[chain.ends[index] : chain.starts[index + 1]] for index in range(first, last)]
    lengths = [len(group) for group in chain.texts[first : last + 1]]
    if len(gaps) == 1:
        # "0.4111111111111111" and "4.111111111111111" are decimals; "4111111111111111,737" is a card and a CVV.
        return gaps[0] in (".", ",") and (lengths[1] >= 4 or lengths[0] <= 3)
    if len(gaps) >= 2 and gaps[0] in (",", ".", "'") and lengths[0] <= 3:
        body = lengths[1:]
        if lengths[-1] == 2 and gaps[-1] in (",", ".") and gaps[-1] != gaps[0]:
            body = lengths[1:-1]
        return bool(body) and all(length == 3 for length in body) and all(gap == gaps[0] for gap in gaps[: len(body)])
    return False


def _surroundings(
    text: str, chain_start: int, start: int, end: int, quantities: tuple[tuple[int, int], ...]
) -> Surroundings:
    """What the token holding the candidate ``start``…``end`` is (a token: the candidate extended to the nearest
    whitespace, quote, bracket or comma on either side)."""
    lower = max(0, start - _TOKEN_LOOK)
    before = _TOKEN_RUN.match(text[lower:start][::-1])
    token_start = start - (before.end() if before else 0)
    after = _TOKEN_RUN.match(text, end, min(len(text), end + _TOKEN_LOOK))
    token_end = after.end() if after else end
    token = text[token_start:token_end]
    prefix = text[token_start:start]
    url = _URL_START.search(prefix)
    in_url = url is not None
    in_path = False
    if url is not None:
        after_scheme = prefix[url.end() :]
        in_path = "/" in after_scheme and "?" not in after_scheme and "#" not in after_scheme
    elif "/" in prefix and "?" not in prefix and "#" not in prefix and "@" not in prefix:
        host = prefix.partition("/")[0]  # a bare host with a path: "shop.example.com/orders/…"
        in_url = in_path = "." in host and host.rsplit(".", 1)[1].isalpha()
    opaque = (
        _UUID.search(token) is not None
        or ((digest := _HEX_DIGEST.search(token)) is not None and not digest.group().isdigit())
        or any(low < end and start < high for low, high in quantities)
    )
    country_code = (
        chain_start > 0 and text[chain_start - 1] == "+" and (chain_start < 2 or not text[chain_start - 2].isalnum())
    )
    return Surroundings(
        in_url=in_url,
        in_url_path=in_path,
        in_email="@" in token and not in_url,
        opaque=opaque,
        country_code=country_code,
    )


def iter_spans(chain: Chain, low: int, high: int) -> Iterator[tuple[int, int]]:
    """(first, last) group indexes of every span holding ``low``…``high`` characters: for each first group, the
    longest span first."""
    for first in range(len(chain)):
        for last in reversed(chain.ends_within(first, low, high)):
            yield first, last
