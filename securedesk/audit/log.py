"""``AuditLog``: append events to the chain (fail closed), search and export it (audited first), sign and verify it.

Appends are serialized by the database's write transaction (``BEGIN IMMEDIATE``), and each insert checks, in the
same statement, that the head is still the event it links to, so two appends never fork the chain or leave a gap,
even from two processes. Any failure to write raises ``AuditError`` and counts in ``failures``: the action being
recorded must then not happen.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import aiosqlite

from securedesk.audit.chain import GENESIS_HASH, TRUNCATION_NOTE, ChainWalk, VerifyReport, content_hash, link_hash
from securedesk.audit.checkpoint import checkpoint_is_valid, sign_checkpoint
from securedesk.audit.export import EXPORT_FORMATS, MEDIA_TYPES, ExportWriter
from securedesk.clock import Clock, utc_iso
from securedesk.config import Settings
from securedesk.errors import AuditError, ConfigError, InvalidInput, KeyUnavailable, StorageError
from securedesk.storage.audit_events import (
    AuditEvent,
    AuditEventStore,
    AuditFilters,
    Checkpoint,
    SqliteAuditEventStore,
)
from securedesk.storage.database import Database
from securedesk.vault.signing import SigningKey, VerifyKey

OUTCOMES: Final = ("success", "failure", "denied", "error")
MAX_REASON_CHARS: Final = 2_000
MAX_TARGET_CHARS: Final = 1_000
MAX_PAGE_SIZE: Final = 500
_BATCH: Final = 10_000
_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_WORD = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_ELLIPSIS: Final = "… [truncated]"


@dataclass(frozen=True)
class Page:
    """Which page of results: ``number`` from 1, ``size`` up to 500. ``as_of`` pins the result set to the events
    that existed at the first search (pass back ``AuditPage.as_of``), so later pages do not shift as events arrive."""

    number: int = 1
    size: int = 50
    as_of: int | None = None


@dataclass(frozen=True)
class AuditPage:
    events: tuple[AuditEvent, ...]  # newest first
    total: int
    number: int
    size: int
    as_of: int  # the newest sequence this result set includes

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class AuditExport:
    content: bytes
    fmt: str
    media_type: str
    filename: str
    checkpoint: Checkpoint
    matched: int  # events that match the filters (full rows)
    rows: int  # event rows plus elided rows


def _clean(text: str) -> str:
    """Text that UTF-8, SQLite, JSON and CSV all carry unchanged: no lone surrogates, no NUL."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


class AuditLog:
    """The audit log of one database. ``redact_reason`` screens free text (reasons, search terms) before storage."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        redact_reason: Callable[[str], str],
        *,
        signing_key: SigningKey | None = None,
        verify_key: VerifyKey | None = None,
        store: AuditEventStore | None = None,
        export_max_events: int = 250_000,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._on_failure = on_failure
        self._clock = clock
        self._redact_reason = redact_reason
        self._signing_key = signing_key
        self._verify_key = verify_key if verify_key is not None else (signing_key.verify_key if signing_key else None)
        self._store: AuditEventStore = store if store is not None else SqliteAuditEventStore(db)
        self._export_max_events = export_max_events
        # The head as of our last append: a guess that saves a read per append. The insert itself checks it, so a
        # stale guess (another process, a rolled-back transaction) costs one retry and never forks the chain.
        self._head: tuple[int, str] | None = None
        self._failures = 0

    @property
    def failures(self) -> int:
        """Audit writes that failed since start (the health endpoint and the metrics show them)."""
        return self._failures

    def _count_failure(self) -> None:
        self._failures += 1
        if self._on_failure is not None:
            self._on_failure()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Database,
        clock: Clock,
        redact_reason: Callable[[str], str],
        *,
        on_failure: Callable[[], None] | None = None,
    ) -> AuditLog:
        """The log with the checkpoint key of ``settings.key_dir`` (created there on first use)."""
        return cls(
            db,
            clock,
            redact_reason,
            signing_key=SigningKey.load_or_create(settings.key_dir),
            export_max_events=settings.audit_export_max_events,
            on_failure=on_failure,
        )

    @property
    def store(self) -> AuditEventStore:
        return self._store

    # --- appending -----------------------------------------------------------------------------------------

    async def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        target: str = "",
        outcome: str = "success",
        origin_ip: str | None = None,
        channel: str = "system",
        reason: str | None = None,
    ) -> AuditEvent:
        """Append one event in its own transaction; ``AuditError`` if it was not durably written."""
        async with self._write_guard(action), self._db.transaction() as conn:
            event = await self._append(
                conn,
                actor=actor,
                role=role,
                action=action,
                target=target,
                outcome=outcome,
                origin_ip=origin_ip,
                channel=channel,
                reason=reason,
            )
        return event

    async def record_in(
        self,
        conn: aiosqlite.Connection,
        *,
        actor: str,
        role: str,
        action: str,
        target: str = "",
        outcome: str = "success",
        origin_ip: str | None = None,
        channel: str = "system",
        reason: str | None = None,
    ) -> AuditEvent:
        """Append one event inside the write transaction ``conn`` holds (from ``Database.transaction()``): the
        event commits or rolls back with the caller's own changes."""
        async with self._write_guard(action):
            if not conn.in_transaction:
                raise AuditError("record_in needs a write transaction held by the caller (Database.transaction()).")
            event = await self._append(
                conn,
                actor=actor,
                role=role,
                action=action,
                target=target,
                outcome=outcome,
                origin_ip=origin_ip,
                channel=channel,
                reason=reason,
            )
        return event

    @asynccontextmanager
    async def _write_guard(self, action: str) -> AsyncIterator[None]:
        """Every failed write is counted and surfaces as ``AuditError`` (library errors translated, never echoed)."""
        try:
            yield
        except AuditError:
            self._count_failure()
            raise
        except Exception as exc:
            self._count_failure()
            raise _write_failed(action, exc) from exc

    def _screen(self, text: str | None, *, limit: int) -> str | None:
        if text is None:
            return None
        screened = _clean(self._redact_reason(_clean(text)))
        if len(screened) > limit:
            screened = screened[: limit - len(_ELLIPSIS)] + _ELLIPSIS
        return screened or None

    def _describe(self, action: str, filters: AuditFilters, suffix: str) -> str:
        """The target of an ``audit.search``/``audit.export`` event: the filters (typed values screened)."""
        try:
            text = f"{filters.describe(self._redact_reason)};{suffix}"
        except Exception as exc:
            self._count_failure()
            raise _write_failed(action, exc) from exc
        return text if len(text) <= MAX_TARGET_CHARS else text[: MAX_TARGET_CHARS - len(_ELLIPSIS)] + _ELLIPSIS

    async def _append(
        self,
        conn: aiosqlite.Connection,
        *,
        actor: str,
        role: str,
        action: str,
        target: str,
        outcome: str,
        origin_ip: str | None,
        channel: str,
        reason: str | None,
    ) -> AuditEvent:
        if not _ACTION.fullmatch(action) or len(action) > 100:
            raise AuditError("An audit action must be dotted lowercase words, like 'secret.reveal'.")
        if not _WORD.fullmatch(role):
            raise AuditError("An audit role must be one lowercase word, like 'agent'.")
        if not _WORD.fullmatch(channel):
            raise AuditError("An audit channel must be one lowercase word, like 'web'.")
        if outcome not in OUTCOMES:
            raise AuditError(f"An audit outcome must be one of {', '.join(OUTCOMES)}.")
        actor = _clean(actor)
        if not actor or len(actor) > 200:
            raise AuditError("An audit actor must be 1 to 200 characters.")
        target = _clean(target)
        if len(target) > MAX_TARGET_CHARS:
            raise AuditError(f"An audit target must be at most {MAX_TARGET_CHARS} characters.")
        ip = _clean(origin_ip)[:64] if origin_ip else None
        screened_reason = self._screen(reason, limit=MAX_REASON_CHARS)
        moment = utc_iso(self._clock.now())
        head = self._head
        for _ in range(2):
            if head is None:
                stored = await self._store.head_in(conn)
                head = stored if stored is not None else (0, GENESIS_HASH)
            seq, prev_hash = head[0] + 1, head[1]
            draft = AuditEvent(
                seq=seq,
                time=moment,
                actor=actor,
                role=role,
                origin_ip=ip or None,
                channel=channel,
                action=action,
                target=target,
                outcome=outcome,
                reason=screened_reason,
                prev_hash=prev_hash,
                hash="",
            )
            event = dataclasses.replace(draft, hash=link_hash(seq, prev_hash, content_hash(draft)))
            if await self._store.append_in(conn, event):
                self._head = (event.seq, event.hash)
                return event
            # Another process appended, or the transaction of our last append rolled back: read the real head.
            self._head = head = None
        raise AuditError("The audit chain's head moved inside a write transaction; the event was not written.")

    # --- reading (audited before anything is returned) ----------------------------------------------------

    async def search(
        self,
        filters: AuditFilters,
        page: Page | None = None,
        *,
        actor: str,
        role: str,
        origin_ip: str | None = None,
        channel: str = "web",
    ) -> AuditPage:
        """Matching events, newest first. The search is recorded as ``audit.search`` first; if that fails,
        ``AuditError`` and no results."""
        page = page or Page()
        if page.number < 1 or not 1 <= page.size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"Page numbers start at 1 and a page holds 1 to {MAX_PAGE_SIZE} events.")
        recorded = await self.record(
            actor=actor,
            role=role,
            action="audit.search",
            origin_ip=origin_ip,
            channel=channel,
            target=self._describe("audit.search", filters, f"page={page.number};size={page.size}"),
        )
        # The result set is what existed just before this search (or at the first page's search).
        as_of = page.as_of if page.as_of is not None and page.as_of < recorded.seq else recorded.seq - 1
        async with _reading():
            offset = (page.number - 1) * page.size
            events = await self._store.search(filters, as_of=as_of, offset=offset, limit=page.size)
            total = await self._store.count(filters, as_of=as_of)
        return AuditPage(tuple(events), total, page.number, page.size, as_of)

    async def export(
        self,
        filters: AuditFilters,
        fmt: str = "csv",
        *,
        actor: str,
        role: str,
        origin_ip: str | None = None,
        channel: str = "web",
    ) -> AuditExport:
        """A file of the matching events (with elided rows between them) and a signed checkpoint at the last one.
        Recorded as ``audit.export`` before any byte is produced; if that fails, ``AuditError`` and no file."""
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(f"Unknown export format {fmt!r}: use csv or jsonl.")
        if self._signing_key is None:
            raise ConfigError("Exports need the checkpoint signing key.", hint="build AuditLog with signing_key")
        try:
            head = await self._store.head()
            bounds = await self._store.matching_bounds(filters, as_of=head[0] if head else 0)
        except Exception as exc:
            # The database cannot even be read, so the audit.export event cannot be written either.
            self._count_failure()
            raise _write_failed("audit.export", exc) from exc
        if bounds is not None and bounds[1] - bounds[0] + 1 > self._export_max_events:
            raise InvalidInput(
                f"The export would hold {bounds[1] - bounds[0] + 1} rows, more than {self._export_max_events}.",
                hint="narrow the time range or other filters",
            )
        recorded = await self.record(
            actor=actor,
            role=role,
            action="audit.export",
            origin_ip=origin_ip,
            channel=channel,
            target=self._describe("audit.export", filters, f"format={fmt}"),
        )
        async with _reading():
            return await self._build_export(filters, fmt, recorded)

    async def _build_export(self, filters: AuditFilters, fmt: str, recorded: AuditEvent) -> AuditExport:
        if self._signing_key is None:  # pragma: no cover - export() checked it
            raise ConfigError("Exports need the checkpoint signing key.")
        bounds = await self._store.matching_bounds(filters, as_of=recorded.seq)
        # An empty result still carries a checkpoint: at the export's own event.
        first, last = bounds if bounds is not None else (recorded.seq + 1, recorded.seq)
        last_event = await self._store.event(last) if bounds is not None else recorded
        if last_event is None:
            raise StorageError(f"Audit event {last} vanished during the export.")
        checkpoint = sign_checkpoint(
            self._signing_key,
            sequence=last,
            head_hash=last_event.hash,
            time=utc_iso(self._clock.now()),
            first_sequence=first,
        )
        writer = ExportWriter(fmt, checkpoint)
        matched = rows = 0
        after = first - 1
        while after < last:
            batch = await self._store.rows_with_match(filters, after, last, _BATCH)
            if not batch:
                break
            await asyncio.to_thread(writer.add_batch, batch)
            rows += len(batch)
            matched += sum(1 for _, matches in batch if matches)
            after = batch[-1][0].seq
        content = await asyncio.to_thread(writer.getvalue)
        filename = f"securedesk-audit-{first:08d}-{last:08d}.{fmt}"
        return AuditExport(content, fmt, MEDIA_TYPES[fmt], filename, checkpoint, matched, rows)

    # --- checkpoints and verification ---------------------------------------------------------------------

    async def checkpoint(self, *, keep: bool = True) -> Checkpoint:
        """Sign the current head (sequence, head hash, time); with ``keep`` also store it for later verifications."""
        if self._signing_key is None:
            raise ConfigError("Checkpoints need the signing key.", hint="build AuditLog with signing_key")
        async with self._db.transaction() as conn:
            head = await self._store.head_in(conn)
            sequence, head_hash = head if head is not None else (0, GENESIS_HASH)
            checkpoint = sign_checkpoint(
                self._signing_key, sequence=sequence, head_hash=head_hash, time=utc_iso(self._clock.now())
            )
            if keep:
                await self._store.add_checkpoint_in(conn, checkpoint)
        return checkpoint

    async def verify(self, checkpoint: Checkpoint | None = None) -> VerifyReport:
        """Walk the whole chain; anchored on every stored checkpoint and on ``checkpoint`` (e.g. one kept outside
        the server). Names the first bad event; a truncated tail shows only against a checkpoint."""
        notes: list[str] = []
        candidates = [(stored, "a checkpoint stored in the database") for stored in await self._store.checkpoints()]
        if checkpoint is not None:
            candidates.append((checkpoint, "the given checkpoint"))
        anchors: dict[int, list[str]] = {}
        walk_failures: list[tuple[int, str]] = []
        if candidates and self._verify_key is None:
            if checkpoint is not None:
                raise KeyUnavailable("Cannot check the checkpoint without the audit public key.")
            notes.append("Stored checkpoints were not checked: no audit public key is configured.")
            candidates = []
        for candidate, what in candidates:
            if self._verify_key is not None and checkpoint_is_valid(candidate, self._verify_key):
                anchors.setdefault(candidate.sequence, []).append(candidate.head_hash)
            else:
                walk_failures.append((candidate.sequence, what))
        walk = ChainWalk(anchors=anchors)
        for sequence, what in walk_failures:
            walk.fail_bad_signature(sequence, what)
        head = await self._store.head()
        last = head[0] if head is not None else 0
        after = 0
        while not walk.failed and after < last:
            batch = await self._store.chain_rows(after, last, _BATCH)
            if not batch:
                break
            await asyncio.to_thread(_feed_all, walk, batch)
            after = batch[-1].seq
        if not walk.failed and anchors:
            highest = max(anchors)
            if highest > walk.last_sequence:
                walk.fail_truncated(highest)
        if not anchors or max(anchors) < walk.last_sequence:
            notes.append(TRUNCATION_NOTE)
        if not await self._store.guards_present():
            notes.append("The append-only triggers of audit_events are missing: someone changed the database schema.")
        return walk.report(notes)


@asynccontextmanager
async def _reading() -> AsyncIterator[None]:
    """Translate database failures while reading (after the audit event was written) into ``StorageError``."""
    try:
        yield
    except (sqlite3.Error, ValueError) as exc:
        raise StorageError(f"The audit log could not be read ({type(exc).__name__}).") from exc


def _write_failed(action: str, exc: Exception) -> AuditError:
    return AuditError(
        f"The audit event {action!r} could not be written ({type(exc).__name__}); the action was not performed.",
        hint="check the database's disk space and permissions",
    )


def _feed_all(walk: ChainWalk, events: Iterable[AuditEvent]) -> None:
    for event in events:
        if not walk.feed_event(event):
            return
