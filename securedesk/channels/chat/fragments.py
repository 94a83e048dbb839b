"""``FragmentHolder``: chat messages held back briefly because they end with digits that may be the first part of a
number the next message completes ("4111 1111", then "1111 1111").

A held message is delivered when its time is up (``Settings.chat_fragment_hold_seconds``), when the conversation moves
on so that no later message can join it, or with its fragment masked when a later message completes the number. Held
messages leave in the order they arrived. Pure logic on an injected clock's readings; nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from securedesk.errors import ConfigError

T = TypeVar("T")


@dataclass
class Held(Generic[T]):
    """One message held back: ``item`` is what the caller delivers later, ``text`` its (redacted) text so far."""

    message_id: str
    item: T
    text: str
    deadline: float
    retracted: bool = False  # a later message completed a number: ``text`` now has the fragment masked


class FragmentHolder(Generic[T]):
    """The messages of one conversation stream held back for their trailing fragment, oldest first."""

    def __init__(self, hold_seconds: float) -> None:
        if hold_seconds < 0:
            raise ConfigError("chat_fragment_hold_seconds must not be negative.")
        self._hold_seconds = hold_seconds
        self._held: list[Held[T]] = []

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Held[T]]:
        return iter(list(self._held))

    def __contains__(self, message_id: object) -> bool:
        return any(held.message_id == message_id for held in self._held)

    @property
    def hold_seconds(self) -> float:
        return self._hold_seconds

    def hold(self, message_id: str, item: T, text: str, *, now: float) -> Held[T]:
        """Hold a message until ``now + hold_seconds`` at the latest."""
        if message_id in self:
            raise ValueError(f"message {message_id} is already held")
        held = Held(message_id, item, text, now + self._hold_seconds)
        self._held.append(held)
        return held

    def replace(self, message_id: str, text: str) -> bool:
        """A later message completed a number: the held message will leave as ``text`` (its fragment masked).
        False when that message is not held (it was delivered already, so the caller retracts it instead)."""
        for held in self._held:
            if held.message_id == message_id:
                held.text = text
                held.retracted = True
                return True
        return False

    def release_unless(self, still_pending: Collection[str]) -> list[Held[T]]:
        """Release, oldest first, every held message that can no longer be joined by a later one (its id is not in
        ``still_pending``), and every message held before it, so that order is kept."""
        last = -1
        for index, held in enumerate(self._held):
            if held.message_id not in still_pending:
                last = index
        return self._release_first(last + 1)

    def release_due(self, now: float) -> list[Held[T]]:
        """Release, oldest first, the messages whose time is up."""
        count = 0
        while count < len(self._held) and self._held[count].deadline <= now:
            count += 1
        return self._release_first(count)

    def release_all(self) -> list[Held[T]]:
        """Everything, oldest first (the conversation ends or the server shuts down)."""
        return self._release_first(len(self._held))

    def next_deadline(self) -> float | None:
        return self._held[0].deadline if self._held else None

    def _release_first(self, count: int) -> list[Held[T]]:
        released, self._held = self._held[:count], self._held[count:]
        return released
