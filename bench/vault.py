"""Vault benchmark: seal/s, open/s, blind-index lookup latency at growing sizes, and rotation time per 100k secrets.

Baselines, measured in the same run: one bare AES-256-GCM seal (what each secret costs at least, twice), a ``SELECT 1``
round trip through the same aiosqlite connection (the floor under any lookup), and a primary-key lookup by token
(``Vault.describe``) next to the blind-index lookup (``Vault.find``). Bulk fills use ``Vault.seal_many`` (real sealed
rows, encrypted in a worker thread while the previous batch is inserted). Lookups are measured in steady state:
after a WAL checkpoint, ``sync`` and 500 untimed lookups.

    .venv/bin/python bench/vault.py            # 10k, 100k and 1M secrets
    .venv/bin/python bench/vault.py --quick    # 10k only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import cryptography

from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import KeyRotation, LocalKeyFile, SealRequest, Vault, aead

FILL_BATCH = 5_000
LOOKUPS = 2_000
MISSES = 500
WARM_UP = 500


def card(i: int) -> str:
    """A synthetic 16-digit VISA-range number with a valid Luhn check digit, distinct for every ``i``."""
    body = f"4{i:014d}"
    total = 0
    for position, ch in enumerate(reversed(body)):
        d = int(ch)
        if position % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


async def no_audit(*, token: str, kind: str, actor: str, reason: str) -> None:
    return None


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float


async def latency(calls: list[Callable[[], Awaitable[object]]]) -> Latency:
    samples = []
    for call in calls:
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return Latency(statistics.median(samples) * 1e3, samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e3)


@dataclass
class SizeRow:
    secrets: int
    fill_per_s: float
    find_hit: Latency
    find_miss: Latency
    by_token: Latency
    select_one: Latency
    in_sqlite: Latency


def sqlite_lookups(path: Path, tokens: list[str]) -> Latency:
    """The repository's blind-index query timed inside SQLite alone (plain sqlite3, no event-loop hop)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        indexes = [
            conn.execute("SELECT kind, blind_index FROM secrets WHERE token = ?", (t,)).fetchone() for t in tokens
        ]
        samples = []
        for kind, index in indexes:
            started = time.perf_counter()
            conn.execute(
                "SELECT * FROM secrets WHERE blind_index = ? AND kind = ? AND (expires_at IS NULL OR expires_at > ?)"
                " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (index, kind, time.time()),
            ).fetchone()
            samples.append(time.perf_counter() - started)
    finally:
        conn.close()
    samples.sort()
    return Latency(statistics.median(samples) * 1e3, samples[int(len(samples) * 0.99)] * 1e3)


class Bench:
    def __init__(self, vault: Vault, db: Database) -> None:
        self.vault = vault
        self.db = db
        self.count = 0
        self.sample_tokens: list[str] = []

    async def fill_to(self, size: int) -> float:
        """Seal secrets ``count .. size-1`` with two concurrent ``seal_many`` workers; returns secrets/s."""
        started = time.perf_counter()
        first = self.count
        next_index = first

        async def worker() -> None:
            nonlocal next_index
            while next_index < size:
                low, high = next_index, min(size, next_index + FILL_BATCH)
                next_index = high
                refs = await self.vault.seal_many(
                    [SealRequest("CREDIT_CARD", Sensitive(card(i)), "bench") for i in range(low, high)]
                )
                self.sample_tokens.extend(r.token for r in refs[::97])

        await asyncio.gather(worker(), worker())
        self.count = size
        return (size - first) / (time.perf_counter() - started)

    async def measure(self, size: int, fill_per_s: float) -> SizeRow:
        rng = random.Random(size)
        hits = [card(rng.randrange(size)) for _ in range(LOOKUPS)]
        misses = [card(size + 10_000_000 + rng.randrange(10**9)) for _ in range(MISSES)]
        tokens = [rng.choice(self.sample_tokens) for _ in range(LOOKUPS)]
        # Steady state, as in a running server: the bulk fill folded into the database and written back (right
        # after writing hundreds of MB, kernel writeback alone pushes p99 to several ms), then a warm-up pass.
        await self.db.checkpoint()
        await asyncio.to_thread(os.sync)
        for value in [card(rng.randrange(size)) for _ in range(WARM_UP)]:
            if await self.vault.find("CREDIT_CARD", Sensitive(value)) is None:
                raise SystemExit("a sealed value was not found: the benchmark is broken")
        return SizeRow(
            secrets=size,
            fill_per_s=fill_per_s,
            find_hit=await latency([lambda v=v: self.vault.find("CREDIT_CARD", Sensitive(v)) for v in hits]),
            find_miss=await latency([lambda v=v: self.vault.find("CREDIT_CARD", Sensitive(v)) for v in misses]),
            by_token=await latency([lambda t=t: self.vault.describe(t) for t in tokens]),
            select_one=await latency([lambda: self.db.fetch_one("SELECT 1") for _ in range(LOOKUPS)]),
            in_sqlite=await asyncio.to_thread(sqlite_lookups, self.db.path, tokens),
        )


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


async def run(sizes: list[int], workdir: Path) -> None:
    settings = Settings(data_dir=workdir / "data", key_dir=workdir / "keys", cert_dir=workdir / "certs")
    LocalKeyFile(settings.key_dir).add_version()
    db = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(settings, db, SystemClock())
        bench = Bench(vault, db)
        singles = 500 if len(sizes) == 1 else 2_000

        key = aead.new_key()
        started = time.perf_counter()
        for _ in range(20_000):
            aead.seal(key, b"4111111111111111", b"aad")
        aes = per_second(20_000, time.perf_counter() - started)

        started = time.perf_counter()
        refs = [
            await vault.seal("CREDIT_CARD", Sensitive(card(10**12 + i)), case_id=None, source="bench",
                             retention_days=None)
            for i in range(singles)
        ]
        seal_single = per_second(singles, time.perf_counter() - started)
        started = time.perf_counter()
        for ref in refs:
            await vault.open(ref.token, actor="bench", reason="benchmark", audit=no_audit)
        open_rate = per_second(singles, time.perf_counter() - started)
        bench.count = 0

        rows: list[SizeRow] = []
        rotation: tuple[int, float] | None = None
        for size in sizes:
            fill = await bench.fill_to(size)
            rows.append(await bench.measure(size, fill))
            print(f"  measured {size:,} secrets", file=sys.stderr, flush=True)
            if rotation is None and (size >= 100_000 or size == sizes[-1]):
                result = await KeyRotation(vault, batch_size=1_000).rotate()
                rotation = (result.rewrapped, result.seconds)
    finally:
        await db.close()

    print()
    print(f"SecureDesk vault benchmark  (Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"cryptography {cryptography.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    print()
    print(f"{'operation':<48}{'rate':>14}")
    print(f"{'baseline: one AES-256-GCM seal (16 B)':<48}{aes:>14}")
    print(f"{'seal, one secret per transaction (fsync each)':<48}{seal_single:>14}")
    print(f"{f'seal_many, {FILL_BATCH:,} per transaction (bulk fill at 10k)':<48}{rows[0].fill_per_s:>12,.0f}/s")
    print(f"{'open (decrypt + audit hook)':<48}{open_rate:>14}")
    print()
    print(f"{'':>10}  {'':>9}  {'Vault.find (blind index)':^31}  {'describe (by token)':^20}  "
          f"{'SELECT 1 round trip':^20}  {'index in SQLite':^20}")
    print(f"{'secrets':>10}  {'fill/s':>9}  {'p50':>9}  {'p99':>9}  {'miss p99':>9}  {'p50':>9}  {'p99':>9}  "
          f"{'p50':>9}  {'p99':>9}  {'p50':>9}  {'p99':>9}")
    for r in rows:
        cells = [r.find_hit.p50_ms, r.find_hit.p99_ms, r.find_miss.p99_ms, r.by_token.p50_ms, r.by_token.p99_ms,
                 r.select_one.p50_ms, r.select_one.p99_ms, r.in_sqlite.p50_ms, r.in_sqlite.p99_ms]
        print(f"{r.secrets:>10,}  {r.fill_per_s:>9,.0f}  " + "  ".join(f"{c:>7.3f}ms" for c in cells))
    print("Latencies in ms. find and describe go through aiosqlite (a thread hop per call, like the server); SELECT 1")
    print("is that hop alone (the baseline floor); 'index in SQLite' is find's query timed inside SQLite, no hop.")
    if rotation is not None:
        count, seconds = rotation
        print()
        print(f"rotation: {count:,} data keys re-wrapped in {seconds:.1f} s, batches of 1,000 "
              f"= {seconds * 100_000 / count:.1f} s per 100k secrets")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k secrets only")
    parser.add_argument("--sizes", default=None, help="comma-separated sizes (default 10000,100000,1000000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = sorted(int(s) for s in args.sizes.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="securedesk-bench-vault-"))
    try:
        asyncio.run(run(sizes, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
