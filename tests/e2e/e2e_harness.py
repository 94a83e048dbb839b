"""End-to-end harness: the real ``securedesk`` command in a subprocess, in a temporary data directory, on free
loopback ports, reached over real TLS that trusts the development CA ``securedesk init`` made.

``RunningServer`` gives ``base_url``, ``ca_path``, ``env`` (the ``SECUREDESK_*`` settings), ``ssl_context()`` for httpx
(``verify=``) and websockets (``ssl=``), ``client()``, ``cli(...)`` to run another command on the same data directory,
and ``stop()``. Import it in tests as ``from e2e_harness import RunningServer`` (tests/e2e is on ``sys.path``: pytest
puts a conftest's folder there); the fixtures are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from securedesk.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0


def pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def securedesk_env(root: Path, *, https_port: int, **extra: str) -> dict[str, str]:
    """The environment for a server rooted in ``root``: no ``SECUREDESK_*`` from outside, free ports everywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREDESK_")}
    origin = f"https://localhost:{https_port}"
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "SECUREDESK_DATA_DIR": str(root / "data"),
            "SECUREDESK_KEY_DIR": str(root / "keys"),
            "SECUREDESK_CERT_DIR": str(root / "certs"),
            "SECUREDESK_POLICY_PATH": str(PROJECT_ROOT / "policies" / "default.toml"),
            "SECUREDESK_HTTPS_HOST": "127.0.0.1",
            "SECUREDESK_HTTPS_PORT": str(https_port),
            "SECUREDESK_PUBLIC_BASE_URL": origin,
            "SECUREDESK_ALLOWED_ORIGINS": f"{origin},https://127.0.0.1:{https_port}",
            "SECUREDESK_SMTP_HOST": "127.0.0.1",
            "SECUREDESK_SMTP_PORT": str(pick_free_port()),
            "SECUREDESK_LOG_LEVEL": "INFO",
        }
    )
    env.update({k if k.startswith("SECUREDESK_") else f"SECUREDESK_{k.upper()}": v for k, v in extra.items()})
    return env


def run_cli(env: dict[str, str], cwd: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "securedesk.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Installation:
    """A data directory with its settings (``env``) and the HTTPS port reserved for it."""

    root: Path
    env: dict[str, str]
    port: int

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def settings(self) -> Settings:
        return Settings.load(self.env)

    @property
    def ca_path(self) -> Path:
        return self.settings.ca_cert_path

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the development CA only (not the system store): for httpx ``verify=`` and websockets ``ssl=``."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        return context

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, verify=self.ssl_context(), timeout=10.0, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, verify=self.ssl_context(), timeout=10.0, **kwargs)

    def cli(self, *args: str, timeout: float = 120.0, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``securedesk ARGS`` against the same data directory (extra ``SECUREDESK_*`` variables allowed)."""
        return run_cli({**self.env, **env}, self.root, *args, timeout=timeout)


@dataclass
class RunningServer(Installation):
    """``securedesk serve`` running on an ``Installation``; its stdout and stderr go to files in ``root``."""

    process: subprocess.Popen[bytes] = field(kw_only=True)
    stdout_path: Path = field(kw_only=True)
    stderr_path: Path = field(kw_only=True)
    returncode: int | None = field(default=None, kw_only=True)

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Send ``sig`` (SIGTERM) and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                pytest.fail(f"securedesk serve did not stop within {timeout}s of {sig.name}\n{self._tail()}")
        self.returncode = self.process.returncode
        return self.returncode

    def _tail(self) -> str:
        return f"--- stdout ---\n{self.stdout()[-3000:]}\n--- stderr ---\n{self.stderr()[-6000:]}"

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"securedesk serve exited with {code} before it was ready\n{self._tail()}")
            try:
                # Built each time: with init=False the CA appears only once serve has initialized.
                response = httpx.get(f"{self.base_url}/readyz", verify=self.ssl_context(), timeout=2.0)
                if response.status_code == 200:
                    return
                last_error = f"/readyz answered {response.status_code}: {response.text[:200]}"
            except (httpx.TransportError, ssl.SSLError, OSError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        pytest.fail(f"securedesk serve was not ready within {timeout}s ({last_error})\n{self._tail()}")

    def assert_clean_exit(self) -> None:
        code = self.stop()
        stderr = self.stderr()
        assert code == 0, f"securedesk serve exited with {code}\n{self._tail()}"
        assert "Traceback" not in stderr, self._tail()


def new_installation(root: Path, *, init: bool = True, **env: str) -> Installation:
    """Settings for a server in ``root`` on a free port; ``securedesk init`` run there unless ``init=False``."""
    root.mkdir(parents=True, exist_ok=True)
    port = pick_free_port()
    installation = Installation(root, securedesk_env(root, https_port=port, **env), port)
    if init:
        result = installation.cli("init")
        if result.returncode != 0:
            pytest.fail(f"securedesk init failed ({result.returncode})\n{result.stdout}\n{result.stderr}")
    return installation


def serve(installation: Installation) -> RunningServer:
    """``securedesk serve`` on ``installation`` in the background; returns once ``/readyz`` answers 200 over TLS."""
    root = installation.root
    stdout_path, stderr_path = root / "serve.stdout", root / "serve.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "securedesk.cli", "serve"], env=installation.env, cwd=root, stdout=out, stderr=err
        )
    server = RunningServer(
        installation.root,
        installation.env,
        installation.port,
        process=process,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        server.wait_ready()
    except BaseException:
        if server.running:  # never leave a server behind when the test cannot use it
            server.process.kill()
            server.process.wait(timeout=10)
        raise
    return server


def start_server(root: Path, *, init: bool = True, **env: str) -> RunningServer:
    """``securedesk init`` (unless ``init=False``: then ``serve`` initializes), then ``securedesk serve``, ready."""
    return serve(new_installation(root, init=init, **env))


class ServerFactory:
    """Starts servers (and bare installations) in numbered folders under ``base``; checks they stop cleanly."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._folders = 0
        self.started: list[RunningServer] = []

    def installation(self, *, init: bool = True, **env: str) -> Installation:
        self._folders += 1
        return new_installation(self._base / f"server{self._folders}", init=init, **env)

    def __call__(self, *, init: bool = True, **env: str) -> RunningServer:
        server = serve(self.installation(init=init, **env))
        self.started.append(server)
        return server

    def close(self) -> None:
        problems: list[str] = []
        for server in self.started:
            if server.returncode is not None:
                continue  # the test stopped it and checked the exit itself
            try:
                server.assert_clean_exit()
            except (AssertionError, pytest.fail.Exception) as exc:
                problems.append(str(exc))
        if problems:
            pytest.fail("a server did not exit cleanly on SIGTERM:\n" + "\n".join(problems))
