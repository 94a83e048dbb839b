"""``securedesk config show``: the effective settings, secrets masked."""

from __future__ import annotations

import argparse
from typing import Any

from securedesk.config import Settings
from securedesk.settings_reference import render_markdown


def register(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="inspect settings")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="print the effective settings with secrets masked")
    show.set_defaults(handler=show_settings)
    reference = config_sub.add_parser("reference", help="print the settings reference table (Markdown)")
    reference.set_defaults(handler=print_reference)


def show_settings(args: argparse.Namespace, settings: Settings) -> int:
    described = settings.describe()
    width = max(len(name) for name in described)
    for name, value in described.items():
        print(f"{name:<{width}}  {value}")
    return 0


def print_reference(args: argparse.Namespace, settings: Settings) -> int:
    print(render_markdown(), end="")
    return 0
