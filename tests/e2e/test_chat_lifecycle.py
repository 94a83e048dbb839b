"""Chat around the edges, on a server of its own: redacted messages relayed to a webhook (signed JSON from the durable
outbox), an idle customer disconnected, and SIGTERM closing every open WebSocket with 1001 before a clean exit."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from chat_harness import add_staff, agent_socket, customer, login
from e2e_harness import ServerFactory

from securedesk.channels.outbox.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from securedesk.sensitive import Sensitive

pytestmark = pytest.mark.e2e

SECRET = "webhook-secret-for-the-chat-tests"


class Receiver(ThreadingHTTPServer):
    """A help desk's webhook endpoint on loopback: keeps every POST (headers and body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def first_post(receiver: Receiver) -> tuple[dict[str, str], bytes]:
    for _ in range(150):  # the relay worker polls the outbox every 0.2 s on this server
        if receiver.posts:
            return receiver.posts[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the webhook got nothing")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_webhook_relay_idle_timeout_and_shutdown(server_factory: ServerFactory, receiver: Receiver) -> None:
    server = server_factory(
        webhook_url=receiver.url, webhook_secret=SECRET, chat_idle_seconds="3", relay_poll_seconds="0.2"
    )
    member = add_staff(server, "sam")
    client = login(server, member)
    try:
        async with customer(server, "en") as idle:
            assert await idle.wait_closed(within=15) == 1000  # chat_idle_seconds (3 s here) without a message

        async with agent_socket(server, client) as agent, customer(server, "sv") as person:
            text = "Hej, mitt kort är 4111 1111 1111 1111 tack"
            await person.send({"type": "message", "text": text, "client_id": "c"})
            await agent.wait_for(lambda f: f["type"] == "message")
            headers, body = await first_post(receiver)
            envelope = json.loads(body)
            assert envelope["type"] == "chat.message"
            assert envelope["text"] == "Hej, mitt kort är [CARD •••• 1111] tack"
            assert (envelope["sender"], envelope["direction"], envelope["lang"]) == ("customer", "inbound", "sv")
            assert envelope["case_id"] == person.frames[0]["conversation"]
            assert b"4111" not in body.replace("•••• 1111".encode(), b"")
            assert verify_signature(
                Sensitive(SECRET),
                timestamp=headers[TIMESTAMP_HEADER],
                body=body,
                signature=headers[SIGNATURE_HEADER],
                now=time.time(),
            )

            await person.send({"type": "message", "text": "thanks", "client_id": "c2"})  # not idle
            await agent.wait_for(lambda f: f["type"] == "message" and f["message"]["text"] == "thanks")
            server.process.send_signal(signal.SIGTERM)  # while both are connected
            assert await person.wait_closed(within=20) == 1001
            assert await agent.wait_closed(within=20) == 1001
    finally:
        client.close()
    await asyncio.to_thread(server.process.wait, 30)  # one SIGTERM only: a second one would skip the graceful wait
    server.assert_clean_exit()
