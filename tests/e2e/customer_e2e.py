"""Support for the customer-path end-to-end tests (tests/e2e/test_customer*.py, tests/e2e/browser/test_customer*.py):
a real aiosmtpd sink standing in for the help desk's SMTP server (the relay delivers the one-time codes there), the
``securedesk serve`` settings that point the relay at it, cases seeded through the real SMTP ingress, and an agent
enrolled and logged in over real TLS with real TOTP codes.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import smtplib
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pyotp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from e2e_harness import RunningServer, pick_free_port

SERVED = "support@support.securedesk.test"
PASSWORD = "a long and memorable agent passphrase"
HTML = {"Accept": "text/html"}
STEP = 30
_CODE = re.compile(r"\b([0-9]{6})\b")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class CodeSink:
    """The downstream SMTP server: keeps every message the relay hands over."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[tuple[str, ...], bytes]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=pick_free_port())

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            rcpts = tuple(str(r).lower() for r in envelope.rcpt_tos)
            self.messages.append((rcpts, bytes(envelope.original_content or b"")))
        return "250 2.0.0 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def codes_for(self, address: str) -> list[str]:
        """The one-time codes delivered to ``address``, oldest first."""
        codes = []
        with self.lock:
            messages = list(self.messages)
        for rcpts, content in messages:
            if address.lower() not in rcpts:
                continue
            message = email.message_from_bytes(content, policy=email.policy.default)
            if (
                "verification code" not in str(message["Subject"])
                and "code de vérification" not in str(message["Subject"])
                and "verifieringskod" not in str(message["Subject"])
            ):
                continue
            body = message.get_body(("plain",))
            assert body is not None
            match = _CODE.search(body.get_content())
            assert match is not None
            codes.append(match.group(1))
        return codes

    def wait_for_code(self, address: str, *, after: int, timeout: float = 20.0) -> str:
        """The code delivered to ``address`` once more than ``after`` codes have arrived there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = self.codes_for(address)
            if len(codes) > after:
                return codes[-1]
            time.sleep(0.05)
        raise AssertionError(f"no new code for {address} within {timeout}s")

    def subjects_for(self, address: str) -> list[str]:
        with self.lock:
            messages = list(self.messages)
        return [
            str(email.message_from_bytes(content, policy=email.policy.default)["Subject"])
            for rcpts, content in messages
            if address.lower() in rcpts
        ]


def customer_server_env(sink: CodeSink, smtp_port: int) -> dict[str, str]:
    """``serve`` relaying to the sink; every test client comes from 127.0.0.1, so the per-address limits are raised
    (they are proven exactly by the unit tests with a fixed clock)."""
    return {
        "SMTP_PORT": str(smtp_port),
        "DOWNSTREAM_SMTP_HOST": "127.0.0.1",
        "DOWNSTREAM_SMTP_PORT": str(sink.port),
        "DOWNSTREAM_SMTP_STARTTLS": "false",
        "RELAY_INITIAL_BACKOFF_SECONDS": "0.2",
        "RELAY_MAX_BACKOFF_SECONDS": "1",
        "RELAY_POLL_SECONDS": "0.1",
        "LOOKUP_CODES_PER_IP": "1000",
        "CALLBACKS_PER_IP": "1000",
        "LOOKUP_CODES_PER_IDENTIFIER": "20",
    }


@dataclass
class Database:
    """Read (and, to simulate time passing, age) the server's SQLite file from the test process."""

    server: RunningServer

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(str(self.server.settings.database_path), timeout=15)
        connection.row_factory = sqlite3.Row
        return connection

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with self.connect() as connection:
            return list(connection.execute(sql, params))

    def execute(self, sql: str, *params: Any) -> int:
        connection = self.connect()
        try:
            cursor = connection.execute(sql, params)
            connection.commit()
            return cursor.rowcount
        finally:
            connection.close()

    def case_of(self, sender: str, subject: str, timeout: float = 20.0) -> sqlite3.Row:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows(
                "SELECT cases.* FROM cases JOIN customers ON customers.id = cases.customer_id "
                "WHERE customers.email = ? AND cases.subject = ?",
                sender,
                subject,
            )
            if rows:
                return rows[0]
            time.sleep(0.05)
        raise AssertionError(f"no case for {sender} / {subject!r}")


def open_case(server: RunningServer, smtp_port: int, sender: str, subject: str, body: str) -> sqlite3.Row:
    """Send the email, then return the case row it opened."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SERVED
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="customer.example")
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo("customer.example")
        client.send_message(message)
    return Database(server).case_of(sender, subject)


class Authenticator:
    """The agent's authenticator app: pyotp on the enrolment secret; each 30-second step used once."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = int(time.time()) // STEP - 1

    def code(self) -> str:
        wanted = max(self.last_step + 1, int(time.time()) // STEP)
        while wanted > int(time.time()) // STEP:
            time.sleep(0.25)
        self.last_step = wanted
        return str(self.totp.at(wanted * STEP))


def enrolment_path(server: RunningServer, name: str, queues: str = "general") -> str:
    result = server.cli("users", "add", name, "--role", "agent", "--queues", queues)
    assert result.returncode == 0, result.stderr
    match = re.search(r"https://localhost:\d+(/enrol/\S+)", result.stdout)
    assert match is not None, result.stdout
    return match.group(1)


@dataclass
class Agent:
    """An agent logged in over TLS (httpx), with the CSRF token of the last page loaded."""

    client: httpx.Client
    authenticator: Authenticator
    csrf: str = ""
    pages: list[str] = field(default_factory=list)

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path, headers=HTML)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, headers=HTML)


def enrolled_agent(server: RunningServer, name: str) -> Agent:
    path = enrolment_path(server, name)
    client = server.client(follow_redirects=False)
    page = client.get(path, headers=HTML)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page.text)
    assert secret is not None
    authenticator = Authenticator(secret.group(1).replace(" ", ""))
    done = client.post(
        path, data={"password": PASSWORD, "password_confirm": PASSWORD, "code": authenticator.code()}, headers=HTML
    )
    assert done.status_code == 200, done.text[:500]
    login = client.post("/login", data={"name": name, "password": PASSWORD, "code": authenticator.code()}, headers=HTML)
    assert login.status_code == 303, login.status_code
    agent = Agent(client, authenticator)
    agent.get("/staff")
    return agent


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)
