"""Per-connection limits: messages per sliding minute on the injected clock, and the frame size in UTF-8 bytes."""

from __future__ import annotations

import pytest

from securedesk.channels.chat import MessageRate, check_frame_size
from securedesk.clock import FixedClock
from securedesk.errors import ConfigError, InputTooLarge, RateLimited


def test_the_message_over_the_limit_is_refused(clock: FixedClock) -> None:
    rate = MessageRate(clock, per_minute=3)
    for _ in range(3):
        rate.admit()
        clock.advance(1)
    with pytest.raises(RateLimited):
        rate.admit()


@pytest.mark.parametrize(("seconds", "admitted"), [(59.9, False), (60.0, True)])
def test_the_window_slides(clock: FixedClock, seconds: float, admitted: bool) -> None:
    rate = MessageRate(clock, per_minute=2)
    rate.admit()
    rate.admit()
    clock.advance(seconds)

    if admitted:
        rate.admit()  # the first two are out of the window now
    else:
        with pytest.raises(RateLimited):
            rate.admit()


def test_a_refused_message_does_not_count(clock: FixedClock) -> None:
    rate = MessageRate(clock, per_minute=1)
    rate.admit()
    clock.advance(30)
    with pytest.raises(RateLimited):
        rate.admit()
    clock.advance(30)
    rate.admit()  # only the first message was counted: it left the window at 60 s


def test_a_limit_below_one_is_a_configuration_error(clock: FixedClock) -> None:
    with pytest.raises(ConfigError):
        MessageRate(clock, per_minute=0)


@pytest.mark.parametrize(
    ("text", "too_big"),
    [
        ("a" * 16, False),
        ("a" * 17, True),
        ("é" * 8, False),  # 16 bytes
        ("é" * 9, True),  # 18 bytes
        ("€" * 5, False),  # 15 bytes
        ("€" * 6, True),  # 18 bytes
        ("😀" * 4, False),  # 16 bytes
        ("😀" * 5, True),
    ],
)
def test_frame_size_is_measured_in_utf8_bytes(text: str, too_big: bool) -> None:
    if too_big:
        with pytest.raises(InputTooLarge) as raised:
            check_frame_size(text, max_bytes=16)
        assert raised.value.ws_close_code == 1009
    else:
        check_frame_size(text, max_bytes=16)
