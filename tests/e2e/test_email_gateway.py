"""The email channel end to end on loopback, in this process: a real SMTP client → the gateway's aiosmtpd → relay →
a real aiosmtpd sink. Real database, detector, vault, audit log, Screener and policy files (policies/ or written into
tmp_path); test_email_serve.py drives the same path through the ``securedesk serve`` subprocess. Only the internal
fault test makes the real Screener raise (``RaisingScreener``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "email"))
from email_leaks import find_leaks
from email_screening import STRICT_POLICY, RaisingScreener, open_screening, policy_without_auto_reply

from securedesk.channels.email import EmailGateway
from securedesk.channels.outbox.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.sensitive import Sensitive
from securedesk.storage import Database
from securedesk.vault.devcerts import ensure_dev_certificates
from securedesk.vault.vault import Vault

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]
VISA = "4111 1111 1111 1111"
SSN = "536-22-1847"
CANARIES = (VISA, "4111111111111111", SSN)
SERVED = "support@support.securedesk.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    """A real aiosmtpd server standing in for the help desk: records what it receives; can answer 4xx/5xx."""

    port: int
    received: list[Envelope] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # replies to DATA, consumed in order; then 250
    server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.attempts.append(time.monotonic())
        if self.answers:
            return self.answers.pop(0)
        self.received.append(envelope)
        return "250 2.0.0 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="sink.test", loop=loop), "127.0.0.1", self.port
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def wait_for(self, count: int, within: float = 10.0) -> list[Envelope]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"sink got {len(self.received)} messages, expected {count}")
            await asyncio.sleep(0.02)
        return self.received


@dataclass
class Running:
    gateway: EmailGateway
    settings: Settings
    db: Database
    screener: RaisingScreener
    vault: Vault

    @property
    def port(self) -> int:
        return self.gateway.ingress.port

    async def rows(self, sql: str, *params: Any) -> list[Any]:
        return [tuple(row) for row in await self.db.fetch_all(sql, params)]


Factory = Callable[..., Awaitable[Running]]


async def eventually(gw: Running, sql: str, *params: Any, within: float = 5.0) -> list[Any]:
    """The rows of ``sql`` once there are any (the relay records its alert just after the state change)."""
    deadline = time.monotonic() + within
    rows = await gw.rows(sql, *params)
    while not rows and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        rows = await gw.rows(sql, *params)
    return rows


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = Sink(free_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))


@pytest.fixture
async def make_gateway(tmp_path: Path, sink: Sink, detector: Detector) -> AsyncIterator[Factory]:
    """``make_gateway(**settings_changes)``: a started gateway on the real screening stack (``policy_path`` picks
    the policy file; default policies/default.toml)."""
    opened: list[Running] = []

    async def make(**overrides: Any) -> Running:
        settings = Settings(
            data_dir=tmp_path / "data",
            key_dir=tmp_path / "keys",
            cert_dir=tmp_path / "certs",
            policy_path=PROJECT / "policies" / "default.toml",
            smtp_host="127.0.0.1",
            smtp_port=0,
            downstream_smtp_host="127.0.0.1",
            downstream_smtp_port=sink.port,
            downstream_smtp_starttls=False,
            relay_initial_backoff_seconds=0.2,
            relay_max_backoff_seconds=0.8,
            relay_give_up_seconds=60.0,
            relay_poll_seconds=0.05,
            smtp_max_message_bytes=200_000,
            smtp_max_recipients=3,
        ).replace(**overrides)
        clock = SystemClock()
        db = await Database.open(settings.database_path)
        screening = await open_screening(
            settings, db, clock, detector=detector, policy_path=settings.policy_path, screener_class=RaisingScreener
        )
        if not isinstance(screening.screener, RaisingScreener):
            raise TypeError("open_screening ignored screener_class")
        gateway = EmailGateway(
            settings=settings,
            db=db,
            screener=screening.screener,
            policy=screening.policy,
            clock=clock,
            encryptor=screening.vault,
            audit=screening.audit,
        )
        await gateway.start()
        running = Running(gateway, settings, db, screening.screener, screening.vault)
        opened.append(running)
        return running

    yield make
    for running in opened:
        await running.gateway.stop()
        running.screener.close()
        await running.db.close()


def customer_email(*, message_id: str = "<case-1@example.com>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Customer <jane@example.com>"
    msg["To"] = SERVED
    msg["Subject"] = f"Ma carte {VISA}"
    msg["Message-ID"] = message_id
    msg.set_content(f"Bonjour, ma carte est {VISA} et mon SSN {SSN}.\n")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + b"4111111111111111", maintype="image", subtype="png", filename="c.png")
    return msg.as_bytes()


async def send(
    port: int, content: bytes, *, sender: str = "jane@example.com", rcpt: tuple[str, ...] = (SERVED,)
) -> tuple[dict[str, Any], str]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=20)
    async with client:
        errors, reply = await client.sendmail(sender, list(rcpt), content)
    return dict(errors), reply


async def raw_dialogue(port: int, lines: list[bytes]) -> list[bytes]:
    """Send exact bytes (no client library normalizing line endings) and collect each reply line. The socket is
    blocking, so it runs in a thread while the gateway answers on this event loop."""
    return await asyncio.to_thread(_raw_dialogue, port, lines)


def _raw_dialogue(port: int, lines: list[bytes], *, read_greeting: bool = True) -> list[bytes]:
    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        stream = sock.makefile("rb")
        if read_greeting:
            stream.readline()
        for chunk in lines:
            sock.sendall(chunk)
            if chunk.endswith(b"\r\n"):
                reply = stream.readline()
                while reply[3:4] == b"-":
                    replies.append(reply)
                    reply = stream.readline()
                replies.append(reply)
    return replies


# --- what the help desk receives ---------------------------------------------------------------------------


async def test_screened_message_reaches_the_sink_with_exact_redaction_and_headers(
    make_gateway: Factory, sink: Sink
) -> None:
    gw = await make_gateway()
    errors, reply = await send(gw.port, customer_email())
    assert errors == {}
    assert reply.startswith("2.0.0 Queued as SD-")
    received = await sink.wait_for(2)  # the screened message, and the nudge auto-reply to the customer
    [envelope] = [e for e in received if e.mail_from == "jane@example.com"]
    assert envelope.rcpt_tos == [SERVED]
    content = envelope.original_content
    assert isinstance(content, bytes)
    assert find_leaks(content, CANARIES) == []
    out = email.message_from_bytes(content, policy=email.policy.default)
    assert out["Subject"] == "Ma carte [CARD •••• 1111]"
    assert out["Message-ID"] == "<case-1@example.com>"
    assert out["X-SecureDesk-Screened"] == "entities=3; withheld=1"
    assert str(out["Authentication-Results"]).startswith("gateway.securedesk.test; x-securedesk=modified")
    parts = [p for p in out.walk() if not p.is_multipart()]
    assert parts[0].get_content().replace("\r\n", "\n") == (
        "Bonjour, ma carte est [CARD •••• 1111] et mon SSN [SSN •••• 1847].\n"
    )
    assert parts[1].get_content().startswith('SecureDesk quarantined an attachment "c.png" (image/png, 24 bytes)')
    # The case: masked body and the quarantine note; the outbox row delivered and emptied.
    [(subject, body, meta)] = await gw.rows(
        "SELECT c.subject, m.body, m.meta FROM cases c JOIN messages m ON m.case_id = c.id"
    )
    assert subject == "Ma carte [CARD •••• 1111]"
    assert body.startswith("Bonjour, ma carte est [CARD •••• 1111] et mon SSN [SSN •••• 1847].")
    withheld = json.loads(meta)["withheld"]
    assert [w["handling"] for w in withheld] == ["quarantine"]
    [(quarantine_id, blob)] = await gw.rows("SELECT id, content FROM email_quarantine")
    assert withheld[0]["quarantine_id"] == quarantine_id
    opened = gw.vault.decrypt_field(blob, table="email_quarantine", row_id=quarantine_id, column="content")
    assert opened == b"\x89PNG\r\n\x1a\n4111111111111111"
    await asyncio.sleep(0.1)
    states = await gw.rows("SELECT kind, state, length(content) FROM outbox ORDER BY kind")
    assert ("inbound", "delivered", 0) in states


async def test_nudge_auto_reply_goes_to_the_sender_once_per_hour_without_quoting(
    make_gateway: Factory, sink: Sink
) -> None:
    gw = await make_gateway()
    await send(gw.port, customer_email(message_id="<a@example.com>"))
    await send(gw.port, customer_email(message_id="<b@example.com>"))
    received = await sink.wait_for(3)
    await asyncio.sleep(0.3)
    replies = [e for e in sink.received if e.mail_from == "<>"]
    assert len(replies) == 1
    assert replies[0].rcpt_tos == ["jane@example.com"]
    reply = email.message_from_bytes(replies[0].original_content or b"", policy=email.policy.default)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<a@example.com>"
    assert reply["Content-Language"] == "fr"  # the customer wrote in French: the Screener detected it
    text = reply.get_content()
    assert text.startswith("Pour votre sécurité, nous avons retiré le numéro de votre message.")
    assert "Bonjour" not in text
    assert "carte" not in str(reply["Subject"]).lower() or str(reply["Subject"]).startswith("[SD-")
    assert len(received) == 3


async def test_mailing_list_and_automatic_mail_get_no_auto_reply(make_gateway: Factory, sink: Sink) -> None:
    gw = await make_gateway()
    for index, (name, value) in enumerate(
        [("List-Id", "<news.example.com>"), ("Auto-Submitted", "auto-generated"), ("Precedence", "bulk")]
    ):
        msg = email.message_from_bytes(customer_email(message_id=f"<l{index}@example.com>"))
        msg[name] = value
        await send(gw.port, msg.as_bytes(), sender=f"list{index}@example.com")
    await send(gw.port, customer_email(message_id="<bounce@example.com>"), sender="")
    await sink.wait_for(4)
    senders = [e.mail_from for e in sink.received]
    assert senders == ["list0@example.com", "list1@example.com", "list2@example.com", "<>"]
    assert await gw.rows("SELECT count(*) FROM outbox WHERE kind = 'autoreply'") == [(0,)]
    assert await gw.rows("SELECT count(*) FROM outbox WHERE kind = 'inbound'") == [(4,)]


async def test_duplicate_message_id_is_acknowledged_and_delivered_once(make_gateway: Factory, sink: Sink) -> None:
    gw = await make_gateway(smtp_max_recipients=3)
    first = await send(gw.port, customer_email(message_id="<dup@example.com>"))
    second = await send(gw.port, customer_email(message_id="<dup@example.com>"))
    assert first[1].startswith("2.0.0 Queued as SD-")
    assert second[1] == "2.0.0 Already queued"
    await sink.wait_for(1)
    await asyncio.sleep(0.5)
    assert [e.mail_from for e in sink.received].count("jane@example.com") == 1
    assert len(await gw.rows("SELECT id FROM cases")) == 1


# --- what the gateway refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outside",
    ["victim@example.org", "user%victim.org@support.securedesk.test", "user@support.securedesk.test.example.org"],
)
async def test_open_relay_attempts_get_550(make_gateway: Factory, sink: Sink, outside: str) -> None:
    gw = await make_gateway()
    replies = await raw_dialogue(
        gw.port,
        [
            b"EHLO client.test\r\n",
            b"MAIL FROM:<a@example.com>\r\n",
            f"RCPT TO:<{outside}>\r\n".encode(),
            b"DATA\r\n",
            b"QUIT\r\n",
        ],
    )
    assert b"550 5.7.1 Relaying denied: recipient is not served by this gateway\r\n" in replies
    assert b"503 Error: need RCPT command\r\n" in replies
    await asyncio.sleep(0.2)
    assert sink.received == []


async def test_too_many_recipients_get_452(make_gateway: Factory) -> None:
    gw = await make_gateway(smtp_max_recipients=2)
    lines = [b"EHLO c\r\n", b"MAIL FROM:<a@example.com>\r\n"]
    lines += [f"RCPT TO:<r{i}@support.securedesk.test>\r\n".encode() for i in range(3)]
    replies = await raw_dialogue(gw.port, [*lines, b"QUIT\r\n"])
    assert b"452 4.5.3 Too many recipients\r\n" in replies
    assert replies.count(b"250 2.1.5 Recipient OK\r\n") == 2


async def test_oversize_gets_552_before_the_body_and_during_data(make_gateway: Factory, sink: Sink) -> None:
    gw = await make_gateway(smtp_max_message_bytes=50_000)
    replies = await raw_dialogue(gw.port, [b"EHLO c\r\n", b"MAIL FROM:<a@example.com> SIZE=60000\r\n", b"QUIT\r\n"])
    assert b"250-SIZE 50000\r\n" in replies
    assert any(r.startswith(b"552") for r in replies)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:  # the client announces SIZE=…: 552 at MAIL
        await send(gw.port, b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000)
    assert refused.value.code == 552
    body = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000 + b".\r\n"
    replies = await raw_dialogue(
        gw.port,
        [
            b"EHLO c\r\n",
            b"MAIL FROM:<a@example.com>\r\n",
            b"RCPT TO:<support@support.securedesk.test>\r\n",
            b"DATA\r\n",
            body,
            b"QUIT\r\n",
        ],
    )
    assert b"552 Error: Too much mail data\r\n" in replies
    await asyncio.sleep(0.3)
    assert sink.received == []
    assert await gw.rows("SELECT id FROM outbox") == []


async def test_overlong_line_gets_500(make_gateway: Factory) -> None:
    gw = await make_gateway()
    body = b"Subject: long\r\n\r\n" + b"y" * 1200 + b"\r\n"
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(gw.port, body)
    assert caught.value.code == 500


SMUGGLING = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r\n.\n",
    b"\r.\r\n",
    b"\r\n.\r",
    b"\n.\r",
]


@pytest.mark.parametrize("terminator", SMUGGLING, ids=lambda t: repr(t))
async def test_smtp_smuggling_payloads_are_refused(make_gateway: Factory, sink: Sink, terminator: bytes) -> None:
    gw = await make_gateway()
    smuggled = (
        b"Subject: hi\r\n\r\nfirst" + terminator + b"MAIL FROM:<ceo@support.securedesk.test>\r\n"
        b"RCPT TO:<support@support.securedesk.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n"
    )
    replies = await raw_dialogue(
        gw.port,
        [
            b"EHLO c\r\n",
            b"MAIL FROM:<a@example.com>\r\n",
            b"RCPT TO:<support@support.securedesk.test>\r\n",
            b"DATA\r\n",
            smuggled + b".\r\n",
            b"QUIT\r\n",
        ],
    )
    assert b"554 5.6.0 Message refused: bare CR, or a lone dot line with a bare LF (SMTP smuggling)\r\n" in replies
    assert not any(r.startswith(b"250 2.0.0") for r in replies)
    await asyncio.sleep(0.3)
    assert sink.received == []
    assert await gw.rows("SELECT id FROM outbox") == []


async def test_internal_fault_replies_451_without_internal_text(
    make_gateway: Factory, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await make_gateway()
    gw.screener.error = RuntimeError(f"internal detail {VISA}")
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(gw.port, customer_email())
    assert (caught.value.code, caught.value.message) == (451, "4.3.0 Temporary failure, please try again later")
    assert await gw.rows("SELECT id FROM cases") == []  # the unfinished case was removed again
    gw.screener.error = None  # the sending server retries later: now it is screened and queued
    errors, reply = await send(gw.port, customer_email())
    assert (errors, reply[:19]) == ({}, "2.0.0 Queued as SD-")
    await sink.wait_for(2)


async def test_message_the_screener_holds_gets_451_and_is_never_delivered(make_gateway: Factory, sink: Sink) -> None:
    # Fail closed with nothing faked: a detection time limit no detection can meet makes the real Screener hold.
    gw = await make_gateway(detection_timeout_seconds=1e-9)
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(gw.port, customer_email())
    assert (caught.value.code, caught.value.message) == (
        451,
        "4.3.0 Message could not be screened, please try again later",
    )
    assert gw.screener.holds == 1
    assert await gw.rows("SELECT count(*) FROM cases") == [(0,)]
    assert await gw.rows("SELECT count(*) FROM outbox") == [(0,)]
    assert await gw.rows("SELECT action, outcome FROM audit_events WHERE action LIKE 'screening.%'") == [
        ("screening.hold", "error")
    ]
    await asyncio.sleep(0.3)
    assert sink.received == []


async def test_blocked_message_gets_550_and_a_localized_notice(make_gateway: Factory, sink: Sink) -> None:
    gw = await make_gateway(policy_path=STRICT_POLICY)  # cards and national IDs are refused on email
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(gw.port, customer_email())
    assert caught.value.code == 550
    assert caught.value.message.startswith("5.7.1 Message refused")
    [notice] = await sink.wait_for(1)
    assert notice.mail_from == "<>"
    assert notice.rcpt_tos == ["jane@example.com"]
    reply = email.message_from_bytes(notice.original_content or b"", policy=email.policy.default)
    assert reply["Content-Language"] == "fr"  # the customer wrote in French
    assert "Bonjour" not in reply.get_content()  # never quotes the original
    assert find_leaks(notice.original_content or b"", CANARIES) == []
    assert await gw.rows("SELECT state FROM messages") == [("blocked",)]
    assert await gw.rows("SELECT kind FROM outbox") == [("autoreply",)]


async def test_starttls_required_before_mail(make_gateway: Factory, sink: Sink, tmp_path: Path) -> None:
    ensure_dev_certificates(tmp_path / "certs", clock=SystemClock())
    gw = await make_gateway(smtp_require_starttls=True)
    replies = await raw_dialogue(gw.port, [b"EHLO c\r\n", b"MAIL FROM:<a@example.com>\r\n", b"QUIT\r\n"])
    assert b"250-STARTTLS\r\n" in replies
    assert b"530 Must issue a STARTTLS command first\r\n" in replies
    context = ssl.create_default_context(cafile=str(gw.settings.ca_cert_path))
    errors, _ = await aiosmtplib.send(
        customer_email(),
        sender="jane@example.com",
        recipients=[SERVED],
        hostname="localhost",
        port=gw.port,
        start_tls=True,
        tls_context=context,
        timeout=20,
    )
    assert errors == {}
    await sink.wait_for(1)


# --- the relay ---------------------------------------------------------------------------------------------


async def test_downstream_4xx_is_retried_with_the_configured_backoff(
    make_gateway: Factory, sink: Sink, tmp_path: Path
) -> None:
    sink.answers = ["451 4.3.0 busy"] * 4
    gw = await make_gateway(  # no auto-reply: one outbox entry, one attempt sequence
        relay_initial_backoff_seconds=0.2,
        relay_max_backoff_seconds=0.8,
        policy_path=policy_without_auto_reply(tmp_path),
    )
    await send(gw.port, customer_email())
    [envelope] = await sink.wait_for(1, within=15)
    assert envelope.mail_from == "jane@example.com"
    gaps = [b - a for a, b in zip(sink.attempts, sink.attempts[1:], strict=False)]
    expected = [0.2, 0.4, 0.8, 0.8]  # initial, doubled, then capped at the maximum
    assert len(gaps) == len(expected)
    for gap, wanted in zip(gaps, expected, strict=True):
        assert wanted - 0.02 <= gap <= wanted + 0.25, (gaps, expected)
    await asyncio.sleep(0.2)
    assert await gw.rows("SELECT attempts, state, last_error FROM outbox") == [(5, "delivered", None)]


async def test_downstream_down_then_up_delivers_once_and_restart_resumes(make_gateway: Factory, sink: Sink) -> None:
    await sink.stop()
    gw = await make_gateway(relay_initial_backoff_seconds=0.2, relay_max_backoff_seconds=0.4)
    await send(gw.port, customer_email())
    await asyncio.sleep(1.2)
    [(attempts, state, error)] = await gw.rows("SELECT attempts, state, last_error FROM outbox WHERE kind = 'inbound'")
    assert state == "pending"
    assert 2 <= attempts <= 5  # 0, 0.2, 0.6, 1.0 (+ scheduling slack)
    assert error.startswith("downstream unreachable")
    # Restart the gateway on the same database, then bring the downstream up: delivered exactly once.
    await gw.gateway.stop()
    await gw.db.close()
    await sink.start()
    gw2 = await make_gateway()
    await sink.wait_for(2)
    await asyncio.sleep(0.5)
    assert [e.mail_from for e in sink.received].count("jane@example.com") == 1
    assert await gw2.rows("SELECT state FROM outbox WHERE kind = 'inbound'") == [("delivered",)]


async def test_downstream_5xx_is_a_recorded_permanent_failure_with_an_alert(make_gateway: Factory, sink: Sink) -> None:
    sink.answers = ["550 5.7.1 no thanks"] * 2
    gw = await make_gateway()
    await send(gw.port, customer_email())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = await gw.rows("SELECT state, last_error, attempts FROM outbox WHERE kind = 'inbound'")
        if rows and rows[0][0] != "pending":
            break
        await asyncio.sleep(0.05)
    assert rows == [("failed", "downstream refused the message: smtp 550 5.7.1", 1)]
    [(entry_id,)] = await gw.rows("SELECT id FROM outbox WHERE kind = 'inbound'")
    events = await eventually(gw, "SELECT action, outcome, channel FROM audit_events WHERE target = ?", entry_id)
    assert events == [("email.relay_refused", "failure", "email")]


async def test_give_up_after_the_configured_lifetime_with_an_alert(make_gateway: Factory, sink: Sink) -> None:
    sink.answers = ["451 4.3.0 busy"] * 100
    gw = await make_gateway(relay_give_up_seconds=1.0, relay_initial_backoff_seconds=0.2)
    await send(gw.port, customer_email())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = await gw.rows("SELECT state FROM outbox WHERE kind = 'inbound'")
        if rows and rows[0][0] == "gave_up":
            break
        await asyncio.sleep(0.05)
    assert rows == [("gave_up",)]
    [(entry_id,)] = await gw.rows("SELECT id FROM outbox WHERE kind = 'inbound'")
    events = await eventually(gw, "SELECT action, outcome FROM audit_events WHERE target = ?", entry_id)
    assert events == [("email.relay_gave_up", "failure")]


class _WebhookReceiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 (one receiver per test, reset below)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


async def test_webhook_relay_posts_a_signed_json_envelope(make_gateway: Factory) -> None:
    _WebhookReceiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = "s" * 32
    try:
        gw = await make_gateway(
            webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook", webhook_secret=Sensitive(secret)
        )
        await send(gw.port, customer_email())
        deadline = time.monotonic() + 10
        while len(_WebhookReceiver.received) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110 (fed by a thread)
            await asyncio.sleep(0.05)
    finally:
        server.shutdown()
        thread.join(5)
    kinds = {}
    for headers, body in _WebhookReceiver.received:
        assert verify_signature(
            Sensitive(secret),
            timestamp=headers[TIMESTAMP_HEADER],
            body=body,
            signature=headers[SIGNATURE_HEADER],
            now=time.time(),
        )
        assert find_leaks(body, CANARIES) == []
        payload = json.loads(body)
        kinds[payload["kind"]] = payload
    inbound = kinds["inbound"]
    assert inbound["headers"]["Subject"] == "Ma carte [CARD •••• 1111]"
    assert inbound["screened"] == "entities=3; withheld=1"
    assert inbound["envelope"] == {"mail_from": "jane@example.com", "rcpt_to": [SERVED]}
