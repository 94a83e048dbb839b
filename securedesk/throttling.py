"""Rate limits over sliding windows: "at most ``limit`` events per ``window_seconds``", answered with how long to
wait. Event times come from the database (codes issued, call-backs requested: limits hold across restarts and
processes) or from ``SlidingWindow`` in memory (an agent's reveals)."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from securedesk.clock import Clock
from securedesk.errors import ConfigError, RateLimited


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` events per ``window_seconds``, per key; ``scope`` names the key in messages ("address")."""

    scope: str
    limit: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not self.window_seconds > 0:
            raise ConfigError(f"The {self.scope} rate limit needs a limit of at least 1 and a positive window.")

    def since(self, now: float) -> float:
        """Events after this moment count."""
        return now - self.window_seconds

    def retry_after(self, times: Iterable[float], now: float) -> int | None:
        """Whole seconds until one more event is allowed (at least 1), or None when it is allowed now."""
        recent = sorted(t for t in times if self.since(now) < t <= now)
        if len(recent) < self.limit:
            return None
        # The window must drop enough events to leave room for one more: the (n - limit)-th oldest must leave.
        leaves_at = recent[len(recent) - self.limit] + self.window_seconds
        return max(1, math.ceil(leaves_at - now))

    def check(self, times: Iterable[float], now: float) -> None:
        """Raise ``RateLimited`` (with ``retry_after``) when no further event is allowed now."""
        wait = self.retry_after(times, now)
        if wait is not None:
            raise RateLimited(
                f"Too many requests for this {self.scope}: at most {self.limit} per {self.window_seconds:g} seconds.",
                retry_after=wait,
            )


class SlidingWindow:
    """A ``RateLimit`` counted in memory for one process, per key; at most ``max_keys`` keys (least recent dropped)."""

    def __init__(self, limit: RateLimit, clock: Clock, *, max_keys: int = 10_000) -> None:
        self._limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, key: str) -> None:
        now = self._clock.now()
        self._limit.check(self._events.get(key, ()), now)

    def hit(self, key: str) -> None:
        """Count one event for ``key``, or raise ``RateLimited`` (not counting it) when the key is over its limit."""
        now = self._clock.now()
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque(maxlen=self._limit.limit)
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        self._limit.check(events, now)
        events.append(now)
        self._events.move_to_end(key)
