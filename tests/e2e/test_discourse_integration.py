"""The Discourse reference integration end to end: ``securedesk serve`` receives Discourse's signed webhooks and edits
posts through a local fake of Discourse's documented API (``PUT /posts/{id}.json`` with ``Api-Key`` and
``Api-Username``), over real TLS on loopback. The webhook bodies follow the post payload Discourse documents
(meta.discourse.org/t/49045) with synthetic content."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from chat_harness import raw_database
from e2e_harness import RunningServer, new_installation, pick_free_port, serve

pytestmark = pytest.mark.e2e

SECRET = "discourse webhook secret for tests"
API_KEY = "discourse-admin-api-key-for-tests"


@dataclass
class FakeDiscourse:
    """Records every ``PUT /posts/{id}.json``; answers 200 with the post, or ``status`` when set."""

    edits: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    status: int = 200


def start_fake(port: int, cert: str, key: str, fake: FakeDiscourse) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.edits.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = json.dumps({"post": {"id": int(self.path.split("/")[2].split(".")[0]), **body["post"]}}).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, FakeDiscourse]]:
    port = pick_free_port()
    installation = new_installation(
        tmp_path_factory.mktemp("discourse"), discourse_url=f"https://localhost:{port}",
        discourse_api_username="securedesk", discourse_api_key=API_KEY, discourse_webhook_secret=SECRET,
    )  # fmt: skip
    settings = installation.settings
    installation.env["SECUREDESK_DISCOURSE_CA_FILE"] = str(settings.ca_cert_path)
    fake = FakeDiscourse()
    httpd = start_fake(port, str(settings.tls_cert_path), str(settings.tls_key_path), fake)
    server = serve(installation)
    yield server, fake
    server.assert_clean_exit()
    httpd.shutdown()


def post_event(post_id: int, raw: str) -> dict[str, Any]:
    """A ``post_created`` body shaped as Discourse documents it."""
    return {
        "post": {
            "id": post_id, "name": "Jane", "username": "jane", "avatar_template": "/user_avatar/x/jane/{size}/1.png",
            "created_at": "2026-12-07T10:00:00.000Z", "cooked": f"<p>{raw}</p>", "post_number": 2, "post_type": 1,
            "updated_at": "2026-12-07T10:00:00.000Z", "reply_count": 0, "reply_to_post_number": None,
            "quote_count": 0, "incoming_link_count": 0, "reads": 1, "score": 0, "topic_id": 77,
            "topic_slug": "double-charge", "topic_title": "Double charge", "category_id": 4,
            "display_username": "Jane", "primary_group_name": None, "version": 1, "user_title": None,
            "raw": raw,
        }
    }  # fmt: skip


def deliver(server: RunningServer, event: str, body: dict[str, Any], *, secret: str = SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json", "X-Discourse-Instance": "https://forum.example",
        "X-Discourse-Event-Id": "1", "X-Discourse-Event-Type": "post", "X-Discourse-Event": event,
        "X-Discourse-Event-Signature": signature,
    }  # fmt: skip
    with server.client() as client:
        return client.post("/integrations/discourse", content=raw, headers=headers)


def test_a_post_with_a_card_is_edited_in_place(forum: tuple[RunningServer, FakeDiscourse]) -> None:
    server, fake = forum
    raw = "My card 4111 1111 1111 1111 was charged twice for order 5521, please help!"

    answered = deliver(server, "post_created", post_event(101, raw))

    assert answered.status_code == 200, answered.text
    assert answered.json() == {"status": "redacted", "post_id": 101, "entities": 1}
    path, headers, body = fake.edits[-1]
    assert path == "/posts/101.json"
    assert (headers["api-key"], headers["api-username"]) == (API_KEY, "securedesk")
    assert body["post"]["raw"] == "My card [CARD •••• 1111] was charged twice for order 5521, please help!"
    assert body["post"]["edit_reason"].startswith("SecureDesk removed")
    assert b"4111111111111111" not in raw_database(server)
    assert b"4111 1111 1111 1111" not in raw_database(server)


def test_our_own_edit_comes_back_clean_and_ends_there(forum: tuple[RunningServer, FakeDiscourse]) -> None:
    server, fake = forum
    before = len(fake.edits)
    answered = deliver(server, "post_edited", post_event(101, "My card [CARD •••• 1111] was charged twice"))
    assert answered.json() == {"status": "clean", "post_id": 101, "entities": 0}
    assert len(fake.edits) == before


def test_other_events_are_ignored_and_bad_signatures_refused(forum: tuple[RunningServer, FakeDiscourse]) -> None:
    server, _ = forum
    assert deliver(server, "ping", {"ping": "OK"}).json()["status"] == "ignored"
    refused = deliver(server, "post_created", post_event(102, "card 4111 1111 1111 1111"), secret="wrong")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    malformed = deliver(server, "post_created", {"post": {"id": "x"}})
    assert malformed.status_code == 400


def test_an_edit_discourse_refuses_is_a_failed_delivery(forum: tuple[RunningServer, FakeDiscourse]) -> None:
    server, fake = forum
    fake.status = 403
    try:
        answered = deliver(server, "post_created", post_event(103, "SSN 536-22-1847 here"))
    finally:
        fake.status = 200
    assert answered.status_code == 502
    assert "536-22-1847" not in answered.text
