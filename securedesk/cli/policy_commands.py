"""``securedesk policy check|show``: validate policy files with every problem located, and print resolved rules."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from securedesk.config import Settings
from securedesk.errors import PolicyError
from securedesk.policy import ATTACHMENT_CLASSES, CHANNELS, ENTITY_TYPES, ROLES, load_policy


def register(subparsers: Any) -> None:
    policy = subparsers.add_parser("policy", help="check and inspect screening policies")
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    check = policy_sub.add_parser(
        "check", help="validate policy files; print every problem with file:line and a fix (exit 1 if any)"
    )
    check.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="policy files (default: the policy_path setting)"
    )
    check.set_defaults(handler=check_policies)
    show = policy_sub.add_parser("show", help="print the rule every entity type gets on every channel")
    show.add_argument("file", nargs="?", type=Path, metavar="FILE", help="policy file (default: policy_path)")
    show.set_defaults(handler=show_policy)


def check_policies(args: argparse.Namespace, settings: Settings) -> int:
    files: list[Path] = args.files or [settings.policy_path]
    failed = False
    for path in files:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            failed = True
            for problem in exc.problems or [str(exc)]:
                print(problem)
        else:
            print(f"{path}: OK ({policy.rule_count} rules)")
    return 1 if failed else 0


def show_policy(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file or settings.policy_path
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems or [str(exc)]:
            print(problem)
        return 1
    print(f"policy {policy.name!r} from {policy.source} (sha256 {policy.digest})")
    header = ("entity", "channel", "action", "threshold", "retention", "reveal", "nudge")
    rows = [
        (
            entity,
            channel,
            rule.action.value,
            f"{rule.threshold:.2f}",
            f"{rule.retention_days}d",
            ",".join(role for role in ROLES if role in rule.reveal_roles) or "-",
            "yes" if rule.nudge else "no",
        )
        for entity in ENTITY_TYPES
        for channel in CHANNELS
        for rule in (policy.rule(entity, channel),)
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    # Allow-listed values are public, but there is no reason to print them: counts only.
    counts = [f"{entity} {len(policy.allow_values.get(entity, ()))}" for entity in ENTITY_TYPES]
    print(f"allow-listed values: {', '.join(counts)}")
    attachments = ", ".join(f"{c}={policy.email.attachments.for_class(c).value}" for c in ATTACHMENT_CLASSES)
    print(f"email: auto_reply {'on' if policy.email.auto_reply else 'off'}; attachments {attachments}")
    return 0
