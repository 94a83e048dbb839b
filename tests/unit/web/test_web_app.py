"""The web app driven in process: security headers, error pages, size limit, health, metrics, language, logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuditError, PermissionDenied
from securedesk.gateway.services import Services, open_services
from securedesk.metrics import Metrics
from securedesk.vault import LocalKeyFile
from securedesk.vault.keys import key_file_name
from securedesk.web.app import create_app, create_metrics_app
from securedesk.web.i18n import LANGUAGE_COOKIE
from securedesk.web.middleware import CONTENT_SECURITY_POLICY

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}

EXPECTED_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "x-frame-options": "DENY",
}


@dataclass
class WebApp:
    app: Starlette
    client: httpx.AsyncClient
    services: Services
    settings: Settings


@pytest.fixture
async def web(settings: Settings, clock: FixedClock) -> AsyncIterator[WebApp]:
    """The real app on an in-process ASGI transport, with real services (database, vault) under tmp_path."""
    settings = settings.replace(max_request_bytes=4_096)
    LocalKeyFile(settings.key_dir).add_version()
    async with open_services(settings, clock=clock, metrics=Metrics(process_metrics=False)) as services:
        app = create_app(settings, clock=clock, services=services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as client:
            yield WebApp(app, client, services, settings)


def _add_route(web: WebApp, path: str, endpoint: object, methods: list[str] | None = None) -> None:
    web.app.router.routes.append(Route(path, endpoint, methods=methods))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/", HTML, 200),
        ("GET", "/healthz", JSON, 200),
        ("GET", "/readyz", JSON, 200),
        ("GET", "/does-not-exist", HTML, 404),
        ("GET", "/does-not-exist", JSON, 404),
        ("PUT", "/", HTML, 405),
        ("GET", "/metrics", JSON, 404),
        ("GET", "/static/securedesk.css", {}, 200),
    ],
)
async def test_every_response_carries_the_security_headers(
    web: WebApp, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await web.client.request(method, path, headers=headers)

    assert response.status_code == status
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])
    assert "server" not in response.headers


async def test_pages_and_api_answers_are_not_cached_but_static_files_are(web: WebApp) -> None:
    page = await web.client.get("/", headers=HTML)
    css_url = re.search(r'href="(/static/securedesk\.css\?v=[0-9a-f]{16})"', page.text)
    assert css_url is not None
    static = await web.client.get(css_url.group(1))

    assert page.headers["cache-control"] == "no-store"
    assert (await web.client.get("/readyz")).headers["cache-control"] == "no-store"
    assert (await web.client.get("/nowhere")).headers["cache-control"] == "no-store"
    assert static.status_code == 200
    assert static.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert static.headers["content-type"].startswith("text/css")


async def test_landing_page_has_no_inline_script_or_style(web: WebApp) -> None:
    page = (await web.client.get("/", headers=HTML)).text

    assert "<script>" not in page
    assert "<style" not in page
    assert re.search(r"\sstyle=", page) is None
    assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers
    assert '<html lang="en">' in page
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page


@pytest.mark.parametrize(
    ("query", "cookie", "accept_language", "lang", "heading"),
    [
        ("", None, None, "en", "Contact support safely"),
        ("", None, "fr-FR,fr;q=0.9,en;q=0.5", "fr", "Contacter le support en toute sécurité"),
        ("", None, "de-DE, sv;q=0.7, en;q=0.3", "sv", "Kontakta supporten säkert"),
        ("", "sv", "fr", "sv", "Kontakta supporten säkert"),
        ("?lang=fr", "sv", "en", "fr", "Contacter le support en toute sécurité"),
        ("?lang=xx", "zz", "de", "en", "Contact support safely"),
    ],
)
async def test_landing_page_language(
    web: WebApp, query: str, cookie: str | None, accept_language: str | None, lang: str, heading: str
) -> None:
    headers = dict(HTML)
    if accept_language:
        headers["Accept-Language"] = accept_language
    if cookie:
        headers["Cookie"] = f"{LANGUAGE_COOKIE}={cookie}"

    response = await web.client.get(f"/{query}", headers=headers)

    assert response.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in response.text
    assert f"<h1>{heading}</h1>" in response.text


async def test_language_switch_sets_a_host_cookie_and_returns_to_the_page(web: WebApp) -> None:
    response = await web.client.post("/lang", data={"lang": "sv", "next": "/some/page"})

    assert response.status_code == 303
    assert response.headers["location"] == "/some/page"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=sv;")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Secure", "Max-Age=31536000"):
        assert attribute in cookie
    assert "Domain" not in cookie


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "/a\r\nb", ""]
)
async def test_language_switch_never_redirects_off_site(web: WebApp, next_path: str) -> None:
    response = await web.client.post("/lang", data={"lang": "fr", "next": next_path})

    assert (response.status_code, response.headers["location"]) == (303, "/")


async def test_unknown_language_sets_no_cookie(web: WebApp) -> None:
    response = await web.client.post("/lang", data={"lang": "<script>", "next": "/"})

    assert response.status_code == 303
    assert "set-cookie" not in response.headers


async def test_not_found_is_generic_in_html_and_json(web: WebApp) -> None:
    html = await web.client.get("/admin/secret-thing", headers={**HTML, "Accept-Language": "sv"})
    data = await web.client.get("/admin/secret-thing", headers=JSON)

    assert html.status_code == data.status_code == 404
    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Sidan hittades inte</h1>" in html.text
    assert html.headers["x-request-id"] in html.text  # the reference support can look up in the log
    assert data.json() == {
        "error": {"status": 404, "message": "Not found.", "request_id": data.headers["x-request-id"]}
    }


async def test_method_not_allowed_keeps_the_allow_header(web: WebApp) -> None:
    response = await web.client.delete("/healthz", headers=JSON)

    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert response.json()["error"]["message"] == "Method not allowed."


async def test_unexpected_exception_is_a_generic_500_without_internals(
    web: WebApp, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: object) -> None:
        raise RuntimeError("internal detail: /etc/secret-path and 4111111111111111")

    _add_route(web, "/boom", boom)
    with caplog.at_level(logging.INFO):
        html = await web.client.get("/boom", headers=HTML)
        data = await web.client.get("/boom", headers=JSON)

    for response in (html, data):
        assert response.status_code == 500
        assert "internal detail" not in response.text
        assert "4111111111111111" not in response.text
        assert "Traceback" not in response.text
        assert "RuntimeError" not in response.text
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["cache-control"] == "no-store"
    assert "<h1>Something went wrong</h1>" in html.text
    assert data.json()["error"]["message"] == "Internal error. Please try again later."
    errors = [r for r in caplog.records if r.getMessage() == "request.error"]
    assert [r.fields["error"]["type"] for r in errors] == ["RuntimeError", "RuntimeError"]  # type: ignore[attr-defined]
    assert all("message" not in r.fields["error"] for r in errors)  # type: ignore[attr-defined]
    assert "4111111111111111" not in caplog.text


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (PermissionDenied("agent 7 may not reveal on case 12"), 403, "You do not have permission to do this."),
        (AuditError("audit table locked"), 503, "The action could not be recorded and was not performed."),
    ],
)
async def test_securedesk_errors_answer_with_their_status_and_public_message(
    web: WebApp, error: Exception, status: int, message: str
) -> None:
    async def fail(request: object) -> None:
        raise error

    _add_route(web, "/fail", fail)
    response = await web.client.get("/fail", headers=JSON)

    assert response.status_code == status
    assert response.json()["error"]["message"] == message
    assert str(error) not in response.text


async def test_declared_oversize_body_is_refused_before_it_is_read(web: WebApp) -> None:
    read: list[bytes] = []

    async def echo(request: object) -> None:
        read.append(await request.body())  # type: ignore[attr-defined]

    _add_route(web, "/echo", echo, methods=["POST"])
    response = await web.client.post("/echo", content=b"x" * 4_097, headers=JSON)

    assert response.status_code == 413
    assert response.json()["error"]["message"] == "The request is too large."
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert read == []


async def test_streamed_oversize_body_is_cut_off_at_the_limit(web: WebApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 1_000  # no Content-Length: chunked

    response = await web.client.post(
        "/lang", content=chunks(), headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413
    assert "set-cookie" not in response.headers


async def test_body_at_the_limit_is_accepted(web: WebApp) -> None:
    async def size(request: object) -> object:
        from starlette.responses import JSONResponse

        return JSONResponse({"bytes": len(await request.body())})  # type: ignore[attr-defined]

    _add_route(web, "/size", size, methods=["POST"])
    response = await web.client.post("/size", content=b"z" * 4_096)

    assert (response.status_code, response.json()) == (200, {"bytes": 4_096})


@pytest.mark.parametrize("content_length", [b"12abc", b"-1", b"99999999999999999999999"])
async def test_malformed_content_length_is_a_400(web: WebApp, content_length: bytes) -> None:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/lang",
        "raw_path": b"/lang",
        "root_path": "",
        "query_string": b"",
        "server": ("localhost", 443),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"content-length", content_length), (b"accept", b"application/json")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asgi: Receive = receive
    out: Send = send
    await web.app(scope, asgi, out)

    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"]["message"] == "The request was malformed."


async def test_healthz_and_readyz(web: WebApp) -> None:
    assert (await web.client.get("/healthz")).json() == {"status": "ok"}
    ready = await web.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "checks": {"database": "ok", "kek": "ok", "audit": "ok"}},
    )


async def test_readyz_fails_when_the_kek_file_is_gone(web: WebApp) -> None:
    (web.settings.key_dir / key_file_name(1)).unlink()

    response = await web.client.get("/readyz")

    assert (response.status_code, response.json()) == (
        503,
        {"status": "not_ready", "checks": {"database": "ok", "kek": "failed", "audit": "ok"}},
    )


async def test_readyz_fails_when_the_kek_file_is_replaced(web: WebApp) -> None:
    path = web.settings.key_dir / key_file_name(1)
    path.write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")  # a valid-looking, different 32-byte key

    response = await web.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["kek"] == "failed"


async def test_readyz_fails_when_the_audit_guards_are_gone(web: WebApp) -> None:
    async with web.services.database.transaction() as conn:
        triggers = await (await conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")).fetchall()
        for (name,) in triggers:
            await conn.execute(f'DROP TRIGGER "{name}"')

    response = await web.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "kek": "ok", "audit": "failed"}


async def test_readyz_fails_when_the_database_is_closed(web: WebApp) -> None:
    await web.services.database.close()

    response = await web.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failed"


async def test_metrics_are_hidden_on_the_main_app_until_an_authorizer_admits(web: WebApp) -> None:
    assert (await web.client.get("/metrics", headers=JSON)).status_code == 404

    async def deny(request: object) -> bool:
        return False

    async def admit(request: object) -> bool:
        return True

    web.services.metrics_authorizer = deny
    assert (await web.client.get("/metrics", headers=JSON)).status_code == 404
    web.services.metrics_authorizer = admit
    response = await web.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'securedesk_http_requests_total{method="GET",route="/metrics",status="404"} 2.0' in response.text


async def test_metrics_app_serves_only_metrics(web: WebApp) -> None:
    await web.client.get("/healthz")
    app = create_metrics_app(web.services.metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as client:
        metrics = await client.get("/metrics")
        other = await client.get("/")

    assert metrics.status_code == 200
    assert 'securedesk_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics.text
    assert other.status_code == 404


async def test_access_log_has_route_template_never_path_or_query(web: WebApp, caplog: pytest.LogCaptureFixture) -> None:
    async def case(request: object) -> object:
        from starlette.responses import JSONResponse

        return JSONResponse({})

    _add_route(web, "/cases/{case_id}", case)
    with caplog.at_level(logging.INFO, logger="securedesk.web.access"):
        await web.client.get("/cases/C-4111111111111111?token=tok_secretvalue", headers=JSON)
        await web.client.get("/unknown/tok_other?code=123456", headers=JSON)
        await web.client.get("/static/securedesk.css?v=1")

    lines = [r for r in caplog.records if r.name == "securedesk.web.access"]
    fields = [r.fields for r in lines]  # type: ignore[attr-defined]
    assert [(f["method"], f["route"], f["status"]) for f in fields] == [
        ("GET", "/cases/{case_id}", 200),
        ("GET", "unmatched", 404),
        ("GET", "/static", 200),
    ]
    assert all(set(f) == {"request_id", "method", "route", "status", "duration_ms"} for f in fields)
    for secret in ("4111111111111111", "tok_secretvalue", "tok_other", "123456"):
        assert secret not in caplog.text
