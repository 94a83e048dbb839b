"""Audit event rows and signed checkpoints: the repository protocol and its SQLite implementation.

Only storage lives here (which rows, in which order, matching which filters). How an event is hashed and chained,
and how a checkpoint is signed, is ``securedesk.audit``'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

import aiosqlite

from securedesk.clock import utc_iso
from securedesk.storage.database import Database

_EVENT_COLUMNS = "seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash, hash"
# Queries with filters are assembled from the fixed fragments of ``_filter_sql``; values always travel as parameters.


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One stored audit event. ``hash`` chains it to the event before (see ``securedesk.audit.chain``)."""

    seq: int
    time: str  # RFC 3339 UTC with microseconds
    actor: str
    role: str
    origin_ip: str | None
    channel: str
    action: str
    target: str
    outcome: str
    reason: str | None
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the chain had ``sequence`` events and its head hash was ``head_hash``.

    ``first_sequence`` is 1 for a checkpoint of the whole chain; an export's checkpoint names the first event the
    export holds, so rows cut from its start are noticed too (``sequence + 1`` when the export holds none)."""

    sequence: int
    head_hash: str
    time: str  # RFC 3339 UTC, when it was signed
    key_id: str
    signature: str  # hex
    first_sequence: int = 1


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to search or export. Every field is optional; set fields must all match.

    ``action`` is exact (``auth.login``) or a prefix ending in ``.*`` (``auth.*``). ``since`` is inclusive,
    ``until`` exclusive, both in seconds since the epoch (UTC).
    """

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None

    def describe(self, screen: Callable[[str], str] | None = None) -> str:
        """A compact, stable description (``actor=alice;action=auth.*``), recorded as the target of a search.

        ``screen`` redacts the free-text values (actor, action, target) a person typed into the filter."""
        parts: list[str] = []
        for name in ("actor", "action", "target", "outcome"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={screen(value) if screen is not None and name != 'outcome' else value}")
        if self.since is not None:
            parts.append(f"since={utc_iso(self.since)}")
        if self.until is not None:
            parts.append(f"until={utc_iso(self.until)}")
        return ";".join(parts) if parts else "all"


class AuditEventStore(Protocol):
    """Where audit events and checkpoints are kept. Appends happen inside a write transaction the caller holds."""

    async def head_in(self, conn: aiosqlite.Connection) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest event, read inside the caller's write transaction; None when empty."""
        ...

    async def append_in(self, conn: aiosqlite.Connection, event: AuditEvent) -> bool:
        """Insert ``event`` only if the chain's head is still event ``seq - 1`` with hash ``prev_hash`` (for the
        first event: the log is empty). False, and nothing written, when the head has moved: re-read and retry."""
        ...

    async def head(self) -> tuple[int, str] | None: ...

    async def event(self, seq: int) -> AuditEvent | None: ...

    async def chain_rows(self, after_seq: int, last_seq: int, limit: int) -> list[AuditEvent]:
        """Events with ``after_seq < seq <= last_seq`` in sequence order, at most ``limit``."""
        ...

    async def search(self, filters: AuditFilters, *, as_of: int, offset: int, limit: int) -> list[AuditEvent]:
        """Matching events with ``seq <= as_of``, newest first."""
        ...

    async def count(self, filters: AuditFilters, *, as_of: int) -> int: ...

    async def matching_bounds(self, filters: AuditFilters, *, as_of: int) -> tuple[int, int] | None:
        """Lowest and highest ``seq <= as_of`` that match, or None."""
        ...

    async def rows_with_match(
        self, filters: AuditFilters, after_seq: int, last_seq: int, limit: int
    ) -> list[tuple[AuditEvent, bool]]:
        """Every event with ``after_seq < seq <= last_seq`` in order, each with whether it matches ``filters``."""
        ...

    async def add_checkpoint_in(self, conn: aiosqlite.Connection, checkpoint: Checkpoint) -> None: ...

    async def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, oldest sequence first."""
        ...

    async def guards_present(self) -> bool:
        """Whether the database still refuses UPDATE and DELETE of audit events."""
        ...


def _filter_sql(filters: AuditFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.actor is not None:
        clauses.append("actor = ?")
        params.append(filters.actor)
    if filters.action is not None:
        if filters.action.endswith(".*"):
            # A range instead of LIKE: uses the index and needs no escaping ('/' sorts right after '.').
            prefix = filters.action[:-1]
            clauses.append("action >= ? AND action < ?")
            params.extend([prefix, prefix[:-1] + "/"])
        else:
            clauses.append("action = ?")
            params.append(filters.action)
    if filters.target is not None:
        clauses.append("target = ?")
        params.append(filters.target)
    if filters.outcome is not None:
        clauses.append("outcome = ?")
        params.append(filters.outcome)
    if filters.since is not None:
        clauses.append("time >= ?")
        params.append(utc_iso(filters.since))
    if filters.until is not None:
        clauses.append("time < ?")
        params.append(utc_iso(filters.until))
    return (" AND ".join(clauses) if clauses else "1"), params


def _event(row: Sequence[Any]) -> AuditEvent:
    return AuditEvent(*tuple(row)[:12])


class SqliteAuditEventStore:
    """``AuditEventStore`` on the SQLite ``Database`` (tables from migration 0004)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def head_in(self, conn: aiosqlite.Connection) -> tuple[int, str] | None:
        # One round trip to the database thread (execute + fetch), since every append pays for it.
        rows = await conn.execute_fetchall("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        for row in rows:
            return int(row[0]), str(row[1])
        return None

    async def append_in(self, conn: aiosqlite.Connection, event: AuditEvent) -> bool:
        # The head check and the insert are one statement: one round trip, and the database itself refuses to
        # fork the chain or leave a gap, whatever the caller believed the head to be.
        first = event.seq == 1
        cursor = await conn.execute(
            "INSERT INTO audit_events (seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, "
            "prev_hash, hash) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
            "WHERE (SELECT max(seq) FROM audit_events) IS ? AND (SELECT hash FROM audit_events WHERE seq = ?) IS ?",
            (
                event.seq,
                event.time,
                event.actor,
                event.role,
                event.origin_ip,
                event.channel,
                event.action,
                event.target,
                event.outcome,
                event.reason,
                event.prev_hash,
                event.hash,
                None if first else event.seq - 1,
                event.seq - 1,
                None if first else event.prev_hash,
            ),
        )
        return cursor.rowcount == 1

    async def head(self) -> tuple[int, str] | None:
        row = await self._db.fetch_one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return None if row is None else (int(row[0]), str(row[1]))

    async def event(self, seq: int) -> AuditEvent | None:
        row = await self._db.fetch_one(
            "SELECT seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash, hash "
            "FROM audit_events WHERE seq = ?",
            (seq,),
        )
        return None if row is None else _event(row)

    async def chain_rows(self, after_seq: int, last_seq: int, limit: int) -> list[AuditEvent]:
        rows = await self._db.fetch_all(
            "SELECT seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash, hash "
            "FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (after_seq, last_seq, limit),
        )
        return [_event(row) for row in rows]

    async def search(self, filters: AuditFilters, *, as_of: int, offset: int, limit: int) -> list[AuditEvent]:
        where, params = _filter_sql(filters)
        rows = await self._db.fetch_all(
            f"SELECT {_EVENT_COLUMNS} FROM audit_events WHERE seq <= ? AND {where} "  # noqa: S608
            "ORDER BY seq DESC LIMIT ? OFFSET ?",
            (as_of, *params, limit, offset),
        )
        return [_event(row) for row in rows]

    async def count(self, filters: AuditFilters, *, as_of: int) -> int:
        where, params = _filter_sql(filters)
        row = await self._db.fetch_one(
            f"SELECT count(*) FROM audit_events WHERE seq <= ? AND {where}",  # noqa: S608
            (as_of, *params),
        )
        return 0 if row is None else int(row[0])

    async def matching_bounds(self, filters: AuditFilters, *, as_of: int) -> tuple[int, int] | None:
        where, params = _filter_sql(filters)
        row = await self._db.fetch_one(
            f"SELECT min(seq), max(seq) FROM audit_events WHERE seq <= ? AND {where}",  # noqa: S608
            (as_of, *params),
        )
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    async def rows_with_match(
        self, filters: AuditFilters, after_seq: int, last_seq: int, limit: int
    ) -> list[tuple[AuditEvent, bool]]:
        where, params = _filter_sql(filters)
        rows = await self._db.fetch_all(
            f"SELECT {_EVENT_COLUMNS}, ({where}) AS matches FROM audit_events "  # noqa: S608
            "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (*params, after_seq, last_seq, limit),
        )
        return [(_event(row), bool(row[12])) for row in rows]

    async def add_checkpoint_in(self, conn: aiosqlite.Connection, checkpoint: Checkpoint) -> None:
        await conn.execute(
            "INSERT OR IGNORE INTO audit_checkpoints (first_sequence, sequence, head_hash, time, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                checkpoint.first_sequence,
                checkpoint.sequence,
                checkpoint.head_hash,
                checkpoint.time,
                checkpoint.key_id,
                checkpoint.signature,
            ),
        )

    async def checkpoints(self) -> list[Checkpoint]:
        rows = await self._db.fetch_all(
            "SELECT sequence, head_hash, time, key_id, signature, first_sequence FROM audit_checkpoints "
            "ORDER BY sequence, time"
        )
        return [Checkpoint(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]

    async def guards_present(self) -> bool:
        rows = await self._db.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
        )
        return {"audit_events_no_update", "audit_events_no_delete"} <= {str(row[0]) for row in rows}
