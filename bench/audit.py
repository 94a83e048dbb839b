"""Audit log benchmark: chained appends per second (single and batched) and the time to verify a long chain.

Baselines, measured in the same run on the same database: a plain INSERT of the same columns into a twin table
without chaining (no head read, no hashing), and for verification a read of every row without hashing.

    .venv/bin/python bench/audit.py            # 1,000,000 events to verify
    .venv/bin/python bench/audit.py --quick    # 100,000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from securedesk.audit import GENESIS_HASH, AuditLog, content_hash, link_hash
from securedesk.clock import SystemClock, utc_iso
from securedesk.storage import Database
from securedesk.storage.audit_events import AuditEvent

TWIN_TABLE = """
CREATE TABLE bench_plain (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, origin_ip TEXT,
    channel TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL,
    reason TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
)"""
TWIN_INDEXES = (
    "CREATE INDEX bench_plain_by_actor ON bench_plain(actor, seq)",
    "CREATE INDEX bench_plain_by_action ON bench_plain(action, seq)",
    "CREATE INDEX bench_plain_by_target ON bench_plain(target, seq)",
    "CREATE INDEX bench_plain_by_time ON bench_plain(time)",
)
# The same row (hashes included, so rows are the same size), without reading the head or hashing anything.
PLAIN_INSERT = (
    "INSERT INTO bench_plain (time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash, hash)"
    " VALUES (?, ?, 'agent', '192.0.2.10', 'web', 'case.view', ?, 'success', 'customer asked', ?, ?)"
)
FAKE_HASH = "5" * 64
ROUNDS = 3  # chained and plain alternate; the best round of each counts (the machine is shared)
CHAIN_INSERT = (
    "INSERT INTO audit_events (seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash,"
    " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class Row:
    case: str
    events: int
    chained_seconds: float
    baseline: str
    baseline_seconds: float


def identity(text: str) -> str:
    return text


async def single_appends(db: Database, log: AuditLog, count: int) -> tuple[float, float]:
    """Seconds for ``count`` appends, each committed (and fsynced) on its own: chained, plain (best rounds)."""
    per_round = max(1, count // ROUNDS)
    chained_best = plain_best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for i in range(per_round):
            await log.record(actor=f"agent{i % 50}", role="agent", action="case.view", target=f"case_{i}",
                             origin_ip="192.0.2.10", channel="web", reason="customer asked")
        chained_best = min(chained_best, time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(per_round):
            async with db.transaction() as conn:
                await conn.execute(PLAIN_INSERT, (utc_iso(time.time()), f"agent{i % 50}", f"case_{i}", FAKE_HASH,
                                                  FAKE_HASH))
        plain_best = min(plain_best, time.perf_counter() - started)
    return chained_best * count / per_round, plain_best * count / per_round


async def batched_appends(db: Database, log: AuditLog, count: int) -> tuple[float, float]:
    """Seconds for ``count`` appends inside one transaction per round: chained, plain (best rounds)."""
    per_round = max(1, count // ROUNDS)
    chained_best = plain_best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        async with db.transaction() as conn:
            for i in range(per_round):
                await log.record_in(conn, actor=f"agent{i % 50}", role="agent", action="case.view",
                                    target=f"case_{i}", origin_ip="192.0.2.10", channel="web", reason="customer asked")
        chained_best = min(chained_best, time.perf_counter() - started)
        started = time.perf_counter()
        async with db.transaction() as conn:
            for i in range(per_round):
                await conn.execute(PLAIN_INSERT, (utc_iso(time.time()), f"agent{i % 50}", f"case_{i}", FAKE_HASH,
                                                  FAKE_HASH))
        plain_best = min(plain_best, time.perf_counter() - started)
    return chained_best * count / per_round, plain_best * count / per_round


async def bulk_load(db: Database, count: int, *, batch: int = 50_000) -> float:
    """Append ``count`` valid chained events fast: hashes computed in Python, executemany per batch."""
    head = await db.fetch_one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    seq, prev = (int(head[0]), str(head[1])) if head is not None else (0, GENESIS_HASH)
    base = time.time()
    started = time.perf_counter()
    while count > 0:
        rows: list[tuple[object, ...]] = []
        for _ in range(min(batch, count)):
            seq += 1
            draft = AuditEvent(seq, utc_iso(base + seq / 1000), f"agent{seq % 50}", "agent", "192.0.2.10", "web",
                               "case.view", f"case_{seq}", "success", "customer asked", prev, "")
            prev = link_hash(seq, draft.prev_hash, content_hash(draft))
            rows.append((draft.seq, draft.time, draft.actor, draft.role, draft.origin_ip, draft.channel, draft.action,
                         draft.target, draft.outcome, draft.reason, draft.prev_hash, prev))
        async with db.transaction() as conn:
            await conn.executemany(CHAIN_INSERT, rows)
        count -= len(rows)
    return time.perf_counter() - started


async def read_all(db: Database, log: AuditLog) -> float:
    """The verification walk's reads without its hashing: the floor verification cannot go below."""
    head = await log.store.head()
    last = head[0] if head else 0
    started = time.perf_counter()
    after = 0
    while after < last:
        batch = await log.store.chain_rows(after, last, 10_000)
        if not batch:
            break
        after = batch[-1].seq
    return time.perf_counter() - started


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:>12,.0f}" if seconds > 0 else f"{'-':>12}"


async def main(total: int, singles: int, batched: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="securedesk-bench-audit-") as folder:
        db = await Database.open(Path(folder) / "bench.db")
        try:
            async with db.transaction() as conn:
                await conn.execute(TWIN_TABLE)
                for statement in TWIN_INDEXES:
                    await conn.execute(statement)
            log = AuditLog(db, SystemClock(), identity)
            rows: list[Row] = []
            chained, plain = await single_appends(db, log, singles)
            rows.append(Row("append, own transaction each (fsync)", singles, chained, "plain INSERT, own txn", plain))
            singles = ROUNDS * max(1, singles // ROUNDS)
            chained, plain = await batched_appends(db, log, batched)
            rows.append(Row("append, batched in one transaction", batched, chained, "plain INSERT, one txn", plain))
            batched = ROUNDS * max(1, batched // ROUNDS)
            remaining = total - singles - batched
            load_seconds = await bulk_load(db, remaining)
            rows.append(Row("bulk load (chain in Python, executemany)", remaining, load_seconds, "-", 0.0))
            await db.checkpoint()
            read_seconds = await read_all(db, log)
            started = time.perf_counter()
            report = await log.verify()
            verify_seconds = time.perf_counter() - started
            if not report.ok or report.events_checked != total:
                raise SystemExit(f"verification failed: {report.summary()}")
            rows.append(Row("verify the whole chain", total, verify_seconds, "read rows, no hashing", read_seconds))
            return rows
        finally:
            await db.close()


def print_table(rows: list[Row]) -> None:
    header = (f"{'measurement':<42} {'events':>10} {'seconds':>9} {'events/s':>12}   {'baseline':<22} "
              f"{'seconds':>9} {'events/s':>12} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        base = (f"{row.baseline:<22} {row.baseline_seconds:>9.3f} {rate(row.events, row.baseline_seconds)} "
                f"{row.chained_seconds / row.baseline_seconds:>5.2f}x"
                if row.baseline_seconds > 0 else f"{row.baseline:<22} {'':>9} {'':>12} {'':>6}")
        print(f"{row.case:<42} {row.events:>10,} {row.chained_seconds:>9.3f} {rate(row.events, row.chained_seconds)}"
              f"   {base}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="verify 100,000 events instead of 1,000,000")
    parser.add_argument("--events", type=int, help="events to verify (overrides --quick)")
    parser.add_argument("--singles", type=int, default=1_000, help="single appends, each its own transaction")
    parser.add_argument("--batched", type=int, default=10_000, help="appends in one transaction")
    args = parser.parse_args()
    total = args.events or (100_000 if args.quick else 1_000_000)
    if total < args.singles + args.batched:
        sys.exit("--events must be at least --singles + --batched")
    print(f"SecureDesk audit benchmark: {total:,} events, SQLite WAL synchronous=FULL, Python {sys.version.split()[0]}")
    print_table(asyncio.run(main(total, args.singles, args.batched)))
