"""What the gateway adds to live chat: N concurrent customer WebSockets (50, 200, 1000) sending realistic messages
(English, French and Swedish; a few with a card number) to agents through the real ``securedesk serve`` — screening,
storage, fan-out to agents — against a plain Starlette WebSocket relay (no screening, no storage) served the same way
(uvicorn, TLS, loopback), measured in the same run with the same clients.

Each customer sends one message every ``--interval`` seconds on average (jittered), ``--card-share`` of them with a
card number; latency is from the customer's send to the first agent connection's receipt. "added" is the gateway's
minus the relay's, per percentile; messages with a card are also reported apart (they are audited and open a
protected-form request before they are delivered).

    .venv/bin/python bench/chat.py [--quick] [--sizes 50,200,1000] [--seconds 20] [--interval 2] [--card-share 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROJECT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"  # noqa: S105 (the bench agent's, in a temporary directory)
CONNECT_CONCURRENCY = 50
WARMUP_SECONDS = 3.0

#: Realistic chat lines; none ends with digits (a trailing digit fragment is held back up to 2 s by design).
MESSAGES = (
    "Hi, I ordered a jacket last week and it still has not arrived, can you check?",
    "I was charged twice for the same order, could you look into it please?",
    "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "Hej, jag har fått fel storlek på mina skor, hur gör jag en retur?",
    "Can I change the delivery address for my order?",
    "Merci pour votre aide, bonne journée !",
    "Tack för hjälpen!",
    "The tracking page says delivered but I have nothing in my mailbox.",
    "Is it possible to get a refund instead of a voucher?",
    "Je voudrais annuler mon abonnement avant la fin du mois.",
    "Kan ni skicka en ny faktura till min e-post?",
    "Hello? Is anyone there?",
    "Ok, thanks, I will wait for your email.",
)
#: Lines with a card number: masked, audited, and the customer nudged (a protected-form link is opened for the case).
CARD_MESSAGES = (
    "My card 4111 1111 1111 1111 was declined, what is wrong?",
    "Ma carte 5555 5555 5555 4444 a été débitée deux fois, pouvez-vous vérifier ?",
    "Mitt kort 3530 1113 3330 0000 drogs två gånger, kan ni kolla?",
)


# --- the baseline: a plain Starlette relay ------------------------------------------------------------------------


def relay_app() -> Any:
    """Customers' messages echoed to them and relayed to every agent socket; no screening, no storage."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    agents: set[WebSocket] = set()

    async def customer(websocket: WebSocket) -> None:
        await websocket.accept()
        conversation = "case_" + secrets.token_hex(12)
        await websocket.send_text(json.dumps({"type": "hello", "conversation": conversation}))
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                text = frame["text"]
                await websocket.send_text(json.dumps({"type": "message", "sender": "customer", "text": text},
                                                     ensure_ascii=False))
                out = json.dumps({"type": "message", "case": {"id": conversation},
                                  "message": {"sender": "customer", "text": text}}, ensure_ascii=False)
                for agent in list(agents):
                    with contextlib.suppress(Exception):
                        await agent.send_text(out)
        except WebSocketDisconnect:
            pass

    async def agent(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(json.dumps({"type": "hello"}))
        agents.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            agents.discard(websocket)

    return Starlette(routes=[WebSocketRoute("/chat/ws", customer), WebSocketRoute("/agent/ws", agent)])


def run_relay(port: int, cert: str, key: str, max_size: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        relay_app(), host="127.0.0.1", port=port, ssl_certfile=cert, ssl_keyfile=key, ws="websockets-sansio",
        ws_max_size=max_size, lifespan="off", log_level="warning", access_log=False, backlog=2048,
    )
    uvicorn.Server(config).run()


# --- servers -----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], context: ssl.SSLContext, what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before it was ready")
        try:
            response = httpx.get(f"https://localhost:{port}/readyz", verify=context, timeout=2)
            if what == "relay" or response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} was not ready within 90 s")


@dataclass
class Gateway:
    root: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "securedesk.cli", *args], env=self.env, cwd=self.root, capture_output=True,
            text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"securedesk {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root / "certs" / "ca.pem"))


def new_gateway(root: Path) -> Gateway:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREDESK_")}
    origin = f"https://localhost:{port}"
    env.update({
        "SECUREDESK_DATA_DIR": str(root / "data"), "SECUREDESK_KEY_DIR": str(root / "keys"),
        "SECUREDESK_CERT_DIR": str(root / "certs"), "SECUREDESK_POLICY_PATH": str(PROJECT / "policies/default.toml"),
        "SECUREDESK_HTTPS_PORT": str(port), "SECUREDESK_PUBLIC_BASE_URL": origin,
        "SECUREDESK_ALLOWED_ORIGINS": origin, "SECUREDESK_SMTP_PORT": str(free_port()),
        "SECUREDESK_LOG_LEVEL": "INFO",
    })
    gateway = Gateway(root, port, env)
    gateway.cli("init")
    return gateway


def start_gateway(gateway: Gateway) -> None:
    log = (gateway.root / "serve.log").open("wb")
    gateway.process = subprocess.Popen(
        [sys.executable, "-m", "securedesk.cli", "serve"], env=gateway.env, cwd=gateway.root, stdout=log, stderr=log
    )
    wait_listening(gateway.port, gateway.process, gateway.context(), "gateway")


def start_relay(port: int, gateway: Gateway) -> subprocess.Popen[bytes]:
    """The baseline relay in its own process, with the gateway's TLS certificate."""
    return subprocess.Popen(
        [sys.executable, __file__, "--relay-server", str(port), str(gateway.root / "certs/server.pem"),
         str(gateway.root / "certs/server.key")],
        stdout=subprocess.DEVNULL, stderr=(gateway.root / "relay.log").open("wb"),
    )


def agent_cookie(gateway: Gateway) -> str:
    """An agent made with ``users add``, enrolled and logged in over HTTPS (password + TOTP): its session cookie."""
    out = gateway.cli("users", "add", "bench-agent", "--role", "agent", "--queues", "general")
    path = "/enrol/" + re.search(r"/enrol/([A-Za-z0-9_-]+)", out).group(1)  # type: ignore[union-attr]
    headers = {"Accept": "text/html", "Origin": gateway.base_url}
    with httpx.Client(base_url=gateway.base_url, verify=gateway.context()) as client:
        page = client.get(path, headers=headers).text
        secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
        totp = pyotp.TOTP(secret)
        step = int(time.time()) // 30
        client.post(path, headers=headers, data={"password": PASSWORD, "password_confirm": PASSWORD,
                                                 "code": totp.at((step - 1) * 30)})
        client.post("/login", headers=headers, data={"name": "bench-agent", "password": PASSWORD,
                                                     "code": totp.at(step * 30)})
        value = client.cookies.get("__Host-securedesk")
    if value is None:
        raise SystemExit("the bench agent could not log in")
    return f"__Host-securedesk={value}"


# --- the load ----------------------------------------------------------------------------------------------------


@dataclass
class Run:
    sent: dict[str, deque[tuple[float, bool]]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    card_latencies: list[float] = field(default_factory=list)
    measuring: bool = False
    delivered: int = 0
    errors: int = 0


async def open_ws(url: str, context: ssl.SSLContext, origin: str, cookie: str | None) -> ClientConnection:
    return await connect(url, ssl=context, origin=origin, additional_headers={"Cookie": cookie} if cookie else {},  # type: ignore[arg-type]
                         open_timeout=60, max_size=2**20, compression=None)


async def agent_reader(connection: ClientConnection, run: Run, *, measure: bool) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in connection:
            if not measure:
                continue
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "message" or frame["message"].get("sender") != "customer":
                continue
            times = run.sent.get(frame["case"]["id"])
            if not times:
                continue
            started, card = times.popleft()
            if run.measuring:
                run.latencies.append(now - started)
                if card:
                    run.card_latencies.append(now - started)
                run.delivered += 1


async def drain(connection: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in connection:
            pass


async def customer(connection: ClientConnection, conversation: str, run: Run, interval: float, card_share: float,
                   stop: asyncio.Event, rng: random.Random) -> None:
    times = run.sent.setdefault(conversation, deque())
    reader = asyncio.create_task(drain(connection))
    try:
        await asyncio.sleep(rng.uniform(0, interval))
        while not stop.is_set():
            card = rng.random() < card_share
            text = rng.choice(CARD_MESSAGES if card else MESSAGES)
            times.append((time.perf_counter(), card))
            await connection.send(json.dumps({"type": "message", "text": text}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(0.5 * interval, 1.5 * interval))
    except ConnectionClosed:
        run.errors += 1
    finally:
        reader.cancel()


async def cookies_for(base_url: str, context: ssl.SSLContext, count: int) -> list[str | None]:
    """One conversation cookie per customer, as the widget page issues them (none for the relay)."""
    async with httpx.AsyncHTTPTransport(verify=context) as transport:
        async def one() -> str:
            # Straight through the transport: no cookie jar, so each request starts a new conversation.
            request = httpx.Request("GET", f"{base_url}/chat", headers={"Accept": "text/html"})
            response = await transport.handle_async_request(request)
            await response.aread()
            await response.aclose()
            cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-securedesk-chat="))
            return cookie.split(";", 1)[0]

        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def limited() -> str:
            async with limit:
                return await one()

        return list(await asyncio.gather(*(limited() for _ in range(count))))


@contextlib.asynccontextmanager
async def connections(urls: tuple[str, str], context: ssl.SSLContext, origin: str, customer_cookies: list[str | None],
                      agent: str | None, agents: int) -> AsyncIterator[tuple[list[ClientConnection], list[str],
                                                                               list[ClientConnection]]]:
    agent_sockets = [await open_ws(urls[1], context, origin, agent) for _ in range(agents)]
    for sock in agent_sockets:
        await sock.recv()  # hello
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(cookie: str | None) -> tuple[ClientConnection, str]:
        async with limit:
            sock = await open_ws(urls[0], context, origin, cookie)
            hello = json.loads(await sock.recv())
            return sock, hello["conversation"]

    opened = await asyncio.gather(*(one(cookie) for cookie in customer_cookies))
    try:
        yield [s for s, _ in opened], [c for _, c in opened], agent_sockets
    finally:
        await asyncio.gather(*(s.close() for s, _ in opened), *(s.close() for s in agent_sockets),
                             return_exceptions=True)


async def measure(base: str, context: ssl.SSLContext, origin: str, agent: str | None, size: int, seconds: float,
                  interval: float, card_share: float, *, gateway: bool) -> Run:
    run = Run()
    urls = (f"wss://{base}/chat/ws?lang=en", f"wss://{base}/agent/ws")
    cookies: list[str | None] = (await cookies_for(f"https://{base}", context, size)) if gateway else [None] * size
    async with connections(urls, context, origin, cookies, agent, agents=2) as (customers, conversations, agents):
        readers = [asyncio.create_task(agent_reader(agents[0], run, measure=True)),
                   asyncio.create_task(drain(agents[1]))]
        stop = asyncio.Event()
        rng = random.Random(size)
        tasks = [asyncio.create_task(customer(c, conv, run, interval, card_share, stop, rng))
                 for c, conv in zip(customers, conversations, strict=True)]
        await asyncio.sleep(WARMUP_SECONDS)
        run.measuring = True
        await asyncio.sleep(seconds)
        run.measuring = False
        stop.set()
        await asyncio.gather(*tasks)
        await asyncio.sleep(0.5)
        for reader in readers:
            reader.cancel()
    return run


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, needed)) if hard != resource.RLIM_INFINITY else max(soft, needed)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # inherited by the servers started below


async def bench(sizes: list[int], seconds: float, interval: float, card_share: float) -> None:
    with tempfile.TemporaryDirectory(prefix="securedesk-chat-bench-") as tmp:
        gateway = new_gateway(Path(tmp))
        start_gateway(gateway)
        relay_port = free_port()
        relay = start_relay(relay_port, gateway)
        try:
            wait_listening(relay_port, relay, gateway.context(), "relay")
            cookie = agent_cookie(gateway)
            context = gateway.context()
            rows = []
            for size in sizes:
                plain = await measure(f"localhost:{relay_port}", context, f"https://localhost:{relay_port}", None,
                                      size, seconds, interval, card_share, gateway=False)
                screened = await measure(f"localhost:{gateway.port}", context, gateway.base_url, cookie, size,
                                         seconds, interval, card_share, gateway=True)
                rows.append((size, plain, screened))
                print(f"  measured {size} connections", file=sys.stderr, flush=True)
        finally:
            relay.send_signal(signal.SIGTERM)
            if gateway.process is not None:
                gateway.process.send_signal(signal.SIGTERM)
                gateway.process.wait(timeout=60)
            relay.wait(timeout=30)

    print(f"\nchat through the gateway vs a plain Starlette WebSocket relay (TLS, loopback; one message per customer "
          f"every ~{interval:g} s, {card_share:.0%} of them with a card number; {seconds:g} s measured per row)\n")
    header = ("connections", "relay msg/s", "gateway msg/s", "relay p50 ms", "relay p99 ms", "gateway p50 ms",
              "gateway p99 ms", "added p50 ms", "added p99 ms", "lost")
    print("  ".join(f"{h:>14}" for h in header))
    for size, plain, screened in rows:
        values = (
            size, plain.delivered / seconds, screened.delivered / seconds,
            pct(plain.latencies, 0.5), pct(plain.latencies, 0.99),
            pct(screened.latencies, 0.5), pct(screened.latencies, 0.99),
            pct(screened.latencies, 0.5) - pct(plain.latencies, 0.5),
            pct(screened.latencies, 0.99) - pct(plain.latencies, 0.99),
            plain.errors + screened.errors,
        )
        print("  ".join(f"{v:>14}" if isinstance(v, int) else f"{v:>14.2f}" for v in values))
    print("\nmessages with a card number through the gateway (masked, audited, nudge with a new protected-form link):")
    for size, _, screened in rows:
        card = screened.card_latencies
        mean = statistics.fmean(card) * 1000 if card else float("nan")
        print(f"  {size:>5} connections: {len(card)} messages, p50 {pct(card, 0.5):.2f} ms, "
              f"p99 {pct(card, 0.99):.2f} ms, mean {mean:.2f} ms")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--relay-server":  # the baseline's own process (start_relay)
        run_relay(int(sys.argv[2]), sys.argv[3], sys.argv[4], 16_384)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 connections only, 10 s (a smoke run)")
    parser.add_argument("--sizes", default="50,200,1000", help="comma-separated numbers of customer connections")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row")
    parser.add_argument("--interval", type=float, default=2.0, help="mean seconds between one customer's messages")
    parser.add_argument("--card-share", type=float, default=0.02, help="share of messages with a card number")
    args = parser.parse_args()
    sizes = [50] if args.quick else [int(s) for s in args.sizes.split(",")]
    seconds = 10.0 if args.quick else args.seconds
    raise_fd_limit(4 * max(sizes) + 256)
    asyncio.run(bench(sizes, seconds, args.interval, args.card_share))


if __name__ == "__main__":
    main()
