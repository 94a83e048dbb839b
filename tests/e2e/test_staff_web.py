"""Staff sign-in and the compliance pages against the real ``securedesk serve`` over TLS: enrolment through the link
``securedesk users add`` prints, login with password and TOTP (codes computed with pyotp from the secret the page
shows), lockout, session fixation, server-side logout, CSRF, step-up, audit search/export/verify (the export verifies
offline with ``securedesk audit verify --export``), admin-only metrics, and policy reload on SIGHUP."""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from e2e_harness import PROJECT_ROOT, Installation, RunningServer, ServerFactory, start_server

pytestmark = pytest.mark.e2e

HTML = {"Accept": "text/html"}
PASSWORD = "long enough staff passphrase 42"
SESSION_COOKIE = "__Host-securedesk"
STEP = 30


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("staff"))
    yield server
    server.assert_clean_exit()


@dataclass
class Account:
    name: str
    secret: str
    last_step: int

    def next_code(self) -> str:
        """The code of the step after the last one used (each step is accepted once); waits while that step is
        still more than one step ahead of the server's clock."""
        wanted = self.last_step + 1
        while wanted > int(time.time()) // STEP + 1:
            time.sleep(0.5)
        self.last_step = wanted
        return str(pyotp.TOTP(self.secret).at(wanted * STEP))


def add_user(server: Installation, name: str, role: str) -> str:
    """``securedesk users add``; the path of the one-time link it prints."""
    result = server.cli("users", "add", name, "--role", role, "--queues", "general")
    assert result.returncode == 0, result.stderr
    match = re.search(r"https://localhost:\d+(/enrol/[A-Za-z0-9_-]+)", result.stdout)
    assert match is not None, result.stdout
    return match.group(1)


def enrol(server: Installation, name: str, role: str) -> Account:
    path = add_user(server, name, role)
    with server.client() as client:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200
        shown = re.search(r'<code class="secret" id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page.text)
        assert shown is not None
        secret = shown.group(1).replace(" ", "")
        step = int(time.time()) // STEP
        done = client.post(
            path,
            data={"password": PASSWORD, "password_confirm": PASSWORD, "code": pyotp.TOTP(secret).at(step * STEP)},
            headers=HTML,
        )
    assert done.status_code == 200, done.text
    return Account(name, secret, step)


def login(server: Installation, account: Account, client: httpx.Client | None = None) -> tuple[httpx.Client, str]:
    """A client holding a fresh session of ``account``, and that session's CSRF token."""
    client = client if client is not None else server.client()
    response = client.post(
        "/login", data={"name": account.name, "password": PASSWORD, "code": account.next_code()}, headers=HTML
    )
    assert response.status_code == 303, response.text
    page = client.get("/staff", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client, token.group(1)


def audit_events(server: Installation, *args: str) -> list[dict[str, object]]:
    result = server.cli("audit", "search", "--json", "--page-size", "500", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_login_with_password_and_totp(staff_server: RunningServer) -> None:
    account = enrol(staff_server, "e2e-ada", "admin")
    client = staff_server.client()

    response = client.post(
        "/login", data={"name": "e2e-ada", "password": PASSWORD, "code": account.next_code()}, headers=HTML
    )
    page = client.get("/admin/users", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    token = client.cookies.get(SESSION_COOKIE)
    assert response.headers["set-cookie"] == f"{SESSION_COOKIE}={token}; HttpOnly; Path=/; SameSite=strict; Secure"
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert '<th scope="row">e2e-ada</th>' in page.text
    client.close()
    log = staff_server.stderr()
    assert '"route":"/enrol/{token}"' in log
    assert not re.search(r"/enrol/[A-Za-z0-9_-]{20,}", log)  # no token in any log line
    assert PASSWORD not in log
    assert account.secret not in log


def test_lockout_after_ten_failures_answers_like_any_failure(staff_server: RunningServer) -> None:
    account = enrol(staff_server, "e2e-locky", "agent")
    answers = []
    with staff_server.client() as client:
        for attempt in range(10):
            response = client.post(
                "/login", data={"name": "e2e-locky", "password": f"wrong {attempt}", "code": "000000"}, headers=HTML
            )
            answers.append((response.status_code, response.text))
        locked = client.post(
            "/login", data={"name": "e2e-locky", "password": PASSWORD, "code": account.next_code()}, headers=HTML
        )
        unknown = client.post(
            "/login", data={"name": "e2e-nobody", "password": PASSWORD, "code": "123456"}, headers=HTML
        )

    assert set(answers) == {(locked.status_code, locked.text)}
    assert (unknown.status_code, unknown.text) == (locked.status_code, locked.text)
    assert locked.status_code == 401
    assert SESSION_COOKIE not in locked.headers.get("set-cookie", "")
    lockouts = audit_events(staff_server, "--action", "auth.lockout")
    assert [event["actor"] for event in lockouts] == ["e2e-locky"]


def test_session_fixation_and_server_side_logout(staff_server: RunningServer) -> None:
    account = enrol(staff_server, "e2e-fix", "agent")
    client = staff_server.client()
    client.cookies.set(SESSION_COOKIE, "chosen-by-an-attacker", domain="localhost.local")

    client, csrf = login(staff_server, account, client)
    issued = client.cookies.get(SESSION_COOKIE)
    logout = client.post("/logout", data={"csrf_token": csrf}, headers=HTML)
    with staff_server.client() as replay:
        replay.cookies.set(SESSION_COOKIE, str(issued), domain="localhost.local")
        after = replay.get("/staff", headers=HTML)
    client.close()

    assert issued not in (None, "chosen-by-an-attacker")
    assert logout.status_code == 303
    assert (after.status_code, after.headers["location"]) == (302, "/login")
    ends = audit_events(staff_server, "--action", "session.end", "--actor", "e2e-fix")
    assert [event["reason"] for event in ends] == ["logout"]


def test_forms_without_the_right_csrf_token_are_refused(staff_server: RunningServer) -> None:
    admin = enrol(staff_server, "e2e-csrf", "admin")
    client, csrf = login(staff_server, admin)

    missing = client.post("/admin/users/add", data={"name": "e2e-ghost1", "role": "admin"}, headers=HTML)
    wrong = client.post(
        "/admin/users/add", data={"name": "e2e-ghost2", "role": "admin", "csrf_token": csrf[::-1]}, headers=HTML
    )
    foreign = client.post(
        "/admin/users/add",
        data={"name": "e2e-ghost3", "role": "admin", "csrf_token": csrf},
        headers={**HTML, "Origin": "https://evil.example"},
    )
    client.close()

    assert (missing.status_code, wrong.status_code, foreign.status_code) == (403, 403, 403)
    listing = staff_server.cli("users", "list")
    assert "e2e-ghost" not in listing.stdout


def test_metrics_on_the_main_app_are_for_admins_only(staff_server: RunningServer) -> None:
    admin = enrol(staff_server, "e2e-metrics", "admin")
    agent = enrol(staff_server, "e2e-agent-metrics", "agent")
    admin_client, _ = login(staff_server, admin)
    agent_client, _ = login(staff_server, agent)

    as_admin = admin_client.get("/metrics")
    as_agent = agent_client.get("/metrics")
    with staff_server.client() as anonymous:
        as_nobody = anonymous.get("/metrics")
    admin_client.close()
    agent_client.close()

    assert as_admin.status_code == 200
    assert 'securedesk_http_requests_total{method="POST",route="/login",status="303"}' in as_admin.text
    assert (as_agent.status_code, as_nobody.status_code) == (404, 404)


def test_audit_search_export_and_verify(staff_server: RunningServer, tmp_path: Path) -> None:
    officer = enrol(staff_server, "e2e-carl", "compliance")
    client, csrf = login(staff_server, officer)

    search = client.post("/compliance/audit", data={"csrf_token": csrf, "action": "auth.login"}, headers=HTML)
    export = client.post("/compliance/audit/export", data={"csrf_token": csrf, "format": "csv"}, headers=HTML)
    verify = client.post("/compliance/audit/verify", data={"csrf_token": csrf}, headers=HTML)
    deadline = time.monotonic() + 30
    page = client.get("/compliance/audit", headers=HTML)
    while "Chain status: intact" not in page.text and time.monotonic() < deadline:
        time.sleep(0.2)
        page = client.get("/compliance/audit", headers=HTML)
    client.close()

    assert search.status_code == 200
    assert re.search(r"<td>e2e-carl</td>\s*<td>compliance</td>\s*<td><code>auth.login</code>", search.text)
    assert export.status_code == 200
    assert export.headers["cache-control"] == "no-store"
    match = re.fullmatch(
        r'attachment; filename="(securedesk-audit-\d{8}-\d{8}\.csv)"', export.headers["content-disposition"]
    )
    assert match is not None
    downloaded = tmp_path / match.group(1)
    downloaded.write_bytes(export.content)
    offline = staff_server.cli("audit", "verify", "--export", str(downloaded))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.startswith("OK: ")
    assert verify.status_code == 303
    assert "Chain status: intact" in page.text
    # Reading the log was itself recorded, by the officer, from the web.
    reads = audit_events(staff_server, "--actor", "e2e-carl", "--action", "audit.*")
    assert [(e["action"], e["channel"]) for e in reads] == [
        ("audit.verify", "web"),
        ("audit.export", "web"),
        ("audit.search", "web"),
    ]


def test_sensitive_actions_need_a_recent_code(server_factory: ServerFactory) -> None:
    server = server_factory(step_up_seconds="1")
    admin = enrol(server, "e2e-stepper", "admin")
    client, csrf = login(server, admin)
    time.sleep(1.5)

    refused = client.post(
        "/admin/users/add",
        data={"csrf_token": csrf, "name": "e2e-late", "role": "agent", "return_to": "/admin/users"},
        headers=HTML,
    )
    confirmed = client.post(
        "/step-up", data={"csrf_token": csrf, "code": admin.next_code(), "return_to": "/admin/users"}, headers=HTML
    )
    added = client.post(
        "/admin/users/add", data={"csrf_token": csrf, "name": "e2e-late", "role": "agent"}, headers=HTML
    )
    client.close()

    assert refused.status_code == 403
    assert "This action needs a fresh code from your authenticator app." in refused.text
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, "/admin/users")
    assert added.status_code == 200
    assert "/enrol/" in added.text
    assert [e["actor"] for e in audit_events(server, "--action", "auth.step_up")] == ["e2e-stepper"]


def test_sighup_reloads_the_policy_and_an_invalid_policy_stops_the_start(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    shutil.copyfile(PROJECT_ROOT / "policies" / "default.toml", policy)
    server = server_factory(policy_path=str(policy))
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('name = "default"', 'name = "e2e"', 1), encoding="utf-8"
    )

    server.process.send_signal(signal.SIGHUP)
    loads = _wait_for_loads(server, 2)
    policy.write_text("[policy\n", encoding="utf-8")
    server.process.send_signal(signal.SIGHUP)
    loads = _wait_for_loads(server, 3)

    assert [(e["actor"], e["outcome"], str(e["target"]).split(";")[0]) for e in reversed(loads)] == [
        ("system", "success", "policy:default"),
        ("system:sighup", "success", "policy:e2e"),
        ("system:sighup", "failure", "policy:e2e"),
    ]
    assert server.running
    server.assert_clean_exit()

    refused = server.cli("serve", timeout=60)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"securedesk: error: Policy {policy} is invalid (1 problem); first: {policy}:1:")


def _wait_for_loads(server: RunningServer, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while True:
        loads = audit_events(server, "--action", "policy.load")
        if len(loads) >= count or time.monotonic() > deadline:
            return loads
        time.sleep(0.3)


def test_an_admin_creates_and_revokes_an_api_key_from_the_admin_pages(staff_server: RunningServer) -> None:
    admin = enrol(staff_server, "e2e-keymaster", "admin")
    client, csrf = login(staff_server, admin)
    page = client.get("/admin/api-keys", headers=HTML)
    created = client.post("/admin/api-keys/add", headers=HTML, data={
        "csrf_token": csrf, "name": "e2e-forum", "channel": "forum", "scope_screen": "1", "rate": "60",
        "return_to": "/admin/api-keys",
    })  # fmt: skip
    shown = re.search(r'id="api-key" type="text" readonly value="(sdk_[^"]+)"', created.text)
    assert shown is not None, created.text
    key = shown.group(1)
    api = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps({"parts": [{"name": "b", "text": "card 4111 1111 1111 1111"}]})
    screened = client.post("/api/v1/screen", content=body, headers=api)
    listing = client.get("/admin/api-keys", headers=HTML)
    revoked = client.post(
        "/admin/api-keys/revoke",
        headers=HTML,
        data={"csrf_token": csrf, "name": "e2e-forum", "return_to": "/admin/api-keys"},
    )
    refused = client.post("/api/v1/screen", content=body, headers=api)
    client.close()

    assert page.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    assert screened.json()["parts"] == [{"name": "b", "text": "card [CARD •••• 1111]"}]
    assert "e2e-forum" in listing.text
    assert key not in listing.text
    assert revoked.status_code == 303
    assert refused.status_code == 401
    actions = [e["action"] for e in audit_events(staff_server, "--actor", "e2e-keymaster")]
    assert "api_key.create" in actions
    assert "api_key.revoke" in actions
