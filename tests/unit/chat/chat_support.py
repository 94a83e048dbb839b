"""Helpers of the chat unit tests: ``RecordingSocket`` (an in-memory transport that keeps the frames a connection was
sent; the e2e tests drive real WebSockets), principals, and the raw bytes of the database files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securedesk.channels.chat import ChatService
from securedesk.detection import Detector, Finding
from securedesk.identity import Principal, Role
from securedesk.screening import Screener
from securedesk.storage.database import Database

CARD = "4111111111111111"

#: ``make_screener(policy=None, analyzer=None)`` and ``make_chat(screener=None, relay=False, **settings)`` (conftest).
MakeScreener = Callable[..., Screener]
MakeChat = Callable[..., ChatService]


@dataclass(eq=False)
class RecordingSocket:
    """A ``ChatSocket`` that records what it was sent (decoded) and how it was closed."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    closed: tuple[int, str | None] | None = None

    async def send_text(self, data: str) -> None:
        if self.closed is not None:
            raise RuntimeError("send after close")
        self.frames.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == kind]

    def texts(self) -> str:
        """Everything this socket was sent, as one string (to search for canaries)."""
        return json.dumps(self.frames, ensure_ascii=False)


def agent(name: str = "alice", *, queues: tuple[str, ...] = ("general",), role: Role = Role.AGENT) -> Principal:
    return Principal(staff_id=f"staff_{name}", name=name, role=role, queues=frozenset(queues))


async def raw_database_bytes(db: Database) -> bytes:
    """The database file with its -wal and -shm, as they are on disk now."""
    path = db.path
    return b"".join(
        candidate.read_bytes() for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if candidate.exists()
    )


async def settle() -> None:
    """Let the peers' writer tasks write what was queued (they run on the same loop)."""
    for _ in range(20):
        await asyncio.sleep(0)


class FailingDetector:
    """The real detector with a fault injected: every ``analyze`` raises ``error`` (the Screener must hold)."""

    def __init__(self, real: Detector, *, error: Exception) -> None:
        self._real = real
        self._error = error

    @property
    def languages(self) -> tuple[str, ...]:
        return self._real.languages

    def analyze(
        self, text: str, lang: str, entities: Collection[str] | None = None, *, min_score: float | None = None
    ) -> list[Finding]:
        raise self._error
