"""What SecureDesk's web stack adds per request: the real ``create_app`` (request id, access log, metrics, security
headers, size limit, error boundary) against a bare Starlette app serving the same endpoints, both called in process
through ASGI (no sockets, so only the stack itself is measured). Baseline measured in the same run.

    .venv/bin/python bench/web_stack.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.gateway.services import open_services
from securedesk.logging_setup import configure_logging
from securedesk.metrics import Metrics
from securedesk.vault import LocalKeyFile
from securedesk.web.app import create_app

ASGI = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
                Awaitable[None]]


def bare_app() -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Not found.", status_code=404)

    return Starlette(routes=[Route("/healthz", healthz)], exception_handlers={HTTPException: not_found})


async def call(app: ASGI, path: str) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"accept", b"application/json")],
        "server": ("127.0.0.1", 8443), "client": ("127.0.0.1", 50000), "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(app: ASGI, path: str, n: int) -> list[float]:
    for _ in range(min(200, n)):  # warm-up
        await call(app, path)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call(app, path)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(n: int) -> None:
    # The access log is written as it would be in production (JSON lines), to a buffer instead of a terminal.
    configure_logging("INFO", stream=io.StringIO())
    logging.getLogger("securedesk.services").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", key_dir=root / "keys", cert_dir=root / "certs")
        LocalKeyFile(settings.key_dir).add_version()
        async with open_services(settings, clock=SystemClock(), metrics=Metrics()) as services:
            ours = create_app(settings, services=services)
            bare = bare_app()
            print(f"requests per case: {n}\n")
            print(f"{'case':<34}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}{'req/s':>10}")
            rows = [
                ("bare Starlette  GET /healthz", bare, "/healthz"),
                ("SecureDesk      GET /healthz", ours, "/healthz"),
                ("bare Starlette  GET /missing 404", bare, "/missing"),
                ("SecureDesk      GET /missing 404", ours, "/missing"),
            ]
            results = {}
            for label, app, path in rows:
                samples = await measure(app, path, n)
                results[label] = samples
                mean = statistics.fmean(samples)
                p50, p99 = pct(samples, 0.5), pct(samples, 0.99)
                print(f"{label:<34}{p50:>10.1f}{p99:>10.1f}{mean:>10.1f}{1e6 / mean:>10.0f}")
            added = pct(results[rows[1][0]], 0.5) - pct(results[rows[0][0]], 0.5)
            added99 = pct(results[rows[1][0]], 0.99) - pct(results[rows[0][0]], 0.99)
            print(f"\nadded by the SecureDesk stack on /healthz: p50 {added:.1f} µs, p99 {added99:.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = parser.parse_args()
    asyncio.run(main(1_000 if args.quick else 10_000))
