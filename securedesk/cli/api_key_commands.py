"""``securedesk api-keys``: the keys of the screening API — add (the key is printed once, as the last line), list,
rotate (a new key, the old one stops at once) and revoke. Each change is an audit event as ``cli:<os user>``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from securedesk.audit import AuditLog
from securedesk.cli.audit_commands import ReasonScreen
from securedesk.cli.users_commands import operator_actor
from securedesk.clock import SystemClock, utc_iso
from securedesk.config import Settings
from securedesk.errors import StorageError
from securedesk.identity.api_keys import DEFAULT_RATE_PER_MINUTE, SCOPES, ApiKeys, IssuedKey, parse_scopes
from securedesk.storage.database import Database
from securedesk.vault import Vault

T = TypeVar("T")


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("api-keys", help="manage the keys of the screening API")
    sub = keys.add_subparsers(dest="api_keys_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="create a key and print it once (the last line of the output)")
    add.add_argument("name", help="2-64 lowercase letters, digits, '.', '_' or '-'")
    add.add_argument("--scope", required=True, help=f"comma-separated: {', '.join(SCOPES)}")
    add.add_argument("--channel", default=None, help="the channel the key speaks for (default: the key's name)")
    add.add_argument("--rate", type=int, default=DEFAULT_RATE_PER_MINUTE, help="requests per minute")
    add.set_defaults(handler=add_key)

    listing = sub.add_parser("list", help="list the keys (never the keys themselves)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.set_defaults(handler=list_keys)

    rotate = sub.add_parser("rotate", help="replace a key by a new one (printed once); the old one stops at once")
    rotate.add_argument("name")
    rotate.set_defaults(handler=rotate_key)

    revoke = sub.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=revoke_key)


def _with_keys(settings: Settings, action: Callable[[ApiKeys], Awaitable[T]]) -> T:
    async def run() -> T:
        if not settings.database_path.exists():
            raise StorageError(f"No database at {settings.database_path}.", hint="run `securedesk init` first")
        clock = SystemClock()
        db = await Database.open(settings.database_path)
        try:
            vault = await Vault.load(settings, db, clock)
            audit = AuditLog(db, clock, ReasonScreen(settings))
            return await action(ApiKeys.over(db, hasher=vault.lookup_hash, audit=audit, clock=clock))
        finally:
            await db.close()

    return asyncio.run(run())


def _print_issued(issued: IssuedKey, what: str) -> None:
    record = issued.record
    print(
        f"API key {record.name!r} {what}: scopes {','.join(sorted(record.scopes))}, channel {record.channel!r}, "
        f"{record.rate_per_minute} requests/minute."
    )
    print("It is shown only now; send it as 'Authorization: Bearer <key>'. The key:")
    print(issued.key.reveal())


def add_key(args: argparse.Namespace, settings: Settings) -> int:
    scopes = parse_scopes(args.scope)
    issued = _with_keys(
        settings,
        lambda keys: keys.add(
            args.name,
            scopes=scopes,
            channel=args.channel or args.name,
            rate_per_minute=args.rate,
            actor=operator_actor(),
        ),
    )
    _print_issued(issued, "created")
    return 0


def rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    issued = _with_keys(settings, lambda keys: keys.rotate(args.name, actor=operator_actor()))
    _print_issued(issued, "rotated (the previous key no longer works)")
    return 0


def revoke_key(args: argparse.Namespace, settings: Settings) -> int:
    record = _with_keys(settings, lambda keys: keys.revoke(args.name, actor=operator_actor()))
    print(f"API key {record.name!r} ({record.id}) revoked.")
    return 0


def list_keys(args: argparse.Namespace, settings: Settings) -> int:
    records = _with_keys(settings, lambda keys: keys.list(include_revoked=args.all))
    if not records:
        print("No API keys." if args.all else "No live API keys.")
        return 0
    print(f"{'name':<24}{'id':<22}{'scopes':<20}{'channel':<16}{'rate/min':>9}  last used            state")
    for record in records:
        used = utc_iso(record.last_used_at) if record.last_used_at is not None else "never"
        state = "live" if record.live else f"revoked {utc_iso(record.revoked_at or 0)}"
        print(
            f"{record.name:<24}{record.id:<22}{','.join(sorted(record.scopes)):<20}{record.channel:<16}"
            f"{record.rate_per_minute:>9}  {used:<20} {state}"
        )
    return 0
