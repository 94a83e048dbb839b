"""``securedesk users``: add staff (printing a one-time enrolment link), list, disable, change role or queues.

The operator at the command line acts with full rights (they hold the database and the keys); every change is
recorded in the audit log as ``cli:<os user>``, and a change whose audit event cannot be written does not happen.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from securedesk.audit import AuditLog
from securedesk.cli.audit_commands import ReasonScreen, cli_actor
from securedesk.clock import SystemClock, utc_iso
from securedesk.config import Settings
from securedesk.identity import Accounts, Actor, EnrolmentLink, Role, StaffMember, accounts_for
from securedesk.storage.database import Database

T = TypeVar("T")


def register(subparsers: Any) -> None:
    users = subparsers.add_parser("users", help="manage staff accounts")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="create a staff account and print its one-time enrolment link")
    add.add_argument("name", help="login name: 2-64 lowercase letters, digits, '.', '_' or '-'")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--queues", default="", help="comma-separated case queues an agent works (e.g. general,billing)")
    add.set_defaults(handler=add_user)

    listing = sub.add_parser("list", help="list staff accounts")
    listing.set_defaults(handler=list_users)

    disable = sub.add_parser("disable", help="disable an account and end all its sessions")
    disable.add_argument("name")
    disable.set_defaults(handler=disable_user)

    role = sub.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=[r.value for r in Role])
    role.set_defaults(handler=change_role)

    queues = sub.add_parser("queues", help="set the case queues of an account")
    queues.add_argument("name")
    queues.add_argument("queues", help="comma-separated queue names; '' for none")
    queues.set_defaults(handler=change_queues)

    link = sub.add_parser("enrol-link", help="reset an account's password and TOTP and print a new enrolment link")
    link.add_argument("name")
    link.set_defaults(handler=reissue_link)


def _with_accounts(settings: Settings, action: Callable[[Accounts], Awaitable[T]]) -> T:
    async def run() -> T:
        clock = SystemClock()
        db = await Database.open(settings.database_path)
        try:
            audit = AuditLog(db, clock, ReasonScreen(settings))
            return await action(accounts_for(settings, db=db, audit=audit, clock=clock))
        finally:
            await db.close()

    return asyncio.run(run())


def operator_actor() -> Actor:
    """The person at the command line: full rights (they hold the database and keys), named in the audit log."""
    return Actor(name=cli_actor(), role="system", channel="cli")


def _print_link(link: EnrolmentLink) -> None:
    member = link.member
    print(f"Staff account {member.name!r} ({member.role.value}) is pending enrolment.")
    print("Give this one-time link to that person only (it sets their password and authenticator):")
    print(f"  {link.url.reveal()}")
    print(f"It expires at {utc_iso(link.expires_at)} and works once.")


def _describe(member: StaffMember) -> str:
    return f"{member.name} ({member.role.value}, {member.status}, queues: {','.join(member.queues) or '-'})"


def add_user(args: argparse.Namespace, settings: Settings) -> int:
    actor = operator_actor()
    queues = args.queues.split(",")
    link = _with_accounts(settings, lambda a: a.add(args.name, Role.parse(args.role), actor=actor, queues=queues))
    _print_link(link)
    return 0


def list_users(args: argparse.Namespace, settings: Settings) -> int:
    members = _with_accounts(settings, lambda a: a.list())
    if not members:
        print("No staff accounts yet: `securedesk init` creates the first admin.")
        return 0
    rows = [("NAME", "ROLE", "STATUS", "QUEUES", "CREATED", "ENROLLED")]
    for m in members:
        enrolled = utc_iso(m.enrolled_at)[:19] if m.enrolled_at else "-"
        rows.append((m.name, m.role.value, m.status, ",".join(m.queues) or "-", utc_iso(m.created_at)[:19], enrolled))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def disable_user(args: argparse.Namespace, settings: Settings) -> int:
    actor = operator_actor()
    member = _with_accounts(settings, lambda a: a.disable(args.name, actor=actor))
    print(f"Disabled {_describe(member)}; all its sessions have ended.")
    return 0


def change_role(args: argparse.Namespace, settings: Settings) -> int:
    actor = operator_actor()
    member = _with_accounts(settings, lambda a: a.set_role(args.name, Role.parse(args.role), actor=actor))
    print(f"Updated {_describe(member)}.")
    return 0


def change_queues(args: argparse.Namespace, settings: Settings) -> int:
    actor = operator_actor()
    member = _with_accounts(settings, lambda a: a.set_queues(args.name, args.queues.split(","), actor=actor))
    print(f"Updated {_describe(member)}.")
    return 0


def reissue_link(args: argparse.Namespace, settings: Settings) -> int:
    actor = operator_actor()
    link = _with_accounts(settings, lambda a: a.reissue_enrolment(args.name, actor=actor))
    _print_link(link)
    return 0
