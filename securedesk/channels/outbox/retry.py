"""When to try a delivery again: exponential backoff between a first and a largest interval, and when to give up.

In the spirit of RFC 5321 §4.5.4.1 (retry for days, never hammer): the n-th retry waits
``min(initial × 2^(n−1), maximum)``; a message still undelivered ``give_up_after`` seconds after it was queued is
given up and an alert is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from securedesk.config import Settings
from securedesk.errors import ConfigError


@dataclass(frozen=True)
class RetrySchedule:
    initial_seconds: float
    maximum_seconds: float
    give_up_after_seconds: float

    def __post_init__(self) -> None:
        if not 0 < self.initial_seconds <= self.maximum_seconds:
            raise ConfigError(
                "Relay backoff must satisfy 0 < relay_initial_backoff_seconds <= relay_max_backoff_seconds."
            )
        if self.give_up_after_seconds <= 0:
            raise ConfigError("relay_give_up_seconds must be positive.")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrySchedule:
        return cls(
            settings.relay_initial_backoff_seconds,
            settings.relay_max_backoff_seconds,
            settings.relay_give_up_seconds,
        )

    def delay_after(self, failed_attempts: int) -> float:
        """Seconds to wait after the ``failed_attempts``-th failed attempt (1 → initial, 2 → 2 × initial, …)."""
        exponent = max(failed_attempts - 1, 0)
        if exponent >= 64:
            return self.maximum_seconds
        return float(min(self.initial_seconds * (2**exponent), self.maximum_seconds))

    def gives_up(self, *, queued_at: float, now: float) -> bool:
        return now - queued_at >= self.give_up_after_seconds
