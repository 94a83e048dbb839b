"""A wrapper for values that must never be printed: its ``repr`` and ``str`` are masked.

Like Starlette's ``Secret`` and aiosmtpd's ``LoginPassword``: a stray log line, f-string or traceback shows
``Sensitive('••••')``, never the value. Code that truly needs the value calls ``reveal()``, which is easy to grep.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

_MASK: Final = "••••"


class Sensitive:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Sensitive('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sensitive):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("Sensitive values cannot be pickled")
