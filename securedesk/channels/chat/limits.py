"""Per-connection limits of the chat: messages per sliding minute, and the size of one frame in bytes."""

from __future__ import annotations

from collections import deque
from typing import Final

from securedesk.clock import Clock
from securedesk.errors import ConfigError, InputTooLarge, RateLimited

WINDOW_SECONDS: Final = 60.0


class MessageRate:
    """At most ``per_minute`` messages in any sliding 60 seconds (on the injected clock); one instance per connection.

    ``admit()`` raises ``RateLimited`` for the message that goes over (the caller closes the connection with 1008).
    """

    def __init__(self, clock: Clock, *, per_minute: int) -> None:
        if per_minute < 1:
            raise ConfigError("chat_messages_per_minute must be at least 1.")
        self._clock = clock
        self._limit = per_minute
        self._times: deque[float] = deque()

    def admit(self) -> None:
        now = self._clock.now()
        horizon = now - WINDOW_SECONDS
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        if len(self._times) >= self._limit:
            raise RateLimited(f"More than {self._limit} chat messages within a minute on one connection.")
        self._times.append(now)


def check_frame_size(text: str, *, max_bytes: int) -> None:
    """``InputTooLarge`` (close 1009) when the frame's UTF-8 encoding is over ``max_bytes``. The server's WebSocket
    layer enforces the same cap while reading; this check holds for any transport."""
    # A str of n characters is at most 4n bytes and at least n: only encode when it could be over.
    if len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputTooLarge(f"A chat frame is larger than {max_bytes} bytes.")
