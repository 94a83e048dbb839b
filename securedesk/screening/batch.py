"""Screen many texts of one message (an email's headers and parts, an API call's named parts) in a single Screener
call: join them with random markers, split the result back.

One call per message keeps one decision, one set of entity counts and one audit event per message. The markers hold
neither digits nor letters (ASCII punctuation only, with a per-batch random nonce): no recognizer can match inside
them or guess them, and the Screener's language detection, which reads words, does not see them (letter markers,
one per header and part, outweighed a short French or Swedish message and made its nudge English). If a finding
ever spans a marker (the redaction swallowed it), the segments it joined are merged into the first one and the
others emptied: the text stays redacted, only its place changes.
"""

from __future__ import annotations

import bisect
import re
import secrets
from collections.abc import Sequence
from typing import Final

from securedesk.errors import DetectionError

#: Marker characters: no letter, no digit, no separator a recognizer joins digit groups with ("-", ".", "/", "+",
#: "_", spaces), nothing an address or URL is made of ("@", ":"), no bracket (the marker's own frame is "[[…]]").
MARK_ALPHABET: Final = "!#$%&*;=?^|~"
_NONCE_LENGTH: Final = 16  # 12**16 ≈ 2**57 possible nonces per batch


def _index_marks(index: int) -> str:
    """Bijective base-12 over ``MARK_ALPHABET``: 1 → "#", 12 → "#!" …"""
    base = len(MARK_ALPHABET)
    marks = []
    while True:
        index, rest = divmod(index, base)
        marks.append(MARK_ALPHABET[rest])
        if index == 0:
            return "".join(reversed(marks))


def _marks_index(marks: str) -> int:
    value = 0
    for char in marks:
        value = value * len(MARK_ALPHABET) + MARK_ALPHABET.index(char)
    return value


class SegmentBatch:
    """Texts joined for one screening call; ``split`` maps the screened text back to one text per segment."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        nonce = "".join(secrets.choice(MARK_ALPHABET) for _ in range(_NONCE_LENGTH))
        self._prefix = f"\n\n[[{nonce}"
        self._marker = re.compile(re.escape(self._prefix) + "([" + re.escape(MARK_ALPHABET) + r"]+)\]\]\n\n")
        parts: list[str] = []
        starts: list[int] = []
        position = 0
        for index, text in enumerate(self.texts):
            if index:
                marker = f"{self._prefix}{_index_marks(index)}]]\n\n"
                parts.append(marker)
                position += len(marker)
            starts.append(position)
            parts.append(text)
            position += len(text)
        self.joined = "".join(parts)
        #: Where each text starts in ``joined`` (to map a finding's offsets back to its text).
        self.starts: tuple[int, ...] = tuple(starts)

    def locate(self, start: int, end: int) -> tuple[int, int, int]:
        """(text index, start, end within that text) of the span ``start``…``end`` of ``joined``: the text it
        begins in, clipped to that text's end."""
        index = max(0, bisect.bisect_right(self.starts, start) - 1)
        base = self.starts[index]
        return index, start - base, min(end, base + len(self.texts[index])) - base

    def split(self, screened: str) -> list[str]:
        """One screened text per original segment, in order.

        Raises ``DetectionError`` (the message is held: 451) if the markers come back in an impossible order.
        """
        count = len(self.texts)
        if count == 0:
            return []
        out = [""] * count
        current = 0
        position = 0
        for match in self._marker.finditer(screened):
            index = _marks_index(match.group(1))
            if not current < index < count:
                raise DetectionError(
                    "Screened email text came back with its segment markers out of order; the message is held.",
                    hint="this points to a screener that rewrites text outside findings",
                )
            out[current] = screened[position : match.start()]
            current = index
            position = match.end()
        out[current] = screened[position:]
        return out
