"""Staff login cost on this machine: argon2id verification alone and the whole login (password + TOTP + session +
audit event, on a real SQLite database), at our parameters beside OWASP's minimum and argon2-cffi's defaults.

    .venv/bin/python bench/login.py [--quick] [--logins N] [--concurrency C]

Latencies are of sequential logins; logins/s runs C logins at once (different accounts) for the same count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import argon2

from securedesk.audit import AuditLog
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuthenticationFailed
from securedesk.identity import (
    LOCKOUT_THRESHOLD,
    OWASP_MINIMUM,
    STAFF_PASSWORD_PARAMETERS,
    Actor,
    Argon2Parameters,
    Identity,
    PasswordHasher,
    Role,
)
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault

PASSWORD = Sensitive("a reasonably long benchmark passphrase")
OPERATOR = Actor("bench", "system", channel="cli")


def _defaults() -> Argon2Parameters:
    p = argon2.profiles.get_default_parameters()
    return Argon2Parameters(
        "argon2-cffi defaults", time_cost=p.time_cost, memory_kib=p.memory_cost, parallelism=p.parallelism,
        hash_len=p.hash_len, salt_len=p.salt_len,
    )


@dataclass(frozen=True)
class Result:
    label: str
    parameters: Argon2Parameters
    verify_ms: list[float]
    login_ms: list[float]
    logins_per_second: float
    refusal_ms: dict[str, list[float]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def measure(label: str, parameters: Argon2Parameters, logins: int, concurrency: int, root: Path) -> Result:
    hasher = PasswordHasher(parameters, max_concurrent=max(concurrency, 1))
    encoded = await hasher.hash(PASSWORD)
    verify_ms = []
    for _ in range(logins):
        started = time.perf_counter()
        if not await hasher.verify(encoded, PASSWORD):
            raise RuntimeError("verification failed")
        verify_ms.append((time.perf_counter() - started) * 1000)

    settings = Settings(data_dir=root / "data", key_dir=root / "keys", cert_dir=root / "certs")
    LocalKeyFile(settings.key_dir).add_version()
    clock = FixedClock()
    db = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(settings, db, clock)
        identity = Identity.build(
            settings, db=db, audit=AuditLog(db, clock, lambda text: text), cipher=vault, clock=clock, hasher=hasher
        )
        secrets = {}

        async def enrol(name: str) -> None:
            link = await identity.accounts.add(name, Role.AGENT, actor=OPERATOR)
            token = link.url.reveal().rsplit("/", 1)[1]
            challenge = await identity.enrolment.begin(token)
            await identity.enrolment.complete(token, PASSWORD, code_at(challenge.secret, clock.now()))
            secrets[name] = challenge.secret

        for i in range(concurrency):
            await enrol(f"bench{i}")

        async def login(name: str) -> float:
            started = time.perf_counter()
            await identity.authenticator.login(name, PASSWORD, code_at(secrets[name], clock.now()))
            return (time.perf_counter() - started) * 1000

        login_ms = []
        for _ in range(logins):
            clock.advance(30)  # each login needs a fresh TOTP step
            login_ms.append(await login("bench0"))

        rounds = max(1, logins // concurrency)
        started = time.perf_counter()
        for _ in range(rounds):
            clock.advance(30)
            await asyncio.gather(*(login(name) for name in secrets))
        rate = rounds * concurrency / (time.perf_counter() - started)

        # Refusals: what an attacker can time. Known accounts get at most 9 failures each, so none locks.
        refusal_ms: dict[str, list[float]] = {"unknown account": [], "wrong password": [], "wrong code": []}
        rounds_per_victim = (LOCKOUT_THRESHOLD - 1) // 2  # two failures per round
        victims = [f"victim{i}" for i in range(-(-logins // rounds_per_victim))]
        for name in victims:
            await enrol(name)
        for i in range(logins):
            clock.advance(30)
            victim = victims[i // rounds_per_victim]
            good = code_at(secrets[victim], clock.now())
            bad = Sensitive("000000" if good.reveal() != "000000" else "111111")
            attempts = {
                "unknown account": ("nobody", PASSWORD, good),
                "wrong password": (victim, Sensitive("not the password at all"), good),
                "wrong code": (victim, PASSWORD, bad),
            }
            for kind, (name, password, code) in attempts.items():
                started = time.perf_counter()
                try:
                    await identity.authenticator.login(name, password, code)
                except AuthenticationFailed:
                    refusal_ms[kind].append((time.perf_counter() - started) * 1000)
                else:
                    raise RuntimeError(f"{kind}: the login was not refused")
    finally:
        await db.close()
    return Result(label, parameters, verify_ms, login_ms, rate, refusal_ms)


def table(results: list[Result], concurrency: int) -> str:
    header = (
        f"{'parameters':<34} {'m MiB':>5} {'t':>2} {'p':>2} | {'verify p50':>10} {'p99':>7} | "
        f"{'login p50':>9} {'p99':>7} | {f'logins/s (x{concurrency})':>16}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        p = r.parameters
        lines.append(
            f"{r.label:<34} {p.memory_kib / 1024:>5.0f} {p.time_cost:>2} {p.parallelism:>2} | "
            f"{statistics.median(r.verify_ms):>8.1f}ms {percentile(r.verify_ms, 0.99):>5.1f}ms | "
            f"{statistics.median(r.login_ms):>7.1f}ms {percentile(r.login_ms, 0.99):>5.1f}ms | "
            f"{r.logins_per_second:>16.1f}"
        )
    return "\n".join(lines)


async def main_async(logins: int, concurrency: int) -> None:
    candidates = [
        (f"chosen: {STAFF_PASSWORD_PARAMETERS.name}", STAFF_PASSWORD_PARAMETERS),
        (f"baseline: {OWASP_MINIMUM.name}", OWASP_MINIMUM),
        (f"baseline: {_defaults().name}", _defaults()),
    ]
    results = []
    with tempfile.TemporaryDirectory(prefix="securedesk-bench-") as tmp:
        for i, (label, parameters) in enumerate(candidates):
            results.append(await measure(label, parameters, logins, concurrency, Path(tmp) / str(i)))
    print(f"Staff login, {logins} logins per row, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    print(table(results, concurrency))
    print("verify = one argon2id verification (in a worker thread); login = the whole Authenticator.login: argon2,")
    print("TOTP check, conditional step update, new session and the auth.login audit event, committed (fsync).")
    print()
    print(refusal_table(results))
    print("Every refusal costs one argon2 verification (a dummy one for unknown accounts) and one audited commit.")


def refusal_table(results: list[Result]) -> str:
    kinds = list(results[0].refusal_ms)
    header = f"{'refused login, p50 (p99)':<34} | " + " | ".join(f"{kind:>20}" for kind in kinds)
    lines = [header, "-" * len(header)]
    for r in results:
        cells = [
            f"{statistics.median(r.refusal_ms[k]):>7.1f} ({percentile(r.refusal_ms[k], 0.99):>6.1f}) ms" for k in kinds
        ]
        lines.append(f"{r.label:<34} | " + " | ".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few logins per row (a smoke run)")
    parser.add_argument("--logins", type=int, default=None, help="logins per row (default 20; 5 with --quick)")
    parser.add_argument("--concurrency", type=int, default=2, help="logins at once for the throughput column")
    args = parser.parse_args()
    logins = args.logins if args.logins is not None else (5 if args.quick else 20)
    asyncio.run(main_async(max(logins, 1), max(args.concurrency, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
