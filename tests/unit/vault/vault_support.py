"""Test doubles shared by the vault tests: an audit hook that records (or refuses), the case factory's type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from securedesk.errors import AuditError

CaseMaker = Callable[..., Awaitable[str]]


@dataclass
class AuditRecorder:
    """An audit hook that records each call, or refuses when ``fail`` is set."""

    fail: bool = False
    calls: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, *, token: str, kind: str, actor: str, reason: str) -> None:
        self.calls.append({"token": token, "kind": kind, "actor": actor, "reason": reason})
        if self.fail:
            raise AuditError("The audit log is unavailable.")
