"""Chat end-to-end helpers on top of e2e_harness: staff accounts made with the real CLI and enrolled through the real
HTTP pages (TOTP computed with pyotp, each time step used once), logins through ``/login``, and real WebSocket clients
(the ``websockets`` package) for customers and agents, over TLS trusting the development CA only.

Import as ``from chat_harness import ...`` (tests/e2e is on ``sys.path``); the browser tests use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
from e2e_harness import Installation
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PASSWORD = "correct horse battery staple"
STAFF_COOKIE = "__Host-securedesk"
CHAT_COOKIE = "__Host-securedesk-chat"
_LINK = re.compile(r"https://\S+/enrol/[A-Za-z0-9_-]+")
_SECRET = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


@dataclass
class StaffMember:
    """An enrolled staff account and its authenticator: ``next_code()`` gives a code of a time step not used yet."""

    name: str
    secret: str
    password: str = PASSWORD
    last_step: int = 0

    def next_code(self) -> str:
        totp = pyotp.TOTP(self.secret)
        while True:
            current = int(time.time()) // 30
            step = max(current - 1, self.last_step + 1)
            if step <= current + 1:  # the server accepts one step either side of its own
                self.last_step = step
                return totp.at(step * 30)
            time.sleep(1.0)


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)


def add_staff(server: Installation, name: str, role: str = "agent", queues: str = "general") -> StaffMember:
    """``securedesk users add`` (the real CLI), then the enrolment pages over HTTPS with a pyotp code."""
    result = server.cli("users", "add", name, "--role", role, "--queues", queues)
    assert result.returncode == 0, result.stderr
    match = _LINK.search(result.stdout)
    assert match is not None, result.stdout
    path = "/enrol/" + match.group(0).rsplit("/enrol/", 1)[1]
    with server.client() as client:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, page.text[:500]
        secret_match = _SECRET.search(page.text)
        assert secret_match is not None
        member = StaffMember(name, secret_match.group(1).replace(" ", ""))
        done = client.post(
            path,
            data={"password": PASSWORD, "password_confirm": PASSWORD, "code": member.next_code()},
            headers={**HTML, "Origin": server.base_url},
        )
        assert done.status_code == 200, done.text[:500]
    return member


def login(server: Installation, member: StaffMember) -> httpx.Client:
    """A client logged in through ``/login`` (password and TOTP), holding the session cookie; already open, so close
    it with ``contextlib.closing``."""
    client = server.client(follow_redirects=False)
    response = client.post(
        "/login",
        data={"name": member.name, "password": member.password, "code": member.next_code()},
        headers={**HTML, "Origin": server.base_url},
    )
    assert response.status_code == 303, response.text[:500]
    return client


def session_cookie(client: httpx.Client) -> str:
    value = client.cookies.get(STAFF_COOKIE)
    assert value is not None
    return value


def raw_database(server: Installation) -> bytes:
    """The database file with its -wal and -shm, as they are on disk now."""
    path = server.settings.database_path
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def ws_url(server: Installation, path: str) -> str:
    return f"wss://localhost:{server.port}{path}"


@dataclass
class Socket:
    """A WebSocket client that keeps every frame it received (``frames``) and how it was closed."""

    connection: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    _reader: asyncio.Task[None] | None = None

    def start(self) -> Socket:
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                self.frames.append(json.loads(raw))
        except ConnectionClosed:
            pass
        self.close_code = self.connection.close_code

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def wait_for(self, predicate: Any, within: float = 10.0) -> dict[str, Any]:
        """The first frame (received so far or later) for which ``predicate(frame)`` is true."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            if self._reader is not None and self._reader.done():
                break
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching frame within {within}s; got {self.frames!r}")

    async def wait_closed(self, within: float = 15.0) -> int | None:
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), within)
        return self.close_code

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame.get("type") == kind]

    def text(self) -> str:
        return json.dumps(self.frames, ensure_ascii=False)

    async def close(self) -> None:
        await self.connection.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


async def open_socket(
    server: Installation, path: str, *, cookie: str | None, origin: str | None = None, max_size: int | None = 2**20
) -> Socket:
    headers = {"Cookie": cookie} if cookie else {}
    connection = await connect(
        ws_url(server, path),
        ssl=server.ssl_context(),
        origin=origin or server.base_url,  # type: ignore[arg-type]
        additional_headers=headers,
        max_size=max_size,
        open_timeout=10,
    )
    return Socket(connection).start()


def chat_cookie(server: Installation, lang: str = "en") -> str:
    """Open the widget page as a browser would: it issues the conversation in a signed cookie."""
    with server.client() as client:
        page = client.get(f"/chat?lang={lang}", headers=HTML)
        assert page.status_code == 200, page.text[:300]
        value = client.cookies.get(CHAT_COOKIE)
    assert value is not None
    return f"{CHAT_COOKIE}={value}"


@contextlib.asynccontextmanager
async def customer(server: Installation, lang: str = "en") -> AsyncIterator[Socket]:
    """A customer in a new conversation (``hello`` received)."""
    socket = await open_socket(server, f"/chat/ws?lang={lang}", cookie=chat_cookie(server, lang))
    try:
        await socket.wait_for(lambda f: f["type"] == "hello")
        yield socket
    finally:
        await socket.close()


@contextlib.asynccontextmanager
async def agent_socket(server: Installation, client: httpx.Client) -> AsyncIterator[Socket]:
    socket = await open_socket(server, "/agent/ws", cookie=f"{STAFF_COOKIE}={session_cookie(client)}")
    try:
        await socket.wait_for(lambda f: f["type"] == "hello")
        yield socket
    finally:
        await socket.close()


def page_text(page: str) -> str:
    """An HTML page's text, entities decoded (to search it for values)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))
