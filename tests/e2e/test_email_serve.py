"""Email through the real ``securedesk serve`` subprocess: a real SMTP client → serve's aiosmtpd → the real Screener
(``Services.screener``) → outbox → relay → a real aiosmtpd sink on loopback in this process.

- what the sink receives is screened, and nothing of the canary is left in the database files or the DEBUG logs;
- open relay (550), oversize (552) and SMTP smuggling (554) are refused by the running server;
- downstream down, then up: retried at the configured backoff intervals, delivered once;
- durability: SIGKILL at random points during and after DATA, restart, and every message that got a 250 is
  delivered; duplicates are counted and stay within the relay's at-least-once bound (crashes × relay concurrency).
  The default run kills ``EMAIL_KILL_ITERATIONS`` = 20 times; the full run is
  ``EMAIL_KILL_ITERATIONS=100 .venv/bin/python -m pytest tests/e2e/test_email_serve.py -k sigkill -s``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import itertools
import os
import random
import signal
import smtplib
import socket
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from e2e_harness import RunningServer, pick_free_port, start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "email"))
from email_leaks import find_leaks
from email_screening import policy_without_auto_reply

from securedesk.channels.outbox.worker import DEFAULT_CONCURRENCY

pytestmark = pytest.mark.e2e

#: SIGKILL/restart rounds of the durability test: 20 in the default suite, 100 for the full run (see above).
KILL_ITERATIONS = int(os.environ.get("EMAIL_KILL_ITERATIONS", "20"))
KILL_SEED = 20270104
VISA = "4111 1111 1111 1111"
CANARIES = (VISA, "4111111111111111")
SERVED = "support@support.securedesk.test"


class SinkHandler:
    """The help desk: a real aiosmtpd server (in a thread) that records each message and when it arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[bytes] = []
        self.senders: list[str] = []
        self.arrivals: list[float] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.received.append(envelope.original_content or b"")
            self.senders.append(envelope.mail_from or "")
            self.arrivals.append(time.monotonic())
        return "250 2.0.0 OK"

    def contents(self) -> list[bytes]:
        with self.lock:
            return list(self.received)

    def message_ids(self) -> Counter[str]:
        return Counter(
            str(email.message_from_bytes(c, policy=email.policy.default)["Message-ID"] or "") for c in self.contents()
        )


class RunningSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = SinkHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class DownListener:
    """A downstream that is down: accepts each TCP connection and closes it before the greeting, recording when."""

    def __init__(self, port: int) -> None:
        self.attempts: list[float] = []
        self._socket = socket.create_server(("127.0.0.1", port))
        self._socket.settimeout(0.1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.attempts.append(time.monotonic())
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._socket.close()


@pytest.fixture
def sink() -> Iterator[RunningSink]:
    running = RunningSink(pick_free_port())
    running.start()
    yield running
    running.stop()


def gateway_env(sink_port: int, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        "SMTP_PORT": str(smtp_port),
        "DOWNSTREAM_SMTP_HOST": "127.0.0.1",
        "DOWNSTREAM_SMTP_PORT": str(sink_port),
        "DOWNSTREAM_SMTP_STARTTLS": "false",
        "RELAY_INITIAL_BACKOFF_SECONDS": "0.2",
        "RELAY_MAX_BACKOFF_SECONDS": "1",
        "RELAY_POLL_SECONDS": "0.1",
        **extra,
    }


def customer_email(message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.com>"
    msg["To"] = SERVED
    msg["Subject"] = f"card {VISA}"
    msg["Message-ID"] = message_id
    msg.set_content(f"My card is {VISA}.\n")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # smtplib sends bytes as they are


def wait_for_ids(sink: RunningSink, wanted: set[str], timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    seen = sink.handler.message_ids()
    while not wanted <= set(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = sink.handler.message_ids()
    return seen


def raw_dialogue(port: int, lines: list[bytes]) -> list[bytes]:
    """Send exact bytes (no client library normalizing line endings) and collect every reply line."""
    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        stream = sock.makefile("rb")
        stream.readline()  # greeting
        for chunk in lines:
            sock.sendall(chunk)
            if chunk.endswith(b"\r\n"):
                reply = stream.readline()
                while reply[3:4] == b"-":
                    replies.append(reply)
                    reply = stream.readline()
                replies.append(reply)
    return replies


def leaks_at_rest(server: RunningServer) -> list[str]:
    """Canary hits, in any encoding, in every file the stopped server left (database, WAL, SHM, keys, logs)."""
    hits: list[str] = []
    for path in sorted(p for p in server.root.rglob("*") if p.is_file()):
        hits += [f"{path.name}: {hit}" for hit in find_leaks(path.read_bytes(), CANARIES)]
    return hits


# --- screened and relayed ----------------------------------------------------------------------------------


def test_serve_screens_and_relays_to_the_sink_and_keeps_no_canary(tmp_path: Path, sink: RunningSink) -> None:
    smtp_port = pick_free_port()
    server = start_server(tmp_path / "gw", **gateway_env(sink.port, smtp_port, LOG_LEVEL="DEBUG"))
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            code, _banner = client.ehlo("client.test")
            assert code == 250
            refused = client.sendmail("jane@example.com", [SERVED], customer_email("<serve-1@example.com>"))
            assert refused == {}
        seen = wait_for_ids(sink, {"<serve-1@example.com>"}, timeout=20)
        assert seen["<serve-1@example.com>"] == 1
        [delivered] = [c for c in sink.handler.contents() if b"\r\nMessage-ID: <serve-1@example.com>\r\n" in c]
        assert find_leaks(delivered, CANARIES) == []
        out = email.message_from_bytes(delivered, policy=email.policy.default)
        assert out["Subject"] == "card [CARD •••• 1111]"
        assert out["X-SecureDesk-Screened"] == "entities=2; withheld=0"  # subject and body
        assert out.get_content() == "My card is [CARD •••• 1111].\r\n"  # the text as sent, line ends included
        # The nudge auto-reply goes to the customer through the same relay; it quotes nothing.
        deadline = time.monotonic() + 20
        while len(sink.handler.contents()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        [reply] = [c for c in sink.handler.contents() if b"Auto-Submitted: auto-replied" in c]
        assert email.message_from_bytes(reply, policy=email.policy.default)["Auto-Submitted"] == "auto-replied"
        assert find_leaks(reply, CANARIES) == []
    finally:
        server.assert_clean_exit()
    assert leaks_at_rest(server) == []


def test_a_number_in_the_sender_address_reaches_no_log_store_or_downstream(tmp_path: Path, sink: RunningSink) -> None:
    smtp_port = pick_free_port()
    server = start_server(tmp_path / "gw", **gateway_env(sink.port, smtp_port, LOG_LEVEL="DEBUG"))
    sender = "cust.378282246310005@example.org"
    msg = EmailMessage()
    msg["From"] = f"Customer <{sender}>"
    msg["To"] = SERVED
    msg["Subject"] = "Where is my refund?"
    msg["Message-ID"] = "<serve-sender@mail.test>"
    msg.set_content("Hello, my refund has not arrived.\n")
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            assert client.sendmail(sender, [SERVED], msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))) == {}
        seen = wait_for_ids(sink, {"<serve-sender@mail.test>"}, timeout=20)
        assert seen["<serve-sender@mail.test>"] == 1
        time.sleep(1.0)  # an auto-reply, if one were (wrongly) sent, would arrive by now
    finally:
        server.assert_clean_exit()
    canaries = ("378282246310005", "3782 822463 10005")
    assert len(sink.handler.contents()) == 1  # no auto-reply to an address that carries a number
    assert sink.handler.senders == ["<>"]  # relayed with the null reverse path, not the address
    assert find_leaks(sink.handler.contents()[0], canaries) == []
    hits = []
    for path in sorted(p for p in server.root.rglob("*") if p.is_file()):
        hits += [f"{path.name}: {hit}" for hit in find_leaks(path.read_bytes(), canaries)]
    assert hits == []
    logs = server.stdout() + server.stderr()
    assert "example.org" not in logs  # no customer address in the logs, even at DEBUG


# --- refused by the running server -------------------------------------------------------------------------

SMUGGLING = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r", b"\n.\r"]


def test_serve_refuses_open_relay_oversize_and_smuggling(tmp_path: Path, sink: RunningSink) -> None:
    smtp_port = pick_free_port()
    server = start_server(tmp_path / "gw", **gateway_env(sink.port, smtp_port, SMTP_MAX_MESSAGE_BYTES="50000"))
    try:
        for outside in ("victim@example.org", "user%victim.org@support.securedesk.test", "@relay:x@example.org"):
            replies = raw_dialogue(
                smtp_port,
                [
                    b"EHLO client.test\r\n",
                    b"MAIL FROM:<a@example.com>\r\n",
                    f"RCPT TO:<{outside}>\r\n".encode(),
                    b"DATA\r\n",
                    b"QUIT\r\n",
                ],
            )
            assert b"550 5.7.1 Relaying denied: recipient is not served by this gateway\r\n" in replies, outside
            assert b"503 Error: need RCPT command\r\n" in replies, outside

        replies = raw_dialogue(smtp_port, [b"EHLO c\r\n", b"MAIL FROM:<a@example.com> SIZE=60000\r\n", b"QUIT\r\n"])
        assert b"250-SIZE 50000\r\n" in replies
        assert any(r.startswith(b"552") for r in replies), replies
        big = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000 + b".\r\n"
        replies = raw_dialogue(
            smtp_port,
            [
                b"EHLO c\r\n",
                b"MAIL FROM:<a@example.com>\r\n",
                f"RCPT TO:<{SERVED}>\r\n".encode(),
                b"DATA\r\n",
                big,
                b"QUIT\r\n",
            ],
        )
        assert b"552 Error: Too much mail data\r\n" in replies

        for terminator in SMUGGLING:
            smuggled = (
                b"Subject: hi\r\n\r\nfirst" + terminator + b"MAIL FROM:<ceo@support.securedesk.test>\r\n"
                b"RCPT TO:<support@support.securedesk.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n"
            )
            replies = raw_dialogue(
                smtp_port,
                [
                    b"EHLO c\r\n",
                    b"MAIL FROM:<a@example.com>\r\n",
                    f"RCPT TO:<{SERVED}>\r\n".encode(),
                    b"DATA\r\n",
                    smuggled + b".\r\n",
                    b"QUIT\r\n",
                ],
            )
            assert (
                b"554 5.6.0 Message refused: bare CR, or a lone dot line with a bare LF (SMTP smuggling)\r\n" in replies
            ), terminator
            assert not any(r.startswith(b"250 2.0.0") for r in replies), terminator

        # A proper message on the same server still goes through, and is the only thing the sink ever got.
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            client.sendmail("jane@example.com", [SERVED], customer_email("<after@example.com>"))
        wait_for_ids(sink, {"<after@example.com>"}, timeout=20)
        time.sleep(0.5)
        subjects = [
            str(email.message_from_bytes(c, policy=email.policy.default)["Subject"]) for c in sink.handler.contents()
        ]
        assert "card [CARD •••• 1111]" in subjects
        assert not any(s in ("big", "hi", "smuggled") for s in subjects), subjects
    finally:
        server.assert_clean_exit()


# --- the relay ---------------------------------------------------------------------------------------------


def test_downstream_down_then_up_is_retried_at_the_configured_backoff_and_delivered_once(tmp_path: Path) -> None:
    downstream_port, smtp_port = pick_free_port(), pick_free_port()
    initial, maximum = 0.4, 1.6
    env = gateway_env(
        downstream_port,
        smtp_port,
        RELAY_INITIAL_BACKOFF_SECONDS=str(initial),
        RELAY_MAX_BACKOFF_SECONDS=str(maximum),
        RELAY_POLL_SECONDS="0.05",
        POLICY_PATH=str(policy_without_auto_reply(tmp_path)),  # one outbox entry: one sequence of attempts
    )
    down = DownListener(downstream_port)
    server = start_server(tmp_path / "gw", **env)
    sink = RunningSink(downstream_port)
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            client.sendmail("jane@example.com", [SERVED], customer_email("<down-up@example.com>"))
        deadline = time.monotonic() + 20
        while len(down.attempts) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        down.stop()
        sink.start()
        seen = wait_for_ids(sink, {"<down-up@example.com>"}, timeout=20)
        time.sleep(1.0)  # anything sent twice would arrive now
        seen = sink.handler.message_ids()
    finally:
        down.stop()
        sink.stop()
        server.assert_clean_exit()
    attempts = [*down.attempts, *sink.handler.arrivals]
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(attempts)]
    expected = [initial, 2 * initial, maximum, maximum, maximum]  # doubled from the first, then capped
    assert len(down.attempts) == 5, gaps
    assert len(gaps) == len(expected), gaps
    for gap, wanted in zip(gaps, expected, strict=True):
        assert wanted - 0.05 <= gap <= wanted + 0.5, (gaps, expected)
    assert seen == Counter({"<down-up@example.com>": 1})
    assert find_leaks(sink.handler.contents()[0], CANARIES) == []


# --- durability --------------------------------------------------------------------------------------------


def _send_until_stopped(port: int, prefix: str, acknowledged: list[str], stop: threading.Event) -> None:
    counter = 0
    while not stop.is_set():
        message_id = f"<{prefix}-{counter}@example.com>"
        counter += 1
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("jane@example.com", [SERVED], customer_email(message_id))
                acknowledged.append(message_id)  # sendmail returned: the server answered 250 to DATA
        except (smtplib.SMTPException, OSError):
            time.sleep(0.02)


def test_sigkill_during_and_after_data_loses_no_acknowledged_message(tmp_path: Path, sink: RunningSink) -> None:
    rng = random.Random(KILL_SEED)
    root = tmp_path / "gw"
    smtp_port = pick_free_port()
    env = gateway_env(sink.port, smtp_port)
    acknowledged: list[str] = []
    started = time.monotonic()
    for iteration in range(KILL_ITERATIONS):
        server = start_server(root, init=iteration == 0, **env)
        stop = threading.Event()
        sender = threading.Thread(
            target=_send_until_stopped, args=(smtp_port, f"kill{iteration}", acknowledged, stop), daemon=True
        )
        sender.start()
        time.sleep(rng.uniform(0.05, 1.0))
        server.stop(signal.SIGKILL)
        stop.set()
        sender.join(15)
    final = start_server(root, init=False, **env)
    try:
        wanted = set(acknowledged)
        seen = wait_for_ids(sink, wanted, timeout=120)
        time.sleep(1.0)  # deliveries still in flight
        seen = sink.handler.message_ids()
        inbound = Counter({mid: n for mid, n in seen.items() if mid.startswith("<kill")})
        missing = sorted(wanted - set(inbound))
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        leaked = sum(1 for content in sink.handler.contents() if find_leaks(content, CANARIES))
        print(
            f"\nSIGKILL durability: {KILL_ITERATIONS} kills in {time.monotonic() - started:.0f}s, "
            f"{len(wanted)} acknowledged (250), {len(inbound)} distinct delivered "
            f"({len(inbound) - len(wanted & set(inbound))} committed but killed before the 250 reached the client), "
            f"{sum(seen.values())} deliveries, {len(missing)} missing, {duplicates} duplicate deliveries "
            f"(bound {KILL_ITERATIONS * DEFAULT_CONCURRENCY})"
        )
        assert wanted, "no message was acknowledged: the test did not exercise anything"
        assert missing == []
        assert duplicates <= KILL_ITERATIONS * DEFAULT_CONCURRENCY
        assert leaked == 0
    finally:
        final.assert_clean_exit()
    # One case per committed message; cases opened by a process killed before its commit were removed at restart.
    with contextlib.closing(sqlite3.connect(f"file:{final.settings.database_path}?mode=ro", uri=True)) as db:
        [(unfinished,)] = db.execute(
            "SELECT count(*) FROM cases c WHERE channel = 'email'"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id)"
        ).fetchall()
        [(cases,)] = db.execute("SELECT count(*) FROM cases WHERE channel = 'email'").fetchall()
        [(queued,)] = db.execute("SELECT count(*) FROM outbox WHERE kind = 'inbound'").fetchall()
    assert unfinished == 0
    assert cases == queued
