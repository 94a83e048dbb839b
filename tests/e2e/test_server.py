"""``securedesk serve`` as a real process over real TLS: handshake, headers, limits, health, metrics, shutdown,
refusals, and the settings command."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import warnings

import httpx
import pytest
from e2e_harness import RunningServer, ServerFactory

from securedesk.vault.keys import key_file_name

pytestmark = pytest.mark.e2e

HTML = {"Accept": "text/html"}
SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "permissions-policy",
    "x-frame-options",
)


def test_tls_handshake_trusting_the_dev_ca(securedesk_server: RunningServer) -> None:
    context = securedesk_server.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", securedesk_server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version = tls.version()
        peer = tls.getpeercert(binary_form=True)

    assert version in ("TLSv1.2", "TLSv1.3")
    expected = ssl.PEM_cert_to_DER_cert(securedesk_server.settings.tls_cert_path.read_text())
    assert peer == expected


def test_tls_handshake_fails_without_the_dev_ca(securedesk_server: RunningServer) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{securedesk_server.base_url}/healthz", verify=ssl.create_default_context(), timeout=5)


def test_tls_below_1_2_is_refused(securedesk_server: RunningServer) -> None:
    context = securedesk_server.ssl_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # asking for TLS 1.1 is the point
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        pytest.raises(ssl.SSLError),
        socket.create_connection(("127.0.0.1", securedesk_server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost"),
    ):
        pass


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 200), ("GET", "/no/such/page", 404), ("DELETE", "/", 405), ("GET", "/static/securedesk.css", 200)],
)
def test_security_headers_on_pages_and_error_pages(
    securedesk_server: RunningServer, method: str, path: str, status: int
) -> None:
    with securedesk_server.client() as client:
        response = client.request(method, path, headers=HTML)

    assert response.status_code == status
    for name in SECURITY_HEADERS:
        assert name in response.headers, name
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers
    if path.startswith("/static/"):
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    else:
        assert response.headers["cache-control"] == "no-store"


def test_error_page_shows_nothing_internal(securedesk_server: RunningServer) -> None:
    with securedesk_server.client() as client:
        html = client.get("/no/such/page", headers=HTML)
        data = client.get("/no/such/page")

    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in html.text
    assert "Traceback" not in html.text
    assert "starlette" not in html.text.lower()
    assert data.json() == {
        "error": {"status": 404, "message": "Not found.", "request_id": data.headers["x-request-id"]}
    }


def test_oversize_body_is_refused_with_413(securedesk_server: RunningServer) -> None:
    limit = securedesk_server.settings.max_request_bytes
    with securedesk_server.client() as client:
        response = client.post("/lang", content=b"a" * (limit + 1), headers={"Accept": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["message"] == "The request is too large."
    assert "content-security-policy" in response.headers


def test_healthz_and_readyz(securedesk_server: RunningServer) -> None:
    with securedesk_server.client() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "checks": {"database": "ok", "kek": "ok", "audit": "ok"}},
    )


def test_metrics_are_not_exposed_on_the_main_app(securedesk_server: RunningServer) -> None:
    with securedesk_server.client() as client:
        response = client.get("/metrics")

    assert response.status_code == 404
    assert "securedesk_" not in response.text


def test_metrics_on_their_own_listener(server_factory: ServerFactory, free_port: int) -> None:
    server = server_factory(metrics_port=str(free_port))
    with server.client() as client:
        client.get("/healthz")
        main = client.get("/metrics")
    metrics = httpx.get(f"http://127.0.0.1:{free_port}/metrics", timeout=5)

    assert main.status_code == 404
    assert metrics.status_code == 200
    assert 'securedesk_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics.text
    assert f"(metrics: http://localhost:{free_port}/metrics)" in server.stdout()


def test_access_log_is_json_with_route_templates_only(securedesk_server: RunningServer) -> None:
    with securedesk_server.client() as client:
        client.get("/unknown/tok_abcdef0123?code=246810")
    lines = [json.loads(line) for line in securedesk_server.stderr().splitlines() if line.startswith("{")]

    requests = [line for line in lines if line["event"] == "http.request"]
    assert requests, securedesk_server.stderr()
    assert {"request_id", "method", "route", "status", "duration_ms"} <= set(requests[-1])
    assert (requests[-1]["route"], requests[-1]["status"]) == ("unmatched", 404)
    assert "tok_abcdef0123" not in securedesk_server.stderr()
    assert "246810" not in securedesk_server.stderr()


def test_startup_line_names_the_url(securedesk_server: RunningServer) -> None:
    assert f"SecureDesk is running at https://localhost:{securedesk_server.port}/" in securedesk_server.stdout()


def test_sigterm_stops_cleanly_with_exit_code_0(server_factory: ServerFactory) -> None:
    server = server_factory()
    with server.client() as client:
        assert client.get("/healthz").status_code == 200

    code = server.stop(signal.SIGTERM)

    assert code == 0, server.stderr()
    assert "Traceback" not in server.stderr()
    assert '"event":"shutdown.done"' in server.stderr()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass


def test_sigint_stops_cleanly_too(server_factory: ServerFactory) -> None:
    server = server_factory()

    assert server.stop(signal.SIGINT) == 0, server.stderr()


def test_start_is_refused_without_the_kek(server_factory: ServerFactory) -> None:
    server = server_factory.installation()
    (server.settings.key_dir / key_file_name(1)).unlink()

    result = server.cli("serve", timeout=60)

    assert result.returncode != 0
    assert "securedesk: error: No key-encrypting key in" in result.stderr
    assert "restore the key directory from backup" in result.stderr
    assert "Traceback" not in result.stderr
    assert "SecureDesk is running" not in result.stdout


def test_start_is_refused_with_a_corrupt_kek(server_factory: ServerFactory) -> None:
    server = server_factory.installation()
    (server.settings.key_dir / key_file_name(1)).write_text("not a key\n")

    result = server.cli("serve", timeout=60)

    assert result.returncode != 0
    assert f"securedesk: error: Key file {server.settings.key_dir / key_file_name(1)} is corrupt" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_is_refused_when_the_port_is_taken(server_factory: ServerFactory) -> None:
    server = server_factory.installation()
    with socket.create_server(("127.0.0.1", server.port)):
        result = server.cli("serve", timeout=60)

    assert result.returncode != 0
    assert f"Cannot listen for HTTPS on 127.0.0.1:{server.port}: the port is already in use." in result.stderr
    assert "SECUREDESK_HTTPS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_initializes_a_fresh_installation(server_factory: ServerFactory) -> None:
    server = server_factory(init=False)

    assert "First start: running `securedesk init`." in server.stdout()
    assert "TLS certificates: development CA and localhost certificate created" in server.stdout()
    assert server.settings.database_path.exists()


def test_config_show_masks_secrets(securedesk_server: RunningServer) -> None:
    kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    result = securedesk_server.cli(
        "config", "show", SECUREDESK_KEK=kek, SECUREDESK_WEBHOOK_SECRET="whsec-e2e-do-not-print"
    )

    assert result.returncode == 0, result.stderr
    shown = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert shown["kek"] == "•••• (set)"
    assert shown["webhook_secret"] == "•••• (set)"
    assert shown["https_port"] == str(securedesk_server.port)
    assert kek not in result.stdout
    assert "whsec-e2e-do-not-print" not in result.stdout
