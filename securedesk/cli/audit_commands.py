"""``securedesk audit checkpoint|verify|search|export|public-key``: the compliance tools for the audit log.

``verify`` exits 0 when the chain (or an exported file) is intact, 1 when it is tampered with, 2 on usage or other
errors. Searches and exports from the CLI are themselves audited, as actor ``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securedesk.audit import (
    AuditEvent,
    AuditFilters,
    AuditLog,
    Page,
    VerifyReport,
    checkpoint_to_json,
    parse_checkpoint,
    verify_export,
)
from securedesk.audit.export import EXPORT_FORMATS
from securedesk.audit.reasons import ReasonScreen as ReasonScreen  # re-exported for users and init
from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.errors import ConfigError, InvalidInput
from securedesk.storage import Database
from securedesk.vault.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, VerifyKey

EXIT_OK = 0
EXIT_TAMPERED = 1


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="checkpoint, verify, search and export the audit log")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    checkpoint = sub.add_parser("checkpoint", help="sign the current head of the chain and print it as JSON")
    checkpoint.add_argument("--out", type=Path, help="also write the checkpoint to FILE (keep it off this server)")
    checkpoint.set_defaults(handler=checkpoint_command)

    verify = sub.add_parser(
        "verify", help="walk the chain (or an exported file) and name the first bad event; exit 1 if tampered"
    )
    verify.add_argument("--checkpoint", type=Path, help="a checkpoint file from `audit checkpoint` to verify against")
    verify.add_argument("--export", type=Path, help="verify this exported CSV/JSONL file offline (no database)")
    verify.add_argument(
        "--public-key",
        type=Path,
        help=f"trusted public key (PEM); default: {PUBLIC_KEY_FILE} or the signing key in the key directory",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=verify_command)

    search = sub.add_parser("search", help="search events (the search itself is audited)")
    _add_filter_arguments(search)
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--page-size", type=int, default=50)
    search.add_argument("--as-of", type=int, help="pin results to events up to this sequence (from a first page)")
    search.add_argument("--json", action="store_true", help="print one JSON object per event")
    search.set_defaults(handler=search_command)

    export = sub.add_parser("export", help="export matching events with a signed checkpoint (audited)")
    _add_filter_arguments(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    export.add_argument("--out", type=Path, help="write to FILE (mode 0600) instead of standard output")
    export.set_defaults(handler=export_command)

    public_key = sub.add_parser("public-key", help="print the checkpoint public key (PEM) for offline verifiers")
    public_key.add_argument("--out", type=Path)
    public_key.set_defaults(handler=public_key_command)


def _timestamp(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor")
    parser.add_argument("--action", help="exact (auth.login) or a prefix (auth.*)")
    parser.add_argument("--target")
    parser.add_argument("--outcome", choices=("success", "failure", "denied", "error"))
    parser.add_argument("--since", type=_timestamp, help="ISO 8601 (UTC unless an offset is given), inclusive")
    parser.add_argument("--until", type=_timestamp, help="ISO 8601, exclusive")


def _filters(args: argparse.Namespace) -> AuditFilters:
    return AuditFilters(
        actor=args.actor,
        action=args.action,
        target=args.target,
        outcome=args.outcome,
        since=args.since,
        until=args.until,
    )


def cli_actor() -> str:
    """``cli:<os user>``, from the process's user id (not the environment)."""
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = f"uid{os.getuid()}"
    return f"cli:{name}"


_ReasonScreen = ReasonScreen  # the name users_commands and init_command import; prefer ReasonScreen(settings)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the {what} {path}: {exc.strerror}.") from exc


def _write(path: Path, data: bytes, *, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path}: {exc.strerror}.") from exc


async def _open_database(settings: Settings, *, must_exist: bool) -> Database:
    if must_exist and not settings.database_path.exists():
        raise ConfigError(f"There is no database at {settings.database_path}.", hint="check data_dir / db_path")
    return await Database.open(settings.database_path)


def _trusted_key(args: argparse.Namespace, settings: Settings, *, required: bool) -> VerifyKey | None:
    if args.public_key is not None:
        return VerifyKey.load_file(args.public_key)
    has_key = (settings.key_dir / PRIVATE_KEY_FILE).exists() or (settings.key_dir / PUBLIC_KEY_FILE).exists()
    if has_key or required:
        return VerifyKey.load(settings.key_dir)
    return None


# --- handlers ------------------------------------------------------------------------------------------------


def checkpoint_command(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> str:
        db = await _open_database(settings, must_exist=False)
        try:
            log = AuditLog.from_settings(settings, db, SystemClock(), ReasonScreen(settings))
            return checkpoint_to_json(await log.checkpoint())
        finally:
            await db.close()

    text = asyncio.run(run())
    if args.out is not None:
        _write(args.out, text.encode("utf-8"), mode=0o644)
    sys.stdout.write(text)
    return EXIT_OK


def _print_report(report: VerifyReport, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(report), indent=2))
        return
    print(report.summary())
    if not report.ok:
        print(f"  first bad event: {report.first_bad_sequence}")
        print(f"  problem:         {report.problem}")
    print(
        f"  events checked:  {report.events_checked} ({report.first_sequence}..{report.last_sequence})"
        + (f", {report.elided} elided" if report.elided else "")
    )
    for note in report.notes:
        print(f"  note: {note}")


def verify_command(args: argparse.Namespace, settings: Settings) -> int:
    extra = (
        [
            parse_checkpoint(
                _read(args.checkpoint, "checkpoint file").decode("utf-8", "replace"),
                source=f"checkpoint file {args.checkpoint}",
            )
        ]
        if args.checkpoint is not None
        else []
    )
    if args.export is not None:
        key = _trusted_key(args, settings, required=True)
        if key is None:  # pragma: no cover - required=True raises instead
            raise ConfigError("No trusted public key.")
        report = verify_export(_read(args.export, "export file"), key, extra_checkpoints=extra)
    else:

        async def run() -> VerifyReport:
            key = _trusted_key(args, settings, required=bool(extra))
            db = await _open_database(settings, must_exist=True)
            try:
                log = AuditLog(db, SystemClock(), ReasonScreen(settings), verify_key=key)
                return await log.verify(extra[0] if extra else None)
            finally:
                await db.close()

        report = asyncio.run(run())
    _print_report(report, as_json=args.json)
    return EXIT_OK if report.ok else EXIT_TAMPERED


def _event_line(event: AuditEvent) -> str:
    origin = event.origin_ip or "-"
    reason = f"  reason: {event.reason}" if event.reason else ""
    return (
        f"{event.seq:>8}  {event.time}  {event.actor:<20}  {event.role:<10}  {event.channel:<6}  {origin:<15}  "
        f"{event.action:<22}  {event.outcome:<7}  {event.target}{reason}"
    )


def search_command(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        db = await _open_database(settings, must_exist=True)
        try:
            log = AuditLog(db, SystemClock(), ReasonScreen(settings))
            page = await log.search(
                _filters(args),
                Page(args.page, args.page_size, args.as_of),
                actor=cli_actor(),
                role="operator",
                channel="cli",
            )
        finally:
            await db.close()
        if args.json:
            for event in page.events:
                print(json.dumps(event.as_dict(), ensure_ascii=False))
        else:
            for event in page.events:
                print(_event_line(event))
        print(
            f"page {page.number} of {page.pages}, {page.total} events (as of event {page.as_of}; "
            f"pass --as-of {page.as_of} for further pages)",
            file=sys.stderr,
        )
        return EXIT_OK

    return asyncio.run(run())


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        db = await _open_database(settings, must_exist=True)
        try:
            log = AuditLog.from_settings(settings, db, SystemClock(), ReasonScreen(settings))
            export = await log.export(_filters(args), args.format, actor=cli_actor(), role="operator", channel="cli")
        finally:
            await db.close()
        if args.out is not None:
            _write(args.out, export.content, mode=0o600)
        else:
            sys.stdout.buffer.write(export.content)
            sys.stdout.flush()
        print(
            f"exported {export.matched} events ({export.rows} rows) with a checkpoint at event "
            f"{export.checkpoint.sequence}; verify with `securedesk audit verify --export FILE`",
            file=sys.stderr,
        )
        return EXIT_OK

    return asyncio.run(run())


def public_key_command(args: argparse.Namespace, settings: Settings) -> int:
    key = VerifyKey.load(settings.key_dir)
    pem = key.to_pem()
    if args.out is not None:
        _write(args.out, pem, mode=0o644)
    sys.stdout.write(pem.decode("ascii"))
    print(f"key id {key.key_id}", file=sys.stderr)
    return EXIT_OK
