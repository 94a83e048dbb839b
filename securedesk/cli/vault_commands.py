"""``securedesk keys rotate|status|retire`` and ``securedesk vault purge``: the operator's side of the vault.

Each command records an audit event (``keys.rotate``, ``keys.retire``, ``vault.purge``) as ``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from securedesk.audit import AuditLog
from securedesk.cli.audit_commands import cli_actor
from securedesk.clock import SystemClock, utc_iso
from securedesk.config import Settings
from securedesk.errors import SecureDeskError, StorageError
from securedesk.storage.database import Database
from securedesk.vault import KeyRotation, RotationProgress, Vault


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="key-encrypting key versions: rotate, status, retire")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    rotate = keys_sub.add_parser(
        "rotate",
        help="add a KEK version and re-wrap every data key to it (or finish an interrupted rotation)",
        description="Adds a new key-encrypting key version and re-wraps every data key to it in batches, each batch "
        "its own transaction. If an earlier rotation was interrupted, it is finished instead (no new version). "
        "Safe to interrupt at any point and run again.",
    )
    rotate.add_argument("--resume", action="store_true", help="only finish an interrupted rotation; never add one")
    rotate.add_argument(
        "--batch-size", type=int, default=None, help="data keys per transaction (default: rotation_batch_size)"
    )
    rotate.set_defaults(handler=rotate_keys)

    status = keys_sub.add_parser("status", help="list KEK versions and how many data keys each wraps")
    status.set_defaults(handler=show_status)

    retire = keys_sub.add_parser("retire", help="retire a KEK version nothing depends on and destroy its key")
    retire.add_argument("version", type=int, help="the version to retire (see `securedesk keys status`)")
    retire.set_defaults(handler=retire_key)

    vault = subparsers.add_parser("vault", help="the vault of sealed secrets")
    vault_sub = vault.add_subparsers(dest="vault_command", metavar="ACTION", required=True)
    purge = vault_sub.add_parser(
        "purge", help="delete expired secrets with their data keys (crypto-shredding), then checkpoint the WAL"
    )
    purge.set_defaults(handler=purge_expired)


@asynccontextmanager
async def _open_vault(settings: Settings) -> AsyncIterator[tuple[Database, Vault]]:
    if not settings.database_path.exists():
        raise StorageError(f"No database at {settings.database_path}.", hint="run `securedesk init` first")
    db = await Database.open(settings.database_path)
    try:
        yield db, await Vault.load(settings, db, SystemClock())
    finally:
        await db.close()


async def _record(db: Database, action: str, target: str, outcome: str) -> None:
    # No free text goes into these events, so there is nothing for a reason screen to do.
    audit = AuditLog(db, SystemClock(), lambda text: text)
    await audit.record(actor=cli_actor(), role="system", action=action, target=target, outcome=outcome, channel="cli")


def rotate_keys(args: argparse.Namespace, settings: Settings) -> int:
    batch_size = args.batch_size if args.batch_size is not None else settings.rotation_batch_size

    def report(progress: RotationProgress) -> None:
        print(f"  {progress.what}: {progress.done} re-wrapped to KEK version {progress.target}", flush=True)

    async def run() -> int:
        async with _open_vault(settings) as (db, vault):
            rotation = KeyRotation(
                vault, batch_size=batch_size, pause_seconds=settings.rotation_batch_pause_seconds, progress=report
            )
            left = await rotation.pending()
            if left:
                print(
                    f"Resuming the unfinished rotation to KEK version {vault.current_version}: {left} data key(s) "
                    "left.",
                    flush=True,
                )
            elif args.resume:
                print(f"Nothing to resume: every data key is wrapped by KEK version {vault.current_version}.")
                return 0
            else:
                print(f"Adding a KEK version after {vault.current_version} in {vault.provider.location}.", flush=True)
            try:
                result = await rotation.rotate(resume_only=args.resume)
            except SecureDeskError:
                await _record(db, "keys.rotate", f"kek:v{vault.current_version}", "failure")
                raise
            await _record(db, "keys.rotate", f"kek:v{result.target};rewrapped={result.rewrapped}", "success")
            print(
                f"Rotation to KEK version {result.target} complete: {result.rewrapped} data key(s) re-wrapped "
                f"({result.secrets} secrets, {result.field_blobs} field values, {result.index_root} index root) "
                f"in {result.seconds:.1f} s."
            )
            older = [s.version for s in await rotation.status() if s.state == "active"]
            if older:
                print(
                    f"Older versions {', '.join(map(str, older))} now wrap nothing. Once every running server has "
                    "restarted (or refreshed its keys), retire them with `securedesk keys retire VERSION`."
                )
            return 0

    return asyncio.run(run())


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        async with _open_vault(settings) as (_db, vault):
            rows = await KeyRotation(vault).status()
            print(f"Keys from {vault.provider.location}; new data keys are wrapped by version {vault.current_version}.")
            header = ("version", "state", "created (UTC)", "secrets", "fields", "index root", "data keys")
            table = [
                (
                    str(s.version),
                    s.state,
                    utc_iso(s.created_at)[:19],
                    str(s.secrets),
                    str(s.field_blobs),
                    "yes" if s.index_root else "-",
                    str(s.data_keys),
                )
                for s in rows
            ]
            widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
            for line in (header, *table):
                print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
            pending = sum(s.data_keys for s in rows if s.version < vault.current_version)
            if pending:
                print(f"{pending} data key(s) still wait for re-wrapping: run `securedesk keys rotate --resume`.")
            return 0

    return asyncio.run(run())


def retire_key(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        async with _open_vault(settings) as (db, vault):
            try:
                done = await KeyRotation(vault).retire(args.version)
            except SecureDeskError:
                await _record(db, "keys.retire", f"kek:v{args.version}", "denied")
                raise
            await _record(db, "keys.retire", f"kek:v{args.version}", "success")
            print(f"KEK version {args.version} is retired; {done}.")
            return 0

    return asyncio.run(run())


def purge_expired(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        async with _open_vault(settings) as (db, vault):
            count = await vault.purge_expired()
            await _record(db, "vault.purge", f"secrets={count}", "success")
            print(f"Purged {count} expired secret(s) with their data keys; the write-ahead log is checkpointed.")
            return 0

    return asyncio.run(run())
