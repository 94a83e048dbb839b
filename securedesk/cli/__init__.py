"""The ``securedesk`` command: one sub-command module per concept, registered in ``COMMAND_MODULES``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from securedesk import __version__
from securedesk.config import Settings
from securedesk.errors import SecureDeskError

#: Each module defines ``register(subparsers)``; a sub-command sets ``handler`` via ``set_defaults``.
COMMAND_MODULES: tuple[str, ...] = (
    "securedesk.cli.config_commands",
    "securedesk.cli.policy_commands",
    "securedesk.cli.audit_commands",
    "securedesk.cli.users_commands",
    "securedesk.cli.api_key_commands",
    "securedesk.cli.init_command",
    "securedesk.cli.vault_commands",
    "securedesk.cli.serve_command",
    "securedesk.cli.detection_commands",
)

Handler = Callable[[argparse.Namespace, Settings], int]


class _Subparsers(Protocol):
    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securedesk", description="PII-aware secure intake gateway.")
    parser.add_argument("--version", action="version", version=f"securedesk {__version__}")
    parser.add_argument("--config", type=Path, default=None, help="settings file (TOML); see the README")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(os.environ, args.config)
        handler: Handler = args.handler
        return handler(args, settings)
    except SecureDeskError as exc:
        print(f"securedesk: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``securedesk scan ... | head``): not an error worth a traceback.
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
