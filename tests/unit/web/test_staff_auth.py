"""Staff sign-in on the real app: login (password + TOTP), identical failures, lockout, per-address throttling,
session fixation, logout, CSRF and Origin checks, idle and absolute expiry, step-up, enrolment, disabling, WebSocket
handshakes, and the localized login page."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
from staff_support import HTML, PASSWORD, SESSION_COOKIE, Member, StaffWeb, csrf_of
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from securedesk.identity import LOCKOUT_THRESHOLD, Actor, Permission, Role, Session, SessionsEnded
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.web.auth import LoginThrottle, StaffRoute, require_step_up, websocket_session

ADMIN_ACTOR = Actor(name="cli:test", role="system", channel="cli")


def _set_cookie(response: Any) -> str:
    cookies = [value for name, value in response.headers.multi_items() if name == "set-cookie"]
    assert len(cookies) == 1, cookies
    return str(cookies[0])


async def _failed_login(web: StaffWeb, name: str, password: str, code: str) -> tuple[int, str]:
    response = await web.anonymous().client.post(
        "/login", data={"name": name, "password": password, "code": code}, headers=HTML
    )
    return response.status_code, response.text


# --- login -------------------------------------------------------------------------------------------------------


async def test_login_sets_a_host_cookie_and_goes_to_the_roles_start_page(staff_web: StaffWeb) -> None:
    admin = await staff_web.enrol("ada", Role.ADMIN)
    client = staff_web.client()

    response = await client.post(
        "/login", data={"name": "Ada", "password": PASSWORD, "code": staff_web.next_code(admin)}, headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    cookie = _set_cookie(response)
    token = client.cookies.get(SESSION_COOKIE)
    assert token is not None
    assert len(token) >= 43  # 256 bits, base64url
    assert cookie == f"{SESSION_COOKIE}={token}; HttpOnly; Path=/; SameSite=strict; Secure"
    assert (await client.get("/admin/users", headers=HTML)).status_code == 200
    assert ("auth.login", "ada", "success") in [a[:3] for a in await staff_web.audit_actions()]


async def test_every_login_failure_gets_the_same_answer(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    disabled = await staff_web.enrol("dora")
    await staff_web.services.identity.accounts.disable("dora", actor=ADMIN_ACTOR)
    await staff_web.services.identity.accounts.add("pending-pete", Role.AGENT, actor=ADMIN_ACTOR)
    right = staff_web.next_code(agent)

    answers = {
        "unknown account": await _failed_login(staff_web, "nobody", PASSWORD, right),
        "wrong password": await _failed_login(staff_web, "agnes", "not the password at all", right),
        "wrong code": await _failed_login(staff_web, "agnes", PASSWORD, "000000"),
        "malformed code": await _failed_login(staff_web, "agnes", PASSWORD, "12ab"),
        "disabled account": await _failed_login(staff_web, "dora", PASSWORD, staff_web.next_code(disabled)),
        "not enrolled": await _failed_login(staff_web, "pending-pete", PASSWORD, "123456"),
        "empty form": await _failed_login(staff_web, "", "", ""),
    }

    first = answers["unknown account"]
    assert first[0] == 401
    assert "Login failed: check your name, password and authenticator code." in first[1]
    assert {name: answer == first for name, answer in answers.items()} == dict.fromkeys(answers, True)
    assert "agnes" not in first[1]


async def test_lockout_after_ten_failures_looks_like_any_other_failure(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    failure = await _failed_login(staff_web, "agnes", "wrong password 0", "000000")
    for attempt in range(1, LOCKOUT_THRESHOLD):
        assert await _failed_login(staff_web, "agnes", f"wrong password {attempt}", "000000") == failure

    locked = await _failed_login(staff_web, "agnes", PASSWORD, staff_web.next_code(agent))

    assert locked == failure
    actions = [a[:3] for a in await staff_web.audit_actions()]
    assert actions.count(("auth.login_failed", "agnes", "failure")) == LOCKOUT_THRESHOLD + 1
    assert ("auth.lockout", "agnes", "success") in actions
    staff_web.clock.advance(30 * 60)
    assert (await staff_web.login(agent)).cookie is not None  # 30 minutes later it opens again


async def test_an_address_with_too_many_failures_gets_429_before_any_check(staff_web: StaffWeb) -> None:
    settings = staff_web.settings.replace(login_ip_max_failures=3, login_ip_window_seconds=600)
    staff_web.app.state.login_throttle = LoginThrottle.from_settings(settings, staff_web.clock)
    agent = await staff_web.enrol("agnes")
    for attempt in range(3):
        status, _ = await _failed_login(staff_web, f"guess{attempt}", PASSWORD, "000000")
        assert status == 401
    events = len(await staff_web.audit_actions())

    response = await staff_web.anonymous().client.post(
        "/login", data={"name": "agnes", "password": PASSWORD, "code": staff_web.next_code(agent)}, headers=HTML
    )

    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 600
    assert "Too many failed logins from your network." in response.text
    assert len(await staff_web.audit_actions()) == events  # refused before the password was even looked at
    staff_web.clock.advance(600)
    assert (await staff_web.login(agent)).cookie is not None


# --- sessions ----------------------------------------------------------------------------------------------------


async def test_login_never_keeps_a_session_id_the_client_chose(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    client = staff_web.client()
    client.cookies.set(SESSION_COOKIE, "attacker-chosen-session-id", domain="localhost.local")

    staff = await staff_web.login(agent, client=client)

    assert staff.cookie not in (None, "attacker-chosen-session-id")


async def test_logging_in_again_ends_the_previous_session(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    first = await staff_web.login(agent)
    old = first.cookie

    await staff_web.login(agent, client=first.client)

    assert first.cookie != old
    replay = staff_web.client()
    replay.cookies.set(SESSION_COOKIE, str(old), domain="localhost.local")
    assert (await replay.get("/staff", headers=HTML)).status_code == 302
    assert ("session.end", "agnes", "success", "replaced at login") in [a[:4] for a in await staff_web.audit_actions()]


async def test_logout_ends_the_session_on_the_server(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    staff = await staff_web.login(agent)
    token = staff.cookie

    response = await staff.post("/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "Max-Age=0" in _set_cookie(response)
    replay = staff_web.client()
    replay.cookies.set(SESSION_COOKIE, str(token), domain="localhost.local")
    assert (await replay.get("/staff", headers=HTML)).status_code == 302
    assert ("session.end", "agnes", "success", "logout") in [a[:4] for a in await staff_web.audit_actions()]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 303),
        ({"Origin": "https://localhost:8443"}, 303),
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 303),  # what browsers send from a no-referrer page
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 303),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "null", "Sec-Fetch-Site": "same-site"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-origin"}, 303),
    ],
)
async def test_forms_from_another_site_are_refused(staff_web: StaffWeb, headers: dict[str, str], status: int) -> None:
    agent = await staff_web.enrol("agnes")
    staff = await staff_web.login(agent)

    response = await staff.client.post("/logout", data={"csrf_token": staff.csrf}, headers={**HTML, **headers})

    assert response.status_code == status


async def test_login_from_another_site_is_refused(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    response = await staff_web.client().post(
        "/login",
        data={"name": "agnes", "password": PASSWORD, "code": staff_web.next_code(agent)},
        headers={**HTML, "Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_idle_sessions_expire_after_15_minutes(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    staff = await staff_web.login(agent)
    staff_web.clock.advance(14 * 60)
    assert (await staff.get("/staff")).status_code == 200  # activity restarts the idle clock

    staff_web.clock.advance(15 * 60)
    response = await staff.get("/staff")

    assert response.status_code == 302
    assert response.headers["location"] == "/login"
    assert "Max-Age=0" in _set_cookie(response)  # the stale cookie is cleared
    assert ("session.end", "agnes", "success", "idle timeout") in [a[:4] for a in await staff_web.audit_actions()]


async def test_sessions_end_after_12_hours_however_active(staff_web: StaffWeb) -> None:
    agent = await staff_web.enrol("agnes")
    staff = await staff_web.login(agent)
    for _ in range(12 * 6 - 1):
        staff_web.clock.advance(10 * 60)
        assert (await staff.get("/staff")).status_code == 200

    staff_web.clock.advance(10 * 60)

    assert (await staff.get("/staff")).status_code == 302
    assert ("session.end", "agnes", "success", "absolute timeout") in [a[:4] for a in await staff_web.audit_actions()]


async def test_disabling_an_account_ends_its_sessions_and_tells_the_listeners(staff_web: StaffWeb) -> None:
    admin = await staff_web.login(await staff_web.enrol("ada", Role.ADMIN))
    agent = await staff_web.login(await staff_web.enrol("agnes"))
    ended: list[SessionsEnded] = []

    async def listener(event: SessionsEnded) -> None:
        ended.append(event)

    staff_web.services.identity.listeners.add(listener)

    response = await admin.post("/admin/users/disable", {"name": "agnes"})

    assert response.status_code == 303
    assert (await agent.get("/staff")).status_code == 302
    assert [(e.staff_id, e.reason, len(e.session_keys)) for e in ended] == [
        (agent.member.member.id if agent.member else "", "account disabled", 1)
    ]
    page = await admin.get("/admin/users")
    assert re.search(
        r'id="user-agnes">\s*<th scope="row">agnes</th>\s*<td><span class="badge badge-disabled">', page.text
    )


# --- step-up -----------------------------------------------------------------------------------------------------


async def test_sensitive_actions_need_a_fresh_code_then_go_back(staff_web: StaffWeb) -> None:
    member = await staff_web.enrol("ada", Role.ADMIN)
    admin = await staff_web.login(member)
    staff_web.clock.advance(staff_web.settings.step_up_seconds + 1)

    refused = await admin.post("/admin/keys/rotate", {"return_to": "/admin/keys"})

    assert refused.status_code == 403
    assert "This action needs a fresh code from your authenticator app." in refused.text
    assert 'name="return_to" value="/admin/keys"' in refused.text
    assert staff_web.services.vault.current_version == 1

    confirmed = await admin.post("/step-up", {"code": staff_web.next_code(member), "return_to": "/admin/keys"})

    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/admin/keys"
    assert (await admin.post("/admin/keys/rotate", {})).status_code == 303
    await staff_web.services.key_rotation.wait()
    assert staff_web.services.vault.current_version == 2
    assert ("auth.step_up", "ada", "success") in [a[:3] for a in await staff_web.audit_actions()]


async def test_a_used_or_wrong_step_up_code_is_refused(staff_web: StaffWeb) -> None:
    member = await staff_web.enrol("ada", Role.ADMIN)
    admin = await staff_web.login(member)
    used = code_at(member.secret, staff_web.clock.now()).reveal()  # the login's own step

    for code in (used, "000000", ""):
        response = await admin.post("/step-up", {"code": code})
        assert response.status_code == 401
        assert "The authenticator code was not accepted." in response.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "/\x00x"]
)
async def test_step_up_never_redirects_off_site(staff_web: StaffWeb, target: str) -> None:
    member = await staff_web.enrol("ada", Role.ADMIN)
    admin = await staff_web.login(member)

    response = await admin.post("/step-up", {"code": staff_web.next_code(member), "return_to": target})

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"


async def test_require_step_up_guards_a_reveal_like_route(staff_web: StaffWeb) -> None:
    async def reveal(request: Request, session: Session) -> Response:
        fresh = require_step_up(request)
        return PlainTextResponse(f"revealed for {fresh.principal.name}")

    staff_web.app.router.routes.insert(0, StaffRoute("/test/reveal", reveal, ("POST",), None).route())
    member = await staff_web.enrol("agnes")
    agent = await staff_web.login(member)
    assert (await agent.post("/test/reveal")).text == "revealed for agnes"

    staff_web.clock.advance(staff_web.settings.step_up_seconds)
    stale = await agent.client.post(
        "/test/reveal", data={"csrf_token": agent.csrf}, headers={"Accept": "application/json"}
    )

    assert stale.status_code == 403
    assert stale.json()["error"]["message"] == "Please confirm with your authenticator code first."


# --- enrolment ---------------------------------------------------------------------------------------------------


async def _link(web: StaffWeb, name: str) -> str:
    link = await web.services.identity.accounts.add(name, Role.AGENT, actor=ADMIN_ACTOR)
    return link.url.reveal().split("https://localhost:8443", 1)[1]


def _secret_of(page: str) -> str:
    match = re.search(r'<code class="secret" id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page)
    assert match is not None
    return match.group(1).replace(" ", "")


async def test_enrolment_page_is_private_and_never_logs_its_token(
    staff_web: StaffWeb, caplog: pytest.LogCaptureFixture
) -> None:
    path = await _link(staff_web, "newbie")
    token = path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="securedesk.web.access"):
        response = await staff_web.anonymous().get(path)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert 'src="data:image/svg+xml;base64,' in response.text
    assert len(_secret_of(response.text)) == 32
    routes = [getattr(r, "fields", {}).get("route") for r in caplog.records if hasattr(r, "fields")]
    assert "/enrol/{token}" in routes
    assert token not in caplog.text


async def test_enrolment_sets_password_and_authenticator_once(staff_web: StaffWeb) -> None:
    path = await _link(staff_web, "newbie")
    page = await staff_web.anonymous().get(path)
    secret = _secret_of(page.text)

    def code() -> str:
        return code_at(Sensitive(secret), staff_web.clock.now()).reveal()

    visitor = staff_web.anonymous()
    mismatch = await visitor.client.post(
        path, data={"password": PASSWORD, "password_confirm": PASSWORD + "!", "code": code()}, headers=HTML
    )
    common = await visitor.client.post(
        path, data={"password": "password1234", "password_confirm": "password1234", "code": code()}, headers=HTML
    )
    wrong = await visitor.client.post(
        path, data={"password": PASSWORD, "password_confirm": PASSWORD, "code": "000000"}, headers=HTML
    )
    done = await visitor.client.post(
        path, data={"password": PASSWORD, "password_confirm": PASSWORD, "code": code()}, headers=HTML
    )
    again = await visitor.get(path)

    assert (mismatch.status_code, common.status_code, wrong.status_code) == (422, 422, 401)
    assert "The two passwords are not the same." in mismatch.text
    assert "The password is one of the most common passwords." in common.text
    assert "The authenticator code is not right" in wrong.text
    assert _secret_of(wrong.text) == secret  # the same secret until the account is enrolled
    assert done.status_code == 200
    assert "Your account is ready" in done.text
    assert again.status_code == 404
    assert "This enrolment link is not valid" in again.text
    member = Member(await staff_web.services.identity.accounts.get("newbie"), Sensitive(secret))
    assert (await staff_web.login(member)).cookie is not None


# --- login page language ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "lang", "label"),
    [("en", "en", "Password"), ("fr-FR,fr;q=0.9", "fr", "Mot de passe"), ("sv", "sv", "Lösenord")],
)
async def test_login_page_speaks_the_visitors_language(
    staff_web: StaffWeb, accept_language: str, lang: str, label: str
) -> None:
    response = await staff_web.client().get("/login", headers={**HTML, "Accept-Language": accept_language})

    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert f'<label for="login-password">{label}</label>' in response.text


async def test_staff_pages_are_english_whatever_the_browser_says(staff_web: StaffWeb) -> None:
    staff = await staff_web.login(await staff_web.enrol("ada", Role.ADMIN))
    response = await staff.client.get("/admin/users", headers={**HTML, "Accept-Language": "sv"})

    assert '<html lang="en">' in response.text
    assert response.headers["content-language"] == "en"
    assert csrf_of(response.text) == staff.csrf


# --- WebSockets --------------------------------------------------------------------------------------------------


async def _handshake(web: StaffWeb, headers: list[tuple[bytes, bytes]]) -> str:
    """Drive one WebSocket handshake through the app; the first message it sends back (accept or close)."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "wss",
        "path": "/test/ws",
        "raw_path": b"/test/ws",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 1),
        "server": ("x", 443),
        "subprotocols": [],
        "state": {},
    }
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await incoming.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await incoming.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.accept":
            await incoming.put({"type": "websocket.disconnect", "code": 1000})

    await web.app(scope, receive, send)
    return str(sent[0]["type"]) + (f" {sent[0].get('code')}" if sent[0]["type"] == "websocket.close" else "")


async def test_websocket_handshakes_need_our_origin_a_session_and_the_permission(staff_web: StaffWeb) -> None:
    async def agent_socket(websocket: WebSocket) -> None:
        await websocket_session(websocket, Permission.CASE_READ)
        await websocket.accept()
        await websocket.receive()

    staff_web.app.router.routes.insert(0, WebSocketRoute("/test/ws", agent_socket))
    agent = await staff_web.login(await staff_web.enrol("agnes", queues=("general",)))
    admin = await staff_web.login(await staff_web.enrol("ada", Role.ADMIN))
    origin = (b"origin", b"https://localhost:8443")

    def cookie(staff: Any) -> tuple[bytes, bytes]:
        return (b"cookie", f"{SESSION_COOKIE}={staff.cookie}".encode())

    assert await _handshake(staff_web, [origin, cookie(agent)]) == "websocket.accept"
    assert await _handshake(staff_web, [(b"origin", b"https://evil.example"), cookie(agent)]) == "websocket.close 1008"
    assert await _handshake(staff_web, [cookie(agent)]) == "websocket.close 1008"
    assert await _handshake(staff_web, [origin]) == "websocket.close 1008"
    assert await _handshake(staff_web, [origin, cookie(admin)]) == "websocket.close 1008"


async def test_malformed_or_oversized_login_forms_are_refused(staff_web: StaffWeb) -> None:
    client = staff_web.client()

    crowded = await client.post("/login", data={f"field{n}": "x" for n in range(60)}, headers=HTML)
    long_name = await client.post("/login", data={"name": "a" * 300, "password": "x", "code": "1"}, headers=HTML)

    assert crowded.status_code == 400
    assert long_name.status_code == 400
    assert "set-cookie" not in crowded.headers
