"""``ChatHub``: who is connected — customers per conversation, agents with their queues — and the frames sent to them.

Transport-agnostic: a connection is anything with ``send_text`` and ``close`` (``ChatSocket``; the web layer passes
Starlette's WebSocket). Each connection gets a ``Peer`` that writes its frames in order from its own task, so a slow
reader never delays screening or the other readers; a reader that falls ``max_queued`` frames behind is closed (1013).
Presence (is the customer connected, how many agents of the case's queue are online) is read from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from securedesk.identity import Principal
from securedesk.metrics import Metrics

logger = logging.getLogger("securedesk.chat")

CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001  # server shutdown
CLOSE_UNSUPPORTED: Final = 1003
CLOSE_INVALID: Final = 1007  # malformed frame
CLOSE_POLICY: Final = 1008  # origin refused, rate limit, session ended
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_TRY_LATER: Final = 1013  # the reader is too slow

MAX_QUEUED_FRAMES: Final = 512


class ChatSocket(Protocol):
    """What the chat needs of a WebSocket (Starlette's ``WebSocket`` has exactly these)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def encode(frame: Mapping[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


class Peer:
    """One open connection: its frames are queued and written in order by its own writer task."""

    def __init__(
        self, socket: ChatSocket, *, channel: str, metrics: Metrics | None = None, max_queued: int = MAX_QUEUED_FRAMES
    ) -> None:
        self.socket = socket
        self.channel = channel
        self._metrics = metrics
        self._max_queued = max_queued
        self._frames: deque[str] = deque()
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.outcome = "normal"

    def start(self) -> None:
        """Start the writer (call once the socket is accepted)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write())
            if self._metrics is not None:
                self._metrics.websocket_opened(channel=self.channel)

    @property
    def open(self) -> bool:
        return self._close is None and not self._closed.is_set()

    def send(self, text: str) -> bool:
        """Queue a frame; False when the connection is closing (or has just been closed for falling behind)."""
        if not self.open:
            return False
        if len(self._frames) >= self._max_queued:
            self.close(CLOSE_TRY_LATER, "too slow", outcome="slow_reader")
            return False
        self._frames.append(text)
        self._wake.set()
        return True

    def send_frame(self, frame: Mapping[str, Any]) -> bool:
        return self.send(encode(frame))

    def close(self, code: int, reason: str = "", *, outcome: str | None = None) -> None:
        """Close after the frames already queued are written (the first close wins)."""
        if self._close is not None or self._closed.is_set():
            return
        self._close = (code, reason)
        if outcome is not None:
            self.outcome = outcome
        self._wake.set()
        if self._task is None:  # never started: nothing queued can be written
            self._closed.set()

    def disconnected(self, code: int | None = None) -> None:
        """The other side went away: stop writing."""
        if self.close_code is None:
            self.close_code = code
        if self._close is None:
            self._close = (code or CLOSE_NORMAL, "")
        self._frames.clear()
        self._wake.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def finish(self) -> None:
        """Wait for the writer to end (after ``close`` or ``disconnected``) and count the close."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            if self._metrics is not None:
                self._metrics.websocket_closed(channel=self.channel, outcome=self.outcome)

    async def _write(self) -> None:
        try:
            while True:
                while self._frames:
                    await self.socket.send_text(self._frames.popleft())
                if self._close is not None:
                    break
                self._wake.clear()
                if not self._frames and self._close is None:
                    await self._wake.wait()
            code, reason = self._close
            if self.close_code is None:
                self.close_code = code
                await self.socket.close(code, reason or None)
        except Exception as exc:  # the connection broke under us: nothing more can be written to it
            logger.info(
                "chat.peer_write_failed", extra={"fields": {"channel": self.channel, "error": type(exc).__name__}}
            )
            if self._close is None:
                self._close = (CLOSE_INTERNAL, "")
        finally:
            self._frames.clear()
            self._closed.set()


@dataclass(eq=False)
class CustomerPeer:
    peer: Peer
    conversation_id: str
    queue: str


@dataclass(eq=False)
class AgentPeer:
    peer: Peer
    principal: Principal
    session_key: str


class ChatHub:
    """The open chat connections of one gateway process."""

    def __init__(self) -> None:
        self._customers: dict[str, list[CustomerPeer]] = {}
        self._agents: list[AgentPeer] = []

    # --- customers -----------------------------------------------------------------------------------------

    def add_customer(self, customer: CustomerPeer) -> None:
        self._customers.setdefault(customer.conversation_id, []).append(customer)

    def remove_customer(self, customer: CustomerPeer) -> None:
        peers = self._customers.get(customer.conversation_id)
        if peers is not None and customer in peers:
            peers.remove(customer)
            if not peers:
                del self._customers[customer.conversation_id]

    def customer_online(self, conversation_id: str) -> bool:
        return any(c.peer.open for c in self._customers.get(conversation_id, ()))

    def to_customer(self, conversation_id: str, frame: Mapping[str, Any]) -> int:
        """Send to every open connection of the conversation; how many took it."""
        peers = self._customers.get(conversation_id, ())
        if not peers:
            return 0
        text = encode(frame)
        return sum(c.peer.send(text) for c in list(peers))

    def customers_in(self, queues: Collection[str]) -> list[CustomerPeer]:
        return [c for peers in self._customers.values() for c in peers if c.queue in queues]

    # --- agents --------------------------------------------------------------------------------------------

    def add_agent(self, agent: AgentPeer) -> None:
        self._agents.append(agent)

    def remove_agent(self, agent: AgentPeer) -> None:
        if agent in self._agents:
            self._agents.remove(agent)

    def agents_online(self, queue: str) -> int:
        """Distinct staff members connected who work ``queue``."""
        return len({a.principal.staff_id for a in self._agents if a.peer.open and queue in a.principal.queues})

    def to_agents(self, queue: str, frame: Mapping[str, Any]) -> int:
        """Send to every agent connection whose staff member works ``queue``; how many took it."""
        targets = [a for a in self._agents if queue in a.principal.queues]
        if not targets:
            return 0
        text = encode(frame)
        return sum(a.peer.send(text) for a in targets)

    def close_sessions(self, session_keys: Iterable[str], code: int, reason: str, *, outcome: str) -> int:
        """Close the agent connections opened with one of these sessions; how many."""
        keys = set(session_keys)
        closing = [a for a in self._agents if a.session_key in keys]
        for agent in closing:
            agent.peer.close(code, reason, outcome=outcome)
        return len(closing)

    def close_all(self, code: int, reason: str, *, outcome: str) -> list[Peer]:
        """Close every connection (server shutdown); returns their peers to wait on."""
        peers = [c.peer for customers in self._customers.values() for c in customers]
        peers += [a.peer for a in self._agents]
        for peer in peers:
            peer.close(code, reason, outcome=outcome)
        return peers
