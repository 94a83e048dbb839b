"""Preferred call windows: entered in the customer's IANA time zone, stored in UTC, refused when a local time does
not exist (the hour skipped in spring), too short or long, past, or too far ahead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from securedesk.customer.windows import CallWindow, parse_window, time_zone
from securedesk.errors import ValidationFailed

NOW = datetime(2027, 3, 20, 12, 0, tzinfo=UTC).timestamp()


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("args", "start", "end", "described"),
    [
        (
            ("2027-03-21", "14:00", "16:00", "Europe/Paris"),
            utc(2027, 3, 21, 13),
            utc(2027, 3, 21, 15),
            "2027-03-21 14:00–16:00 (Europe/Paris)",
        ),
        (
            ("2027-03-29", "14:00", "16:00", "Europe/Paris"),
            utc(2027, 3, 29, 12),
            utc(2027, 3, 29, 14),
            "2027-03-29 14:00–16:00 (Europe/Paris)",
        ),  # summer time since the 28th
        (
            ("2027-03-21", "09:00", "12:30", "America/New_York"),
            utc(2027, 3, 21, 13),
            utc(2027, 3, 21, 16, 30),
            "2027-03-21 09:00–12:30 (America/New_York)",
        ),
        (
            ("2027-03-21", "22:00", "01:00", "Europe/Stockholm"),
            utc(2027, 3, 21, 21),
            utc(2027, 3, 22, 0),
            "2027-03-21 22:00–2027-03-22 01:00 (Europe/Stockholm)",
        ),  # over midnight
        (
            ("2027-03-20", "12:00", "14:00", "UTC"),
            utc(2027, 3, 20, 12),
            utc(2027, 3, 20, 14),
            "2027-03-20 12:00–14:00 (UTC)",
        ),
    ],
)
def test_valid_windows(args: tuple[str, str, str, str], start: float, end: float, described: str) -> None:
    window = parse_window(*args, now=NOW)
    assert (window.start, window.end, window.time_zone) == (start, end, args[3])
    assert window.describe() == described


@pytest.mark.parametrize(
    ("args", "errors"),
    [
        (("2027-03-28", "02:30", "04:00", "Europe/Paris"), [("start", "window.time")]),  # skipped by DST
        (("2027-03-21", "25:00", "16:00", "UTC"), [("start", "window.time")]),
        (("2027-03-21", "14:00", "16h", "UTC"), [("end", "window.time")]),
        (("2027-02-30", "14:00", "16:00", "UTC"), [("date", "window.date")]),
        (("21/03/2027", "14:00", "16:00", "UTC"), [("date", "window.date")]),
        (("2027-03-21", "14:00", "16:00", "Mars/Olympus"), [("time_zone", "window.tz")]),
        (("2027-03-21", "14:00", "16:00", "../../etc/passwd"), [("time_zone", "window.tz")]),
        (("2027-03-21", "14:00", "14:29", "UTC"), [("end", "window.too_short")]),
        (("2027-03-21", "06:00", "18:01", "UTC"), [("end", "window.too_long")]),
        (("2027-03-20", "10:00", "12:14", "UTC"), [("date", "window.past")]),  # ends less than 15 minutes from now
        (("2027-04-20", "12:01", "14:00", "UTC"), [("date", "window.too_far")]),
    ],
)
def test_refused_windows(args: tuple[str, str, str, str], errors: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_window(*args, now=NOW)
    assert caught.value.errors == errors


def test_a_window_that_still_runs_15_minutes_is_accepted() -> None:
    window = parse_window("2027-03-20", "11:00", "12:15", "UTC", now=NOW)
    assert window.end - NOW == 900


def test_utc_description() -> None:
    window = CallWindow(utc(2027, 3, 21, 21), utc(2027, 3, 22, 0), "Europe/Stockholm")
    assert window.describe_utc() == "2027-03-21 21:00–2027-03-22 00:00 UTC"


@pytest.mark.parametrize("name", ["", "UTC/", "Europe/Paris/../../x", "a" * 65, "Europe Paris"])
def test_time_zone_names_are_checked(name: str) -> None:
    assert time_zone(name) is None
