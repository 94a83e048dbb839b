"""Staff web test support (the fixtures are in conftest.py): the real app (``create_app``) with real services on a
temporary SQLite database and key directory, a fixed clock, cheap argon2 parameters, and helpers to enrol staff and
log them in through ``/login``. Import it as ``from staff_support import ...`` (unique name: every test folder has a
conftest).

The ``staff_web`` fixture gives a ``StaffWeb``: ``enrol(name, role)`` creates and enrols an account directly
(returning its TOTP secret), ``login(member)`` logs in through the web form with a fresh client (its own cookie jar)
and returns a ``StaffClient`` holding the client and the page's CSRF token. The clock is moved one TOTP step (30 s)
before each code, because each step is accepted once per account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.gateway.services import Services
from securedesk.identity import Actor, Argon2Parameters, Role, StaffMember
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive

FAST = Argon2Parameters("test", time_cost=1, memory_kib=1024, parallelism=1)
PASSWORD = "correct horse battery staple"
OPERATOR = Actor(name="cli:test", role="system", channel="cli")
HTML = {"Accept": "text/html,application/xhtml+xml"}
BASE_URL = "https://localhost"
SESSION_COOKIE = "__Host-securedesk"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)


@dataclass
class Member:
    member: StaffMember
    secret: Sensitive
    password: str = PASSWORD

    @property
    def name(self) -> str:
        return self.member.name


@dataclass
class StaffClient:
    client: httpx.AsyncClient
    member: Member | None
    csrf: str = ""

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE)

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        body = dict(data or {})
        if csrf and self.csrf:
            body.setdefault("csrf_token", self.csrf)
        return await self.client.post(path, data=body, headers=HTML)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=HTML)


@dataclass
class StaffWeb:
    app: Starlette
    services: Services
    settings: Settings
    clock: FixedClock
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 50000))
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def next_code(self, member: Member) -> str:
        """A code for the next TOTP step (the clock moves 30 s: each step is accepted once)."""
        self.clock.advance(30)
        return code_at(member.secret, self.clock.now()).reveal()

    async def enrol(self, name: str, role: Role = Role.AGENT, *, queues: tuple[str, ...] = ()) -> Member:
        identity = self.services.identity
        link = await identity.accounts.add(name, role, actor=OPERATOR, queues=queues)
        token = link.url.reveal().rsplit("/enrol/", 1)[1]
        challenge = await identity.enrolment.begin(token)
        member = await identity.enrolment.complete(
            token, Sensitive(PASSWORD), code_at(challenge.secret, self.clock.now())
        )
        return Member(member, challenge.secret)

    async def login(self, member: Member, *, client: httpx.AsyncClient | None = None) -> StaffClient:
        """Log ``member`` in through the form; the returned client holds the session cookie and a CSRF token."""
        client = client if client is not None else self.client()
        response = await client.post(
            "/login",
            data={"name": member.name, "password": member.password, "code": self.next_code(member)},
            headers=HTML,
        )
        if response.status_code != 303:
            raise AssertionError(f"login of {member.name} failed: {response.status_code}")
        staff = StaffClient(client, member)
        page = await staff.get("/staff")
        staff.csrf = csrf_of(page.text)
        return staff

    def anonymous(self) -> StaffClient:
        return StaffClient(self.client(), None)

    async def audit_actions(self) -> list[tuple[str, str, str, str | None, str]]:
        """(action, actor, outcome, reason, target) of every audit event, oldest first."""
        rows = await self.services.database.fetch_all(
            "SELECT action, actor, outcome, reason, target FROM audit_events ORDER BY seq"
        )
        return [(r["action"], r["actor"], r["outcome"], r["reason"], r["target"]) for r in rows]
