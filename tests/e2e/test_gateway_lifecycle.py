"""The gateway in this process on loopback TLS: background services, SIGHUP reload hooks, and the shutdown order —
stop accepting, shutdown hooks, background services stopped, in-flight requests finished."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from e2e_harness import pick_free_port

from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.errors import ConfigError
from securedesk.gateway.services import Services, open_services
from securedesk.metrics import Metrics
from securedesk.server import Gateway, bind_listener, display_url
from securedesk.vault import LocalKeyFile
from securedesk.vault.devcerts import ensure_dev_certificates

pytestmark = pytest.mark.e2e


class RecordingService:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    @property
    def name(self) -> str:
        return "recorder"

    async def start(self) -> None:
        self.events.append("background.start")

    async def stop(self) -> None:
        self.events.append("background.stop")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data",
        key_dir=tmp_path / "keys",
        cert_dir=tmp_path / "certs",
        https_host="127.0.0.1",
        https_port=pick_free_port(),
        shutdown_grace_seconds=10,
    )
    LocalKeyFile(settings.key_dir).add_version()
    ensure_dev_certificates(settings.cert_dir, clock=SystemClock())
    async with open_services(settings, clock=SystemClock(), metrics=Metrics(process_metrics=False)) as opened:
        yield opened


async def test_reload_and_shutdown_order_with_a_request_in_flight(services: Services) -> None:
    settings = services.settings
    events: list[str] = []
    announced: list[str] = []
    body_may_finish, started, reloaded = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def announce(line: str) -> None:
        announced.append(line)
        started.set()

    async def reload_hook() -> None:
        events.append("reload")
        reloaded.set()

    async def shutdown_hook() -> None:
        # Runs after the listener stopped accepting, before anything else stops.
        events.append(f"shutdown_hook (accepting: {_port_open(settings.https_port)})")
        body_may_finish.set()

    async def failing_hook() -> None:
        raise RuntimeError("one hook failing does not stop the others")

    services.reload_hooks.append(reload_hook)
    services.shutdown_hooks.extend([failing_hook, shutdown_hook])
    gateway = Gateway(settings, background=[lambda s: RecordingService(events), lambda s: None])

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"lang=fr&"
        await body_may_finish.wait()
        yield b"next=/"

    with gateway.signal_handlers():
        run = asyncio.create_task(gateway.run(services, announce=announce))
        await asyncio.wait_for(started.wait(), 30)
        context = ssl.create_default_context(cafile=str(settings.ca_cert_path))
        async with httpx.AsyncClient(verify=context, base_url=gateway.urls[0].rstrip("/")) as client:
            assert (await client.get("/healthz")).status_code == 200
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.wait_for(reloaded.wait(), 10)
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            in_flight = asyncio.create_task(client.post("/lang", content=slow_body(), headers=form))
            await asyncio.sleep(0.3)  # the request is being read when the stop comes
            gateway.request_stop()
            response = await in_flight
        await run

    assert announced == [f"SecureDesk is running at https://localhost:{settings.https_port}/ — press Ctrl+C to stop."]
    assert events == ["background.start", "reload", "shutdown_hook (accepting: False)", "background.stop"]
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert not _port_open(settings.https_port)


async def test_start_refused_when_the_tls_key_is_unreadable(services: Services) -> None:
    services.settings.tls_key_path.write_text("not a key")
    gateway = Gateway(services.settings, background=())

    with pytest.raises(ConfigError, match=r"Cannot load the TLS certificate .*server\.pem and key .*server\.key"):
        await gateway.run(services, announce=print)
    assert not _port_open(services.settings.https_port)


async def test_background_service_that_fails_to_start_stops_the_start(services: Services) -> None:
    class Broken(RecordingService):
        async def start(self) -> None:
            raise ConfigError("SMTP port taken")

    events: list[str] = []
    gateway = Gateway(services.settings, background=[lambda s: RecordingService(events), lambda s: Broken(events)])

    with pytest.raises(ConfigError, match="SMTP port taken"):
        await gateway.run(services, announce=print)
    assert events == ["background.start", "background.stop"]  # the one that had started was stopped again
    assert not _port_open(services.settings.https_port)


def test_bind_listener_names_the_port_and_the_setting() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            bind_listener("127.0.0.1", port, purpose="HTTPS", setting="SECUREDESK_HTTPS_PORT")

    assert str(caught.value) == (
        f"Cannot listen for HTTPS on 127.0.0.1:{port}: the port is already in use. "
        "(stop the other process, or set SECUREDESK_HTTPS_PORT to a free port)"
    )


@pytest.mark.parametrize(
    ("host", "scheme", "expected"),
    [
        ("127.0.0.1", "https", "https://localhost:8443/"),
        ("0.0.0.0", "https", "https://localhost:8443/"),  # noqa: S104 - the wildcard is what is being tested
        ("::1", "https", "https://localhost:8443/"),
        ("192.0.2.7", "https", "https://192.0.2.7:8443/"),
        ("2001:db8::1", "http", "http://[2001:db8::1]:8443/"),
        ("gateway.example", "https", "https://gateway.example:8443/"),
    ],
)
def test_display_url(host: str, scheme: str, expected: str) -> None:
    assert display_url(host, 8443, scheme=scheme) == expected
