"""Sliding-window rate limits: exact "wait this long" answers at the window's edges, and the in-memory window."""

from __future__ import annotations

import pytest

from securedesk.clock import FixedClock
from securedesk.errors import ConfigError, RateLimited
from securedesk.throttling import RateLimit, SlidingWindow

LIMIT = RateLimit("phone number", 3, 3_600)


@pytest.mark.parametrize(
    ("times", "now", "expected"),
    [
        ((), 10_000.0, None),
        ((9_000.0, 9_500.0), 10_000.0, None),  # two of three
        ((9_000.0, 9_500.0, 9_900.0), 10_000.0, 2_600),  # full: the oldest leaves at 12_600
        ((9_000.0, 9_500.0, 9_900.0), 12_599.0, 1),
        ((9_000.0, 9_500.0, 9_900.0), 12_600.0, None),  # exactly one window later it no longer counts
        ((6_000.0, 9_000.0, 9_500.0, 9_900.0), 10_000.0, 2_600),  # the one outside the window does not count
        ((9_000.0, 9_100.0, 9_500.0, 9_900.0), 10_000.0, 2_700),  # four inside: two must leave first
        ((9_000.0, 9_500.5, 9_900.0), 12_600.2, None),
        ((9_999.5, 9_999.6, 9_999.7), 10_000.0, 3_600),  # rounds up, never 0
        ((10_500.0, 10_600.0, 10_700.0), 10_000.0, None),  # future times (clock skew) do not count
    ],
)
def test_retry_after(times: tuple[float, ...], now: float, expected: int | None) -> None:
    assert LIMIT.retry_after(times, now) == expected


def test_check_raises_rate_limited_with_retry_after() -> None:
    with pytest.raises(RateLimited) as caught:
        LIMIT.check([9_000.0, 9_500.0, 9_900.0], 10_000.0)
    assert caught.value.retry_after == 2_600
    assert caught.value.http_status == 429
    assert "phone number" in caught.value.message


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (3, 0.0), (-1, 60.0), (3, -5.0)])
def test_a_limit_must_be_positive(limit: int, window: float) -> None:
    with pytest.raises(ConfigError):
        RateLimit("x", limit, window)


def test_sliding_window_counts_per_key_and_forgets_after_the_window(clock: FixedClock) -> None:
    window = SlidingWindow(RateLimit("agent", 2, 60), clock)
    window.hit("agnes")
    clock.advance(10)
    window.hit("agnes")
    window.hit("bertil")  # another key has its own budget
    with pytest.raises(RateLimited) as caught:
        window.hit("agnes")
    assert caught.value.retry_after == 50
    clock.advance(49.5)
    with pytest.raises(RateLimited):
        window.check("agnes")
    clock.advance(0.5)  # the first hit is exactly one window old now
    window.hit("agnes")
    with pytest.raises(RateLimited):
        window.hit("agnes")


def test_sliding_window_refusals_do_not_count(clock: FixedClock) -> None:
    window = SlidingWindow(RateLimit("agent", 1, 60), clock)
    window.hit("agnes")
    for _ in range(5):
        with pytest.raises(RateLimited):
            window.hit("agnes")
    clock.advance(60)
    window.hit("agnes")  # the refused attempts did not extend the wait


def test_sliding_window_forgets_the_least_recent_keys_beyond_its_bound(clock: FixedClock) -> None:
    window = SlidingWindow(RateLimit("agent", 1, 60), clock, max_keys=2)
    window.hit("a")
    window.hit("b")
    window.hit("c")  # "a" is dropped
    window.hit("a")
    with pytest.raises(RateLimited):
        window.hit("c")
