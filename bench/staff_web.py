"""What the staff web layer costs per request, in process (httpx's ASGI transport, no TLS), on a real SQLite database:
a login through ``POST /login`` beside ``Authenticator.login`` called directly (the baseline: argon2id at our
parameters, TOTP, session and audit event), and an authenticated page (session check + idle-clock write) and an
audited audit-log search beside ``GET /healthz`` (no session: the baseline), all measured in the same run.

    .venv/bin/python bench/staff_web.py [--quick] [--requests N] [--logins N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.gateway.services import Services, open_services
from securedesk.identity import Actor, Role
from securedesk.identity.totp import code_at
from securedesk.metrics import Metrics
from securedesk.sensitive import Sensitive
from securedesk.vault import LocalKeyFile
from securedesk.web.app import create_app

PASSWORD = "a reasonably long benchmark passphrase"  # noqa: S105 (a benchmark account)
OPERATOR = Actor("bench", "system", channel="cli")
HTML = {"Accept": "text/html"}
PROJECT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "default.toml"


async def _enrol(services: Services, clock: FixedClock, name: str, role: Role) -> Sensitive:
    link = await services.identity.accounts.add(name, role, actor=OPERATOR)
    token = link.url.reveal().rsplit("/", 1)[1]
    challenge = await services.identity.enrolment.begin(token)
    await services.identity.enrolment.complete(token, Sensitive(PASSWORD), code_at(challenge.secret, clock.now()))
    return challenge.secret


async def _timed(count: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(label: str, samples: list[float], baseline: list[float] | None) -> str:
    p50 = statistics.median(samples)
    p99 = sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]
    added = f"{p50 - statistics.median(baseline):+9.2f}" if baseline is not None else f"{'(baseline)':>9}"
    return f"{label:<50} {len(samples):>6} {p50:>9.2f} {p99:>9.2f} {added}"


async def run(requests: int, logins: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", key_dir=root / "keys", cert_dir=root / "certs",
                            policy_path=PROJECT_POLICY, session_idle_seconds=10**6, session_absolute_seconds=10**7)
        LocalKeyFile(settings.key_dir).add_version()
        clock = FixedClock()
        async with open_services(settings, clock=clock, metrics=Metrics(process_metrics=False)) as services:
            app = create_app(settings, clock=clock, services=services)
            agent_secret = await _enrol(services, clock, "bench-agent", Role.AGENT)
            officer_secret = await _enrol(services, clock, "bench-officer", Role.COMPLIANCE)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as client:

                def next_code(secret: Sensitive) -> str:
                    clock.advance(30)  # each TOTP step is accepted once per account
                    return code_at(secret, clock.now()).reveal()

                async def direct_login() -> None:
                    await services.identity.authenticator.login(
                        "bench-agent", Sensitive(PASSWORD), Sensitive(next_code(agent_secret))
                    )

                async def web_login() -> None:
                    response = await client.post("/login", headers=HTML, data={
                        "name": "bench-agent", "password": PASSWORD, "code": next_code(agent_secret)})
                    if response.status_code != 303:
                        raise SystemExit(f"login failed: {response.status_code}")

                # Alternated, so that the machine's load drifts over both alike (argon2 dominates both).
                direct: list[float] = []
                web: list[float] = []
                for _ in range(logins):
                    direct += await _timed(1, direct_login)
                    web += await _timed(1, web_login)

                await client.post("/login", headers=HTML, data={
                    "name": "bench-officer", "password": PASSWORD, "code": next_code(officer_secret)})
                page = await client.get("/compliance/audit", headers=HTML)
                csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

                async def healthz() -> None:
                    await client.get("/healthz")

                async def staff_page() -> None:
                    await client.get("/staff", headers=HTML)

                async def search() -> None:
                    await client.post("/compliance/audit", headers=HTML,
                                      data={"csrf_token": csrf, "action": "auth.*"})

                health = await _timed(requests, healthz)
                staff = await _timed(requests, staff_page)
                searches = await _timed(max(1, requests // 4), search)

    print(f"{'request (in process, ms)':<50} {'n':>6} {'p50':>9} {'p99':>9} {'added p50':>9}")
    print(_row("Authenticator.login (argon2id + TOTP + audit)", direct, None))
    print(_row("POST /login (form, throttle, cookie)", web, direct))
    print(_row("GET /healthz (no session)", health, None))
    print(_row("GET /staff (session check, page)", staff, health))
    print(_row("POST /compliance/audit (audited search, 50 rows)", searches, health))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--logins", type=int, default=20)
    args = parser.parse_args(argv)
    requests, logins = (40, 4) if args.quick else (args.requests, args.logins)
    asyncio.run(run(requests, logins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
