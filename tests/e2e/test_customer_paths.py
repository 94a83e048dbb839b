"""The customer paths through the real ``securedesk serve`` subprocess over real TLS, with the one-time codes read from
a real SMTP sink the relay delivers to, and abuse: code brute force, reused and expired codes and links,
enumeration (byte-identical answers), call-back flood, CSRF missing or wrong, another customer's case, headers and
no-store on every customer page — and, after the whole run, no sensitive value or form token in the server's log.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from customer_e2e import (
    HTML,
    Agent,
    CodeSink,
    Database,
    csrf_of,
    customer_server_env,
    enrolled_agent,
    open_case,
)
from e2e_harness import RunningServer, pick_free_port, start_server

pytestmark = pytest.mark.e2e

VISA = "4111111111111111"
SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "permissions-policy",
    "x-frame-options",
)


@dataclass
class Desk:
    server: RunningServer
    sink: CodeSink
    db: Database
    agent: Agent
    jane: sqlite3.Row
    max: sqlite3.Row
    #: Every token, code and number typed during the run: none may appear in the server's log.
    secrets: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    sink = CodeSink()
    sink.start()
    smtp_port = pick_free_port()
    server = start_server(tmp_path_factory.mktemp("customer"), **customer_server_env(sink, smtp_port))
    try:
        jane = open_case(server, smtp_port, "jane@example.com", "Card declined", "Hello, my card was declined.")
        other = open_case(server, smtp_port, "max@example.com", "Address change", "Hello, I moved house.")
        agent = enrolled_agent(server, "agnes")
        yield Desk(server, sink, Database(server), agent, jane, other)
        server.assert_clean_exit()
    finally:
        if server.running:
            server.process.kill()
        sink.stop()


class Browser:
    """A customer's browser over TLS: its own cookies, the CSRF token of the last page."""

    def __init__(self, server: RunningServer, lang: str = "en") -> None:
        self.client = server.client(follow_redirects=False, headers={**HTML, "Accept-Language": lang})
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        if 'name="csrf_token"' in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        body = {**data, "csrf_token": self.csrf if csrf is None else csrf}
        if csrf == "":
            del body["csrf_token"]
        return self.client.post(path, data=body)


def assert_protected(response: httpx.Response) -> None:
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert response.headers["cache-control"] == "no-store"
    if response.headers.get("content-type", "").startswith("text/html"):
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', response.text)


def form_link(desk: Desk, case: sqlite3.Row, kind: str = "card", lang: str = "en") -> str:
    page = desk.agent.get(f"/agent/cases/{case['id']}/forms")
    assert page.status_code == 200
    created = desk.agent.post(f"/agent/cases/{case['id']}/forms", {"kind": kind, "lang": lang})
    match = re.search(r'value="https://localhost:\d+(/forms/[A-Za-z0-9_-]{43})"', created.text)
    assert match is not None
    desk.secrets.append(match.group(1).rsplit("/", 1)[1])
    return match.group(1)


def verify(desk: Desk, browser: Browser, identifier: str, address: str) -> None:
    browser.get("/lookup")
    before = len(desk.sink.codes_for(address))
    assert browser.post("/lookup", {"identifier": identifier}).status_code == 303
    browser.get("/lookup/verify")
    code = desk.sink.wait_for_code(address, after=before)
    desk.secrets.append(code)
    response = browser.post("/lookup/verify", {"code": code})
    assert (response.status_code, response.headers.get("location")) == (303, "/lookup/session")


def tomorrow() -> str:
    return (datetime.now(tz=UTC) + timedelta(days=1)).strftime("%Y-%m-%d")


def callback_fields(phone: str, **changes: str) -> dict[str, str]:
    return {
        "phone": phone,
        "phone_region": "FR",
        "date": tomorrow(),
        "start": "10:00",
        "end": "12:00",
        "time_zone": "Europe/Paris",
        "lang": "fr",
        "topic": "",
        **changes,
    }


# --- the happy paths ------------------------------------------------------------------------------------------------


def test_protected_form_card_shows_masked_in_the_agent_console(desk: Desk) -> None:
    path = form_link(desk, desk.jane)
    browser = Browser(desk.server, "fr-FR,fr;q=0.9")
    page = browser.get(path)
    assert page.status_code == 200
    assert "<h1>Mettre à jour votre carte bancaire</h1>" in page.text
    done = browser.post(path, {"card_number": "4111 1111 1111 1111"})
    assert done.status_code == 200
    assert "VISA •••• 1111" in done.text
    assert VISA not in done.text
    console = desk.agent.get(f"/agent/cases/{desk.jane['id']}")
    assert console.status_code == 200
    assert "VISA •••• 1111 (submitted via form)" in console.text
    assert VISA not in console.text
    listing = desk.agent.get(f"/agent/cases/{desk.jane['id']}/forms")
    assert "VISA •••• 1111 (submitted via form)" in listing.text


def test_verified_lookup_with_the_code_from_the_sink(desk: Desk) -> None:
    browser = Browser(desk.server, "sv-SE")
    verify(desk, browser, "Jane@Example.com", "jane@example.com")
    assert desk.sink.subjects_for("jane@example.com")[-1] == "Din verifieringskod från SecureDesk"
    session = browser.get("/lookup/session")
    assert session.status_code == 200
    assert_protected(session)
    assert f"Ärende {desk.jane['reference']}" in session.text
    assert "VISA •••• 1111 sparat" in session.text
    assert desk.max["reference"] not in session.text


def test_verified_lookup_by_case_reference(desk: Desk) -> None:
    browser = Browser(desk.server)
    verify(desk, browser, desk.max["reference"].lower(), "max@example.com")
    assert f"Case {desk.max['reference']}" in browser.get("/lookup/session").text


# --- abuse ---------------------------------------------------------------------------------------------------------


def test_headers_and_no_store_on_every_customer_page(desk: Desk) -> None:
    browser = Browser(desk.server)
    path = form_link(desk, desk.max, kind="iban")
    for target in (
        "/forms",
        "/form",
        "/lookup",
        "/lookup/verify",
        "/callback",
        path,
        path[:-2] + "xx",
        "/lookup/session",
    ):
        response = browser.get(target)
        assert response.status_code in (200, 303, 404), target
        assert_protected(response)
    for response in (
        browser.post(path, {"iban": "FR76 3000 6000 0112 3456 7890 188"}),
        browser.post("/lookup", {"identifier": "not an address"}),
        browser.post("/lookup/verify", {"code": "123456"}),
        browser.post("/callback", callback_fields("06 12 34")),
    ):
        assert_protected(response)
        assert "3000 6000 0112" not in response.text
        assert "06 12 34" not in response.text


def test_enumeration_gets_byte_identical_answers(desk: Desk) -> None:
    browser = Browser(desk.server)
    browser.get("/lookup")
    answers = []
    for identifier in ("jane@example.com", "nobody@example.com", "SD-BCDFGH"):
        start = browser.post("/lookup", {"identifier": identifier})
        page = browser.get("/lookup/verify")
        wrong = browser.post("/lookup/verify", {"code": "000000"})
        answers.append(
            [
                (r.status_code, r.headers.get("location"), r.headers.get("set-cookie"), r.content)
                for r in (start, page, wrong)
            ]
        )
    assert answers[0] == answers[1] == answers[2]


def test_code_brute_force_is_locked_after_five(desk: Desk) -> None:
    browser = Browser(desk.server)
    browser.get("/lookup")
    before = len(desk.sink.codes_for("max@example.com"))
    browser.post("/lookup", {"identifier": "max@example.com"})
    code = desk.sink.wait_for_code("max@example.com", after=before)
    desk.secrets.append(code)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [browser.post("/lookup/verify", {"code": wrong}).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = browser.post("/lookup/verify", {"code": code})
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.text


def test_reused_and_expired_codes(desk: Desk) -> None:
    browser = Browser(desk.server)
    verify(desk, browser, "jane@example.com", "jane@example.com")
    reused = browser.post("/lookup/verify", {"code": desk.secrets[-1]})
    assert reused.status_code == 410
    browser.get("/lookup")
    before = len(desk.sink.codes_for("jane@example.com"))
    browser.post("/lookup", {"identifier": "jane@example.com"})
    code = desk.sink.wait_for_code("jane@example.com", after=before)
    desk.secrets.append(code)
    assert desk.db.execute("UPDATE lookup_challenges SET expires_at = expires_at - 600 WHERE used_at IS NULL") >= 1
    expired = browser.post("/lookup/verify", {"code": code})
    assert expired.status_code == 410
    assert "Your code has expired" in expired.text


def test_reused_and_expired_form_links(desk: Desk) -> None:
    path = form_link(desk, desk.jane, kind="national_id")
    browser = Browser(desk.server)
    browser.get(path)
    assert browser.post(path, {"id_type": "us_ssn", "national_id": "536-22-1847"}).status_code == 200
    assert browser.get(path).status_code == 410
    assert browser.post(path, {"id_type": "us_ssn", "national_id": "536-22-1847"}).status_code == 410
    second = form_link(desk, desk.jane)
    browser.get(second)
    desk.db.execute("UPDATE form_requests SET expires_at = 0 WHERE used_at IS NULL")
    expired = browser.post(second, {"card_number": VISA})
    assert expired.status_code == 410
    assert "This link can no longer be used" in expired.text


def test_csrf_missing_or_wrong_is_refused(desk: Desk) -> None:
    path = form_link(desk, desk.max)
    browser = Browser(desk.server)
    browser.get(path)
    other = Browser(desk.server)
    other.get("/lookup")
    for target, data in (
        (path, {"card_number": VISA}),
        ("/lookup", {"identifier": "max@example.com"}),
        ("/lookup/verify", {"code": "123456"}),
        ("/callback", callback_fields("06 12 34 56 78")),
    ):
        for csrf in ("", "forged-token", other.csrf):
            assert browser.post(target, data, csrf=csrf).status_code == 403, (target, csrf[:4])
    assert browser.get(path).status_code == 200  # still unused


def test_another_customers_case_is_not_found(desk: Desk) -> None:
    browser = Browser(desk.server)
    verify(desk, browser, "jane@example.com", "jane@example.com")
    browser.get("/lookup/session")
    theirs = desk.max["id"]
    assert browser.post(f"/lookup/session/cases/{theirs}/messages", {"message": "hi"}).status_code == 404
    assert browser.get(f"/callback?case_id={theirs}").status_code == 404
    assert browser.post("/callback", callback_fields("06 12 34 56 78", case_id=theirs)).status_code == 404
    assert desk.db.rows("SELECT 1 FROM callbacks WHERE case_id = ?", theirs) == []


def test_callback_flood_gets_429(desk: Desk) -> None:
    browser = Browser(desk.server, "fr")
    browser.get("/callback")
    statuses = []
    for i in range(5):
        phone = f"06 98 76 54 {30 + i}"
        desk.secrets.append(phone.replace(" ", "")[1:])
        statuses.append(browser.post("/callback", callback_fields(phone)).status_code)
    assert statuses == [200, 200, 200, 429, 429]
    flood = Browser(desk.server)  # new browsers, same number: the per-number limit
    flood.get("/callback")
    assert flood.post("/callback", callback_fields("06 98 76 54 30")).status_code == 200
    later = Browser(desk.server)
    later.get("/callback")
    assert later.post("/callback", callback_fields("06 98 76 54 30")).status_code == 200
    last = Browser(desk.server)
    last.get("/callback")
    limited = last.post("/callback", callback_fields("+33 6 98 76 54 30", phone_region="INTL"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"].isdigit()


def test_agent_works_a_callback_and_the_customer_sees_it(desk: Desk) -> None:
    browser = Browser(desk.server, "fr")
    verify(desk, browser, "jane@example.com", "jane@example.com")
    browser.get(f"/callback?case_id={desk.jane['id']}")
    desk.secrets.append("612345678")
    requested = browser.post("/callback", callback_fields("06 12 34 56 78", case_id=desk.jane["id"], topic="Ma carte"))
    assert requested.status_code == 303
    queue = desk.agent.get("/agent/callbacks")
    assert "+33 6 •• •• •6 78" in queue.text
    assert "612345678" not in queue.text
    callback_id = desk.db.rows("SELECT id FROM callbacks WHERE case_id = ?", desk.jane["id"])[0]["id"]
    assert desk.agent.post(f"/agent/callbacks/{callback_id}/claim").status_code == 303
    desk.agent.get("/agent/callbacks")
    revealed = desk.agent.post(f"/agent/callbacks/{callback_id}/reveal", {"reason": "call-back"})
    assert revealed.status_code == 200, revealed.text[:300]
    assert_protected(revealed)
    assert "+33 6 12 34 56 78" in revealed.text
    assert "Un conseiller va vous appeler" in browser.get("/lookup/session").text
    assert desk.agent.post(f"/agent/callbacks/{callback_id}/outcome", {"outcome": "done"}).status_code == 303
    assert "Effectué" in browser.get("/lookup/session").text


def test_the_servers_log_holds_no_sensitive_value_and_no_token(desk: Desk) -> None:
    """After everything above: every request line names a route template; nothing typed appears anywhere."""
    server = desk.server
    lines = [line for line in (server.stdout() + server.stderr()).splitlines() if line.strip()]
    requests = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == "http.request":
            requests.append(entry)
    routes = {entry["route"] for entry in requests}
    assert {"/forms/{token}", "/lookup/verify", "/callback", "/agent/callbacks/{callback_id}/reveal"} <= routes
    assert all(not re.search(r"/forms/[A-Za-z0-9_-]{20,}", route) for route in routes)
    texts = ["\n".join(lines), *(path.read_text(errors="replace") for path in Path(server.root).glob("**/*.log"))]
    assert len(desk.secrets) > 10
    for secret in [*desk.secrets, VISA, "4111 1111 1111 1111", "536-22-1847", "536221847", "06 12 34 56 78"]:
        # Not inside a longer number (a timestamp's microseconds are not a code).
        pattern = re.compile(r"(?<![.\d])" + re.escape(secret) + r"(?!\d)")
        for text in texts:
            assert pattern.search(text) is None, secret
