"""HTTP content negotiation: weighted lists (``Accept``, ``Accept-Language``) and whether a client wants HTML."""

from __future__ import annotations

from typing import Final

_MAX_ENTRIES: Final = 32  # a header with more entries is read only this far


def weighted_values(header: str) -> list[tuple[str, float]]:
    """``"fr-CA, en;q=0.5"`` → ``[("fr-ca", 1.0), ("en", 0.5)]``: lower-cased values with their q, in header order.

    A malformed q counts as 0 (not acceptable), as RFC 9110 §12.4.2 leaves no other safe reading.
    """
    values: list[tuple[str, float]] = []
    for item in header.split(",")[:_MAX_ENTRIES]:
        value, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, raw = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(raw), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if value.strip():
            values.append((value.strip().lower(), quality))
    return values


def prefers_html(accept: str) -> bool:
    """True when the client ranks ``text/html`` above ``application/json`` (browsers); JSON otherwise."""
    ranks: dict[str, tuple[float, int]] = {}
    for index, (media, quality) in enumerate(weighted_values(accept)):
        if media in ("text/html", "application/json") and media not in ranks:
            ranks[media] = (quality, -index)
    html = ranks.get("text/html", (0.0, 0))
    return html[0] > 0 and html > ranks.get("application/json", (0.0, 0))
