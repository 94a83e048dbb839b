"""``securedesk init``: make an installation ready, idempotently, and say what was done.

The work is the ordered list ``INIT_STEPS``; each step is an async function of an ``InitContext`` that does its part
only if it is not done yet and returns one line saying what it did or found. Later concerns (the audit signing key,
development certificates, the first admin) append their own step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from securedesk.audit import AuditLog
from securedesk.cli.audit_commands import ReasonScreen, cli_actor
from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.errors import KeyUnavailable, StorageError
from securedesk.identity import Actor, ensure_first_admin
from securedesk.storage.database import MIGRATIONS, Database
from securedesk.storage.secrets import SqliteSecretRepository
from securedesk.vault import LocalKeyFile, Vault, devcerts, key_provider
from securedesk.vault.keys import KEY_FILE_PATTERN, key_file_name


@dataclass
class InitContext:
    """What steps share: the settings, a clock, and the database (opened by the first step that needs it)."""

    settings: Settings
    clock: Clock
    _db: Database | None = field(default=None, repr=False)

    async def database(self) -> Database:
        """The database, opened without migrating (the ``database`` step migrates and reports it)."""
        if self._db is None:
            self._db = await Database.open(self.settings.database_path, migrate=False)
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None


InitStep = Callable[[InitContext], Awaitable[str]]


async def ensure_data_dir(ctx: InitContext) -> str:
    path = ctx.settings.data_dir
    if path.is_dir():
        return f"{path} exists"
    try:
        path.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise StorageError(f"Cannot create the data directory {path}: {exc.strerror}.") from exc
    return f"created {path} (mode 0700)"


async def migrate_database(ctx: InitContext) -> str:
    existed = ctx.settings.database_path.exists()
    db = await ctx.database()
    before = await db.schema_version()
    after = await db.migrate()
    where = ctx.settings.database_path
    if not existed:
        return f"created {where} at schema version {after}"
    if after != before:
        return f"migrated {where} from schema version {before} to {after}"
    return f"{where} is up to date (schema version {after} of {len(MIGRATIONS)})"


async def ensure_kek(ctx: InitContext) -> str:
    provider = key_provider(ctx.settings)
    if not isinstance(provider, LocalKeyFile):
        keyring = provider.load()
        return f"from {provider.location} (versions {', '.join(map(str, keyring.versions))})"
    key_dir = provider.key_dir
    if any(_kek_files(provider)):
        keyring = provider.load()  # the full checks: permissions, readability, format
        return f"present in {key_dir} (versions {', '.join(map(str, keyring.versions))})"
    recorded = await SqliteSecretRepository(await ctx.database()).key_versions()
    if recorded:
        raise KeyUnavailable(
            f"This database already holds data under KEK version(s) {', '.join(str(r.version) for r in recorded)}, "
            f"but {key_dir} has no key: a new key would not open that data.",
            hint="restore the key directory from backup (or set SECUREDESK_KEK); init does not create a new key here",
        )
    version = provider.add_version()
    path = key_dir / key_file_name(version)
    mode = stat.S_IMODE(path.stat().st_mode)
    return f"created {path} (mode {mode:04o}, directory {stat.S_IMODE(key_dir.stat().st_mode):04o})"


async def ensure_vault(ctx: InitContext) -> str:
    vault = await Vault.load(ctx.settings, await ctx.database(), ctx.clock)
    counts = await vault.repository.count_by_kek_version()
    return f"ready: new data keys are wrapped by KEK version {vault.current_version}; {sum(counts.values())} secret(s)"


async def ensure_first_admin_account(ctx: InitContext) -> str:
    """The first admin (pending) and its one-time enrolment link, unless an admin account exists."""
    db = await ctx.database()
    url = await ensure_first_admin(
        ctx.settings,
        db=db,
        audit=AuditLog(db, ctx.clock, ReasonScreen(ctx.settings)),
        actor=Actor(cli_actor(), "system", channel="cli"),
        clock=ctx.clock,
    )
    if url is None:
        return "an admin account exists (`securedesk users list`)"
    return f"created 'admin' (pending): open this one-time link within 24 h to set its password and TOTP: {url}"


async def ensure_tls_certificates(ctx: InitContext) -> str:
    """Development CA and localhost certificate (securedesk.vault.devcerts), unless the settings name their own."""
    return devcerts.describe(devcerts.ensure_for_settings(ctx.settings, clock=ctx.clock), ctx.settings)


#: The ordered steps of ``securedesk init``: ``(name, step)``. Append yours; each must be idempotent.
INIT_STEPS: tuple[tuple[str, InitStep], ...] = (
    ("data directory", ensure_data_dir),
    ("database", migrate_database),
    ("key-encrypting key", ensure_kek),
    ("vault", ensure_vault),
    ("TLS certificates", ensure_tls_certificates),
    ("first admin", ensure_first_admin_account),
)


async def run_init(
    settings: Settings,
    *,
    clock: Clock | None = None,
    steps: tuple[tuple[str, InitStep], ...] = INIT_STEPS,
    echo: Callable[[str], None] = print,
) -> None:
    """Run every step in order, printing ``name: what it did``; stops at the first step that raises."""
    ctx = InitContext(settings, clock if clock is not None else SystemClock())
    try:
        for name, step in steps:
            echo(f"{name}: {await step(ctx)}")
    finally:
        await ctx.close()


def register(subparsers: Any) -> None:
    init = subparsers.add_parser(
        "init",
        help="create the data directory, database and key-encrypting key (idempotent)",
        description="Makes this installation ready: each step is done only if needed, and reported.",
    )
    init.set_defaults(handler=initialize)


def initialize(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(run_init(settings))
    return 0


def _kek_files(provider: LocalKeyFile) -> list[str]:
    try:
        return [name for name in os.listdir(provider.key_dir) if KEY_FILE_PATTERN.fullmatch(name)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KeyUnavailable(f"Cannot list key directory {provider.key_dir}: {exc.strerror}.") from exc
