"""Email throughput and acceptance latency: SecureDesk's gateway versus a plain aiosmtpd relay, in the same run.

Both listen on loopback and hand every message to the same aiosmtpd sink. The gateway parses, screens with the real
Screener (one ``Screener.screen`` call per message: the real detector, policies/default.toml, the vault on a real key
file, one audit event per message), rebuilds, commits case + outbox (SQLite, synchronous=FULL) and answers 250; its
relay worker delivers afterwards. The baseline answers 250 after relaying the message to the sink itself,
unscreened. Each message carries a card number in its Subject and one every 50 lines of its body (10 KB: 3 cards,
1 MB: about 240). Reported per size: messages/s end to end (first DATA sent → last message at the sink) and the
p50/p99 acceptance latency (DATA sent → 250). Auto-replies to the sender are not counted.

    .venv/bin/python bench/email_gateway.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from securedesk.audit import AuditLog
from securedesk.audit.reasons import ReasonScreen
from securedesk.channels.email import EmailGateway
from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage import Database
from securedesk.vault import LocalKeyFile, Vault

PROJECT = Path(__file__).resolve().parents[1]

SERVED = "support@support.securedesk.test"
CONCURRENCY = 4


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.done = asyncio.Event()
        self.expected = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if envelope.mail_from not in ("", "<>"):  # the gateway's auto-replies (null sender) are not counted
            self.count += 1
            if self.count >= self.expected:
                self.done.set()
        return "250 2.0.0 OK"


class PlainRelay:
    """The baseline: aiosmtpd that forwards each message to the sink, unscreened, then answers 250."""

    def __init__(self, sink_port: int) -> None:
        self.sink_port = sink_port

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        await aiosmtplib.send(
            envelope.original_content or b"", sender=envelope.mail_from, recipients=envelope.rcpt_tos,
            hostname="127.0.0.1", port=self.sink_port, start_tls=False,
        )
        return "250 2.0.0 OK"


def make_email(size: int, index: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.com>"
    msg["To"] = SERVED
    msg["Subject"] = f"Order {index}: card 4111 1111 1111 1111"
    msg["Message-ID"] = f"<bench-{size}-{index}-{time.monotonic_ns()}@example.com>"
    card = "Hello, my card is 4111 1111 1111 1111 and my order is late. Please call me back today.\n"
    line = "My order has not arrived yet and nobody answers the phone; please call me back today.\n"
    lines = [card if n % 50 == 0 else line for n in range(max(1, size // len(line)))]
    msg.set_content("".join(lines))
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


async def serve(handler: Any) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench", data_size_limit=None, loop=loop), "127.0.0.1", 0
    )
    return server, int(server.sockets[0].getsockname()[1])


async def drive(port: int, messages: list[bytes], sink: Sink) -> tuple[float, list[float]]:
    """Send ``messages`` over CONCURRENCY connections; (seconds until the sink has them all, DATA→250 latencies)."""
    sink.count, sink.expected = 0, len(messages)
    sink.done.clear()
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def client() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=120)
        async with smtp:
            while not queue.empty():
                message = queue.get_nowait()
                await smtp.mail("jane@example.com")
                await smtp.rcpt(SERVED)
                started = time.perf_counter()
                await smtp.data(message)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    try:
        await asyncio.wait_for(sink.done.wait(), timeout=60)
    except TimeoutError:
        raise SystemExit(f"the sink got {sink.count} of {len(messages)} messages within 60 s") from None
    return time.perf_counter() - started, latencies


def p(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


async def main(quick: bool) -> None:
    sizes = [(10 * 1024, 60 if quick else 300), (1024 * 1024, 6 if quick else 30)]
    sink = Sink()
    sink_server, sink_port = await serve(sink)
    baseline_server, baseline_port = await serve(PlainRelay(sink_port))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), key_dir=Path(tmp) / "keys", cert_dir=Path(tmp) / "certs",
            policy_path=PROJECT / "policies" / "default.toml", smtp_host="127.0.0.1", smtp_port=0,
            downstream_smtp_host="127.0.0.1", downstream_smtp_port=sink_port, downstream_smtp_starttls=False,
            relay_poll_seconds=0.05, smtp_max_message_bytes=8 * 1024 * 1024,
        )
        clock = SystemClock()
        db = await Database.open(settings.database_path)
        LocalKeyFile(settings.key_dir).add_version()
        vault = await Vault.load(settings, db, clock)
        detector = Detector.from_settings(settings)
        audit = AuditLog(db, clock, ReasonScreen(settings, detector=detector))
        policy = PolicyHolder.load(settings.policy_path)
        screener = Screener.build(
            settings, vault=vault, audit=audit, policy_holder=policy, detector=detector, clock=clock
        )
        gateway = EmailGateway(
            settings=settings, db=db, screener=screener, policy=policy, clock=clock, encryptor=vault, audit=audit
        )
        await gateway.start()
        rows: list[tuple[str, str, int, float, float, float]] = []
        runners: list[tuple[str, Callable[[], int]]] = [
            ("plain aiosmtpd relay (baseline)", lambda: baseline_port),
            ("SecureDesk gateway", lambda: gateway.ingress.port),
        ]
        try:
            for size, count in sizes:
                for name, port in runners:
                    await drive(port(), [make_email(size, -i) for i in range(1, 3)], sink)  # warm-up
                    messages = [make_email(size, i) for i in range(count)]
                    seconds, latencies = await drive(port(), messages, sink)
                    rows.append((name, f"{size // 1024} KB", count, count / seconds, p(latencies, 0.5) * 1000,
                                 p(latencies, 0.99) * 1000))
            held = screener.holds
        finally:
            await gateway.stop()
            screener.close()
            await db.close()
            for server in (baseline_server, sink_server):
                server.close()
                await server.wait_closed()
    print(
        f"email bench: loopback, {CONCURRENCY} concurrent clients, real Screener (default policy), "
        f"{os.cpu_count()} CPU(s); messages held by screening: {held}"
    )
    header = f"{'path':<34} {'size':>7} {'msgs':>5} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    for name, size_label, count, rate, p50, p99 in rows:
        print(f"{name:<34} {size_label:>7} {count:>5} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f}")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, for a smoke run")
    asyncio.run(main(parser.parse_args().quick))
