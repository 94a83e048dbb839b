"""The time window a customer would like to be called in, entered in their own time zone (IANA, via ``zoneinfo``)
and kept in UTC; shown back in that zone. Local times that do not exist (the hour skipped when clocks go forward)
are refused rather than guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from securedesk.errors import ValidationFailed

MIN_WINDOW_SECONDS: Final = 30 * 60
MAX_WINDOW_SECONDS: Final = 12 * 3600
MAX_DAYS_AHEAD: Final = 30
#: The window must still have this long to run when it is requested.
MIN_REMAINING_SECONDS: Final = 15 * 60
_ZONE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME: Final = re.compile(r"[0-9]{2}:[0-9]{2}")
#: Time zones offered first in the selector (the browser's own zone is preselected when it is valid).
COMMON_TIME_ZONES: Final = (
    "Europe/Paris",
    "Europe/Stockholm",
    "Europe/London",
    "Europe/Brussels",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Europe/Zurich",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Montreal",
    "UTC",
)
DEFAULT_TIME_ZONES: Final = {"en": "Europe/London", "fr": "Europe/Paris", "sv": "Europe/Stockholm"}


@dataclass(frozen=True)
class CallWindow:
    start: float  # UTC seconds
    end: float
    time_zone: str

    def local(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.time_zone)
        return (datetime.fromtimestamp(self.start, tz=zone), datetime.fromtimestamp(self.end, tz=zone))

    def describe(self) -> str:
        """``2027-03-12 14:00–16:00 (Europe/Paris)``; a window over midnight names both dates."""
        start, end = self.local()
        tail = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
        return f"{start:%Y-%m-%d %H:%M}–{tail} ({self.time_zone})"

    def describe_utc(self) -> str:
        start = datetime.fromtimestamp(self.start, tz=UTC)
        end = datetime.fromtimestamp(self.end, tz=UTC)
        tail = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
        return f"{start:%Y-%m-%d %H:%M}–{tail} UTC"


def time_zone(name: str) -> ZoneInfo | None:
    """The zone of an IANA name, or None for anything else (no path tricks, no unknown names)."""
    if not name or len(name) > 64 or _ZONE_NAME.fullmatch(name) is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _local(day: date, at: str, zone: ZoneInfo) -> datetime | None:
    """The aware datetime for a local wall-clock time, or None if that time does not exist on that day."""
    if _TIME.fullmatch(at) is None:
        return None
    try:
        wall = time.fromisoformat(at)
    except ValueError:
        return None
    moment = datetime.combine(day, wall, tzinfo=zone)
    round_trip = moment.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None  # skipped by a clock change
    return moment


def parse_window(day: str, start: str, end: str, zone_name: str, *, now: float) -> CallWindow:
    """Validate a window; ``ValidationFailed`` on the fields: ``window.tz``, ``window.date``, ``window.time``,
    ``window.order``, ``window.too_short``, ``window.too_long``, ``window.past``, ``window.too_far``."""
    zone = time_zone(zone_name)
    if zone is None:
        raise ValidationFailed([("time_zone", "window.tz")])
    try:
        chosen = date.fromisoformat(day) if _DATE.fullmatch(day) else None
    except ValueError:
        chosen = None
    if chosen is None:
        raise ValidationFailed([("date", "window.date")])
    begin, finish = _local(chosen, start, zone), _local(chosen, end, zone)
    errors = [(name, "window.time") for name, value in (("start", begin), ("end", finish)) if value is None]
    if errors:
        raise ValidationFailed(errors)
    if begin is None or finish is None:  # for the type checker: reported just above
        raise ValidationFailed([("start", "window.time")])
    if finish <= begin:
        finish += timedelta(days=1)  # 22:00–01:00 runs over midnight
        if _local(finish.date(), end, zone) is None:
            raise ValidationFailed([("end", "window.time")])
    seconds = (finish - begin).total_seconds()
    if seconds < MIN_WINDOW_SECONDS:
        raise ValidationFailed([("end", "window.too_short")])
    if seconds > MAX_WINDOW_SECONDS:
        raise ValidationFailed([("end", "window.too_long")])
    window = CallWindow(begin.timestamp(), finish.timestamp(), zone_name)
    if window.end - now < MIN_REMAINING_SECONDS:
        raise ValidationFailed([("date", "window.past")])
    if window.start - now > MAX_DAYS_AHEAD * 86_400:
        raise ValidationFailed([("date", "window.too_far")])
    return window
