"""Customer-path test support (fixtures in conftest.py): the real app (``create_app``) with real services on a
temporary SQLite database and key directory and a ``FixedClock``; customers and cases seeded through the cases
repository; one-time codes read back from the real outbox (what the relay would deliver); staff enrolled and logged in
through ``/login``. Import as ``from customer_support import ...``.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.customer.desk import CustomerDesk
from securedesk.gateway.services import Services
from securedesk.identity import Actor, Argon2Parameters, Role, StaffMember
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.cases import CaseRecord, SqliteCaseRepository, new_case_id, new_reference
from securedesk.web.customer_pages import customer_desk

FAST = Argon2Parameters("test", time_cost=1, memory_kib=1024, parallelism=1)
PASSWORD = "correct horse battery staple"
OPERATOR = Actor(name="cli:test", role="system", channel="cli")
HTML = {"Accept": "text/html,application/xhtml+xml"}
BASE_URL = "https://localhost"
BROWSER_COOKIE = "__Host-securedesk-browser"
LOOKUP_COOKIE = "__Host-securedesk-lookup"
VISA = "4111111111111111"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODE = re.compile(r"\b([0-9]{6})\b")
SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "permissions-policy",
    "x-frame-options",
)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)


def assert_protected_page(response: httpx.Response) -> None:
    """Every customer page: the security headers, no-store, no third-party resource in the HTML."""
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    if response.headers.get("content-type", "").startswith("text/html"):
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', response.text), "third-party resource"


@dataclass
class Customer:
    """A browser: its own cookie jar, and the CSRF token of the last page it loaded."""

    client: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        response = await self.client.get(path, headers={**HTML, **(headers or {})})
        if 'name="csrf_token"' in response.text:
            self.csrf = csrf_of(response.text)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None) -> httpx.Response:
        body = dict(data or {})
        body["csrf_token"] = self.csrf if csrf is None else csrf
        if csrf == "":
            del body["csrf_token"]
        return await self.client.post(path, data=body, headers=HTML)


@dataclass
class Staff:
    client: httpx.AsyncClient
    member: StaffMember
    secret: Sensitive
    csrf: str = ""

    async def get(self, path: str) -> httpx.Response:
        response = await self.client.get(path, headers=HTML)
        if 'name="csrf_token"' in response.text:
            self.csrf = csrf_of(response.text)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, headers=HTML)


@dataclass
class CustomerWeb:
    app: Starlette
    services: Services
    settings: Settings
    clock: FixedClock
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, ip: str = "203.0.113.7") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 50000))
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        self.clients.append(client)
        return client

    def browser(self, ip: str = "203.0.113.7") -> Customer:
        return Customer(self.client(ip))

    async def desk(self) -> CustomerDesk:
        return await customer_desk(_FakeConnection(self.app))  # type: ignore[arg-type]

    async def case(
        self, *, email_address: str | None = "jane@example.com", queue: str = "general", lang: str = "en"
    ) -> CaseRecord:
        cases = SqliteCaseRepository(self.services.database)
        now = self.clock.now()
        async with cases.transaction() as conn:
            customer_id = None
            if email_address is not None:
                customer_id = await cases.ensure_customer(conn, email=email_address, now=now)
            return await cases.insert_case(
                conn,
                CaseRecord(
                    id=new_case_id(),
                    reference=new_reference(),
                    channel="email",
                    created_at=now,
                    updated_at=now,
                    customer_id=customer_id,
                    queue=queue,
                    lang=lang,
                    subject="Billing",
                ),
            )

    async def codes_sent_to(self, address: str) -> list[str]:
        """The one-time codes in the outbox for ``address``, oldest first (what the relay would deliver: it opens the
        sealed entries with the vault)."""
        rows = await self.services.database.fetch_all(
            "SELECT id, rcpt_to, content, sealed FROM outbox WHERE kind = 'autoreply' ORDER BY created_at, rowid"
        )
        codes = []
        for row in rows:
            if address not in row["rcpt_to"]:
                continue
            content = bytes(row["content"])
            if row["sealed"]:
                content = self.services.vault.decrypt_field(content, table="outbox", row_id=row["id"], column="content")
            message = email.message_from_bytes(content, policy=email.policy.default)
            body = message.get_body(("plain",))
            assert body is not None
            match = _CODE.search(body.get_content())
            assert match is not None
            codes.append(match.group(1))
        return codes

    async def staff(self, name: str, role: Role = Role.AGENT, *, queues: tuple[str, ...] = ("general",)) -> Staff:
        identity = self.services.identity
        link = await identity.accounts.add(name, role, actor=OPERATOR, queues=queues)
        token = link.url.reveal().rsplit("/enrol/", 1)[1]
        challenge = await identity.enrolment.begin(token)
        member = await identity.enrolment.complete(
            token, Sensitive(PASSWORD), code_at(challenge.secret, self.clock.now())
        )
        client = self.client("198.51.100.20")
        self.clock.advance(30)
        response = await client.post(
            "/login",
            data={"name": name, "password": PASSWORD, "code": code_at(challenge.secret, self.clock.now()).reveal()},
            headers=HTML,
        )
        assert response.status_code == 303, response.status_code
        staff = Staff(client, member, challenge.secret)
        await staff.get("/staff")
        return staff

    def next_code(self, staff: Staff) -> str:
        self.clock.advance(30)
        return code_at(staff.secret, self.clock.now()).reveal()

    async def audit_actions(self) -> list[tuple[str, str, str, str]]:
        rows = await self.services.database.fetch_all(
            "SELECT action, actor, outcome, target FROM audit_events ORDER BY seq"
        )
        return [(r["action"], r["actor"], r["outcome"], r["target"]) for r in rows]


@dataclass
class _FakeConnection:
    """Just enough of an ``HTTPConnection`` for ``customer_desk``: the app (its state and services)."""

    app: Starlette
