"""``securedesk serve``: initialize a fresh installation on the spot, then run the gateway until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from securedesk.cli.init_command import run_init
from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.logging_setup import configure_logging
from securedesk.vault import devcerts


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the gateway: HTTPS app, metrics listener and background services, in one process",
        description=(
            "Runs `securedesk init` first when the database does not exist yet; renews the development certificate "
            "when it is due. Stops gracefully on SIGTERM or Ctrl+C; SIGHUP reloads what supports reloading."
        ),
    )
    serve.set_defaults(handler=serve_gateway)


def needs_init(settings: Settings) -> bool:
    """A fresh installation: no database yet. An existing one is never re-initialized here (a missing KEK must
    stop the server, not be replaced by a new key that cannot open the data)."""
    return not settings.database_path.exists()


async def prepare(settings: Settings, *, clock: Clock, echo: Callable[[str], None]) -> None:
    """``init`` on a fresh installation; otherwise only keep the development certificate valid."""
    if needs_init(settings):
        echo("First start: running `securedesk init`.")
        await run_init(settings, clock=clock, echo=lambda line: echo(f"  {line}"))
        return
    certificates = devcerts.ensure_for_settings(settings, clock=clock)
    kept = (devcerts.CertAction.KEPT, devcerts.CertAction.KEPT)
    if certificates is not None and (certificates.ca_action, certificates.server_action) != kept:
        echo(f"TLS certificates: {devcerts.describe(certificates, settings)}")


def serve_gateway(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the server pulls in uvicorn, Starlette and the email channel, which no other command needs.
    from securedesk.server import run_gateway

    configure_logging(settings.log_level)
    clock = SystemClock()

    async def prepare_and_run() -> int:
        await prepare(settings, clock=clock, echo=lambda line: print(line, flush=True))
        return await run_gateway(settings, clock=clock)

    return asyncio.run(prepare_and_run())
