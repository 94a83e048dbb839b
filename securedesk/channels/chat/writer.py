"""``ChatWriter``: the chat's writes with group commit — new conversations (a case and its anonymous customer) and
messages (delivered, held or blocked) that arrive while one write transaction commits are stored together in the
next one, so one transaction (one fsync, a few statements) serves many of them when the chat is busy, and a single
one costs what it did before when it is not.

Each call returns once its rows (with its case's new ``updated_at`` and its webhook outbox entry, if any) are durably
committed. A batch that fails is retried item by item, so one bad row fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from securedesk.channels.chat.relay import ChatRelayQueue
from securedesk.storage.cases import CaseRecord, CaseRepository, CaseTouch, MessageRecord

logger = logging.getLogger("securedesk.chat")


@dataclass(frozen=True)
class MessageWrite:
    record: MessageRecord
    touch: CaseTouch | None = None  # None: the case's time is left alone (held and blocked messages)
    envelope: Mapping[str, Any] | None = None  # the webhook envelope, when a webhook is configured


@dataclass(frozen=True)
class CaseOpen:
    """A new conversation's case, and the anonymous customer it belongs to."""

    case: CaseRecord
    lang: str


_Item = MessageWrite | CaseOpen


class ChatWriter:
    def __init__(self, cases: CaseRepository, relay: ChatRelayQueue | None = None) -> None:
        self._cases = cases
        self._relay = relay
        self._queue: list[tuple[_Item, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open_case(self, case: CaseRecord, *, lang: str) -> CaseRecord:
        """Create the case (and its anonymous customer); the stored record (its reference may have been redrawn)."""
        stored: CaseRecord = await self._submit(CaseOpen(case, lang))
        return stored

    async def write(self, item: MessageWrite) -> None:
        """Store one message; returns when it is committed (raises what the database raised if it could not be)."""
        await self._submit(item)

    async def close(self) -> None:
        """Wait for what is queued to be written."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher

    async def _submit(self, item: _Item) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        # The write goes on even if the caller is cancelled meanwhile (a delivered message was already sent).
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._commit([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    continue
                logger.warning(
                    "chat.batch_write_failed", extra={"fields": {"items": len(batch), "error": type(exc).__name__}}
                )
                for item, future in batch:  # one by one: only the bad row fails
                    try:
                        result = (await self._commit([item]))[0]
                    except Exception as single:
                        _settle(future, error=single)
                    else:
                        _settle(future, result=result)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    _settle(future, result=result)

    async def _commit(self, items: list[_Item]) -> list[Any]:
        results: list[Any] = [None] * len(items)
        async with self._cases.transaction() as conn:
            for index, item in enumerate(items):  # cases first: a message of the batch may belong to one
                if isinstance(item, CaseOpen):
                    customer_id = await self._cases.insert_anonymous_customer(
                        conn, lang=item.lang, now=item.case.created_at
                    )
                    case = CaseRecord(**{**item.case.__dict__, "customer_id": customer_id})
                    results[index] = await self._cases.insert_case(conn, case)
            writes = [item for item in items if isinstance(item, MessageWrite)]
            if writes:
                await self._cases.insert_messages(conn, [item.record for item in writes])
                touches = [item.touch for item in writes if item.touch is not None]
                if touches:
                    await self._cases.touch_cases(conn, touches)
                if self._relay is not None:
                    for item in writes:
                        if item.envelope is not None:
                            await self._relay.enqueue(conn, item.envelope, case_id=item.record.case_id)
        return results


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
