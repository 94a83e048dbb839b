"""The customer paths through the real ``create_app`` with real services (SQLite with ``synchronous=FULL``, the vault,
the audit log, the Screener), called in process through ASGI: what a customer waits for on each step, and whether a
known and an unknown address can be told apart by timing (the no-enumeration promise). The baseline, measured in the
same run, is the plain lookup page (``GET /lookup``). Times are taken when the last body byte is sent (the code email
is queued after that, as with a real client).

    .venv/bin/python bench/customer_paths.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette

from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.gateway.services import open_services
from securedesk.identity import Argon2Parameters, PasswordHasher
from securedesk.metrics import Metrics
from securedesk.storage.cases import CaseRecord, SqliteCaseRepository, new_case_id, new_reference
from securedesk.vault import LocalKeyFile
from securedesk.web.app import create_app
from securedesk.web.customer_pages import customer_desk

PROJECT = Path(__file__).resolve().parents[1]
_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    seconds: float  # until the last body byte


async def request(app: Starlette, method: str, path: str, *, cookie: str = "", form: dict[str, str] | None = None,
                  ip: str = "192.0.2.10") -> Answer:
    path, _, query = path.partition("?")
    body = urlencode(form or {}).encode()
    headers = [(b"host", b"localhost:8443"), (b"accept", b"text/html")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if method == "POST":
        headers += [(b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query.encode(),
        "headers": headers, "server": ("127.0.0.1", 8443), "client": (ip, 50000), "state": {}, "app": app,
    }
    sent = False
    answer = Answer(0, [], b"", 0.0)
    started = time.perf_counter()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")
            if not message.get("more_body", False):
                answer.seconds = time.perf_counter() - started

    await app(scope, receive, send)
    return answer


class Browser:
    def __init__(self, app: Starlette, ip: str) -> None:
        self.app = app
        self.ip = ip
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    async def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            form = {**(form or {}), "csrf_token": self.csrf}
        answer = await request(self.app, method, path, cookie=cookie, form=form, ip=self.ip)
        for name, value in answer.headers:
            if name == b"set-cookie":
                key, _, rest = value.decode().partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        found = _CSRF.search(answer.body)
        if found:
            self.csrf = found.group(1).decode()
        return answer


def row(name: str, samples: list[float], baseline: float) -> str:
    ordered = sorted(samples)
    median = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"{name:<44} {len(samples):>5} {median:>10.2f} {p95:>10.2f} {median / baseline:>8.2f}x"


async def run(n: int) -> None:
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(
            data_dir=root / "data", key_dir=root / "keys", cert_dir=root / "certs",
            policy_path=PROJECT / "policies" / "default.toml",
            lookup_codes_per_identifier=10**6, lookup_codes_per_ip=10**6, callbacks_per_session=10**6,
            callbacks_per_number=10**6, callbacks_per_ip=10**6,
        )
        LocalKeyFile(settings.key_dir).add_version()
        clock = SystemClock()
        hasher = PasswordHasher(Argon2Parameters("bench", time_cost=1, memory_kib=1024, parallelism=1))
        async with open_services(settings, clock=clock, metrics=Metrics(process_metrics=False),
                                 hasher=hasher) as services:
            app = create_app(settings, clock=clock, services=services)
            cases = SqliteCaseRepository(services.database)
            async with cases.transaction() as conn:
                customer = await cases.ensure_customer(conn, email="jane@example.com", now=clock.now())
                case = await cases.insert_case(conn, CaseRecord(
                    id=new_case_id(), reference=new_reference(), channel="email", created_at=clock.now(),
                    updated_at=clock.now(), customer_id=customer))

            class Conn:
                def __init__(self, app: Starlette) -> None:
                    self.app = app

            desk = await customer_desk(Conn(app))  # type: ignore[arg-type]
            browser = Browser(app, "192.0.2.10")
            await browser.call("GET", "/lookup")
            results: dict[str, list[float]] = {key: [] for key in (
                "page", "known", "unknown", "verify_known", "verify_unknown", "form", "callback")}
            for _ in range(10):  # warm-up
                await browser.call("GET", "/lookup")
            for i in range(n):
                results["page"].append((await browser.call("GET", "/lookup")).seconds)
                order = ("known", "unknown") if i % 2 == 0 else ("unknown", "known")
                for kind in order:
                    address = "jane@example.com" if kind == "known" else f"nobody{i}@example.com"
                    start = await browser.call("POST", "/lookup", {"identifier": address})
                    if start.status != 303:
                        raise SystemExit(f"lookup answered {start.status}")
                    await asyncio.sleep(0)  # let the queued email go out before the next timing
                    wrong = await browser.call("POST", "/lookup/verify", {"code": "000000"})
                    results[kind].append(start.seconds)
                    results[f"verify_{kind}"].append(wrong.seconds)
                link = await desk.forms.create_request(case_id=case.id, kind="card", created_by="bench", lang="en")
                path = link.url.split("8443", 1)[1]
                await browser.call("GET", path)
                submitted = await browser.call("POST", path, {"card_number": "4111 1111 1111 1111"})
                results["form"].append(submitted.seconds)
                day = (datetime.now(tz=UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
                callback = await browser.call("POST", "/callback", {
                    "phone": f"06 12 34 {i // 100 % 100:02d} {i % 100:02d}", "phone_region": "FR", "date": day,
                    "start": "10:00", "end": "12:00", "time_zone": "Europe/Paris", "lang": "fr", "topic": ""})
                results["callback"].append(callback.seconds)
            baseline = statistics.median(results["page"]) * 1000
            print(f"{'operation (in process, ASGI)':<44} {'n':>5} {'median ms':>10} {'p95 ms':>10} {'vs base':>9}")
            print(row("GET /lookup (baseline: a page)", results["page"], baseline))
            print(row("POST /lookup, known address", results["known"], baseline))
            print(row("POST /lookup, unknown address (decoy)", results["unknown"], baseline))
            print(row("POST /lookup/verify wrong code, known", results["verify_known"], baseline))
            print(row("POST /lookup/verify wrong code, decoy", results["verify_unknown"], baseline))
            print(row("POST /forms/{token} card (seal+note+audit)", results["form"], baseline))
            print(row("POST /callback (validate+seal+audit)", results["callback"], baseline))
            start_ratio = statistics.median(results["known"]) / statistics.median(results["unknown"])
            verify_ratio = statistics.median(results["verify_known"]) / statistics.median(results["verify_unknown"])
            print(f"known/unknown median ratio: start {start_ratio:.3f}, wrong code {verify_ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    asyncio.run(run(40 if args.quick else 200))


if __name__ == "__main__":
    main()
