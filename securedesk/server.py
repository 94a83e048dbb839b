"""``securedesk serve``: one process, one event loop — the HTTPS app on uvicorn, the optional metrics listener and
the background services — with graceful shutdown on SIGTERM/SIGINT and reload hooks on SIGHUP.

Shutdown order: stop accepting (close the listening sockets), run ``Services.shutdown_hooks`` (the chat closes its
WebSockets with 1001), stop the background services (newest first), let in-flight requests finish (up to
``Settings.shutdown_grace_seconds``), then close the database. A second signal skips the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import ipaddress
import logging
import signal
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Final, Protocol, TextIO

import uvicorn
from starlette.types import ASGIApp

from securedesk.channels.email import EmailGateway
from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.errors import ConfigError, SecureDeskError
from securedesk.gateway.services import Services, open_services
from securedesk.logging_setup import describe_exception
from securedesk.metrics import Metrics
from securedesk.web.app import create_app, create_metrics_app

logger = logging.getLogger("securedesk.server")


class BackgroundService(Protocol):
    """A long-running part started beside the web app: SMTP ingress, the relay worker, the vault purge…"""

    @property
    def name(self) -> str: ...

    async def start(self) -> None:
        """Return once the service runs (listening, or its loop scheduled); raise to refuse the whole start."""
        ...

    async def stop(self) -> None:
        """Stop taking new work, finish what is in flight, and return when done."""
        ...


#: Builds one background service from the shared ``Services``; returns None when that part is not configured.
BackgroundServiceFactory = Callable[[Services], BackgroundService | None]


def email_gateway_service(services: Services) -> BackgroundService | None:
    """The email channel (SMTP ingress + relay worker) on the shared Screener and policy."""
    return EmailGateway(
        settings=services.settings,
        db=services.database,
        screener=services.screener,
        policy=services.policy,
        clock=services.clock,
        encryptor=services.vault,
        audit=services.audit,
        metrics=services.metrics,
    )


class PeriodicService:
    """Runs ``work`` every ``interval`` seconds beside the web app, the first time ``first_delay`` seconds after start.

    A run that fails is logged and the next one still happens. ``stop`` lets a run in progress finish (each unit of
    work is a transaction or a read, so it is short) and returns.
    """

    def __init__(
        self, name: str, interval: float, work: Callable[[], Awaitable[None]], *, first_delay: float = 0.0
    ) -> None:
        if interval <= 0:
            raise ConfigError(f"The interval of {name} must be positive.")
        self._name = name
        self._interval = interval
        self._work = work
        self._first_delay = first_delay
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> None:
        """One run of the work now; a failure is logged, not raised (the next run will try again)."""
        try:
            await self._work()
        except Exception as exc:
            fields = {"service": self._name, "error": describe_exception(exc)}
            logger.error("periodic.failed", extra={"fields": fields})
        self.runs += 1

    async def _loop(self) -> None:
        delay = self._first_delay
        while not await self._stopped_within(delay):
            await self.run_once()
            delay = self._interval

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


def vault_purge_service(services: Services) -> PeriodicService:
    """Deletes expired secrets with their data keys (crypto-shredding) every ``purge_interval_seconds``; each run is
    a ``vault.purge`` audit event."""

    async def purge() -> None:
        count = await services.vault.purge_expired()
        await services.audit.record(
            actor="system", role="system", action="vault.purge", target=f"secrets={count}", channel="system"
        )

    return PeriodicService("vault purge", services.settings.purge_interval_seconds, purge)


def session_purge_service(services: Services) -> PeriodicService:
    """Ends staff sessions past their idle or absolute limit (each end is a ``session.end`` event, and open
    WebSockets of those sessions close through the session-end listeners)."""

    async def purge() -> None:
        await services.identity.sessions.purge_expired()

    return PeriodicService("session purge", services.settings.session_purge_interval_seconds, purge)


def audit_checkpoint_service(services: Services) -> PeriodicService:
    """Verifies the audit chain at start and every ``audit_checkpoint_interval_seconds`` (the compliance banner shows
    the result), then signs and stores a checkpoint of the head — never of a chain that failed verification."""

    async def verify_and_checkpoint() -> None:
        run = await services.chain_check.run(services.audit.verify, started_by="system")
        if run is None or run.result is None:
            logger.error("audit.verify_failed", extra={"fields": {"error": run.error if run else "not run"}})
            return
        if not run.result.ok:
            fields = {"first_bad_sequence": run.result.first_bad_sequence, "problem": run.result.problem}
            logger.critical("audit.chain_broken", extra={"fields": fields})
            return
        checkpoint = await services.audit.checkpoint(keep=True)
        logger.info("audit.checkpoint", extra={"fields": {"sequence": checkpoint.sequence}})

    return PeriodicService(
        "audit checkpoint", services.settings.audit_checkpoint_interval_seconds, verify_and_checkpoint
    )


#: The background services ``serve`` runs, started in this order and stopped in reverse: the email channel, then the
#: periodic work (expired sessions, vault purge, audit verification and checkpoints).
BACKGROUND_SERVICES: Final[tuple[BackgroundServiceFactory, ...]] = (
    email_gateway_service,
    session_purge_service,
    vault_purge_service,
    audit_checkpoint_service,
)

_POLL_SECONDS: Final = 0.05


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the gateway owns the signals for every part of the process.

    (uvicorn's handlers would also re-raise SIGTERM after a graceful stop, turning exit code 0 into a kill.)
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _tls_context_factory(config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def bind_listener(host: str, port: int, *, purpose: str, setting: str) -> socket.socket:
    """A listening TCP socket, or a ``ConfigError`` naming the address, the cause and the setting to change."""
    family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Cannot listen for {purpose} on {_hostport(host, port)}: the port is already in use.",
                hint=f"stop the other process, or set {setting} to a free port",
            ) from exc
        raise ConfigError(
            f"Cannot listen for {purpose} on {_hostport(host, port)}: {exc.strerror or exc}.",
            hint=f"check {setting} and the host setting beside it",
        ) from exc
    # Accepted connections inherit TCP_NODELAY from the listener. asyncio sets it only on sockets whose ``proto`` is
    # IPPROTO_TCP, and create_server() leaves ``proto`` 0: without this, small WebSocket frames wait for the peer's
    # delayed ACK (Nagle), adding up to 40 ms to chat messages (bench/chat.py).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if _is_ipv6(host) else f"{host}:{port}"


def display_url(host: str, port: int, *, scheme: str) -> str:
    """The URL to print: ``localhost`` for loopback and wildcard binds (the name the dev certificate carries)."""
    try:
        address = ipaddress.ip_address(host)
        local = address.is_loopback or address.is_unspecified
    except ValueError:
        local = host == "localhost"
    return f"{scheme}://{'localhost' if local else _hostport(host, port).rsplit(':', 1)[0]}:{port}/"


def _uvicorn_config(app: ASGIApp, settings: Settings, *, tls: bool) -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        ssl_certfile=str(settings.tls_cert_path) if tls else None,
        ssl_keyfile=str(settings.tls_key_path) if tls else None,
        ssl_context_factory=_tls_context_factory if tls else None,
        ws="websockets-sansio",
        ws_max_size=settings.chat_max_frame_bytes,
        lifespan="on",
        log_config=None,  # our JSON logging (logging_setup) is already configured
        access_log=False,  # RequestContextMiddleware logs route templates, not raw paths
        server_header=False,
        proxy_headers=False,  # no proxy is trusted to rewrite the client address
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    try:
        config.load()
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"Cannot load the TLS certificate {settings.tls_cert_path} and key {settings.tls_key_path}: "
            f"{getattr(exc, 'strerror', None) or getattr(exc, 'reason', None) or type(exc).__name__}.",
            hint="run `securedesk init` for development certificates, or fix SECUREDESK_TLS_CERT/SECUREDESK_TLS_KEY",
        ) from exc
    return config


class Gateway:
    """The running process: listeners, background services and signal handling around one ``Services``."""

    def __init__(
        self, settings: Settings, *, background: Sequence[BackgroundServiceFactory] = BACKGROUND_SERVICES
    ) -> None:
        self.settings = settings
        self._background = background
        self._stop = asyncio.Event()
        self._signals = 0
        self._services: Services | None = None
        self._servers: list[_EmbeddedUvicorn] = []
        self._reloads: set[asyncio.Task[None]] = set()
        self.urls: list[str] = []

    # --- signals ---------------------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._signals += 1
        if self._signals > 1:
            logger.warning("shutdown.forced")
            for server in self._servers:
                server.force_exit = True
        self._stop.set()

    def request_reload(self) -> None:
        if self._services is None:
            return
        logger.info("reload.requested")
        task = asyncio.get_running_loop().create_task(
            self._services.run_hooks(self._services.reload_hooks, kind="reload")
        )
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    @contextlib.contextmanager
    def signal_handlers(self) -> Iterator[None]:
        """SIGTERM/SIGINT: graceful stop (a second one: stop now); SIGHUP: run the reload hooks."""
        loop = asyncio.get_running_loop()
        handled = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: self.request_stop,
            signal.SIGHUP: self.request_reload,
        }
        for signum, handler in handled.items():
            loop.add_signal_handler(signum, handler)
        try:
            yield
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)

    # --- running ---------------------------------------------------------------------------------------------

    async def run(self, services: Services, *, announce: Callable[[str], None]) -> None:
        """Bind, start everything, ``announce`` the startup line, run until a stop signal, then shut down."""
        if self._stop.is_set():  # stopped while the services were opening
            return
        self._services = services
        settings = self.settings
        main_socket = bind_listener(
            settings.https_host, settings.https_port, purpose="HTTPS", setting="SECUREDESK_HTTPS_PORT"
        )
        sockets = [main_socket]
        try:
            app = create_app(settings, clock=services.clock, services=services)
            self._servers.append(_EmbeddedUvicorn(_uvicorn_config(app, settings, tls=True)))
            self.urls.append(display_url(settings.https_host, main_socket.getsockname()[1], scheme="https"))
            if settings.metrics_port > 0:
                metrics_socket = bind_listener(
                    settings.metrics_host, settings.metrics_port, purpose="metrics", setting="SECUREDESK_METRICS_PORT"
                )
                sockets.append(metrics_socket)
                metrics_app = create_metrics_app(services.metrics)
                self._servers.append(_EmbeddedUvicorn(_uvicorn_config(metrics_app, settings, tls=False)))
                self.urls.append(display_url(settings.metrics_host, settings.metrics_port, scheme="http") + "metrics")
        except BaseException:
            for sock in sockets:
                sock.close()
            raise

        # Everything built so far (detector, policy, templates: ~150k objects) lives as long as the process: move it out
        # of the garbage collector's generations, so that a full collection no longer stalls every open chat for
        # 100 ms or more (bench/chat.py's p99).
        gc.freeze()
        started: list[BackgroundService] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            try:
                for factory in self._background:
                    service = factory(services)
                    if service is not None:
                        await service.start()
                        started.append(service)
                        logger.info("background.started", extra={"fields": {"service": service.name}})
                for server, sock in zip(self._servers, sockets, strict=True):
                    tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
                await self._wait_started(tasks)
            except BaseException:
                await self._stop_background(started)  # those that did start; the listeners close below
                raise
            if not self._stop.is_set():
                line = f"SecureDesk is running at {self.urls[0]}"
                if len(self.urls) > 1:
                    line += f" (metrics: {self.urls[1]})"
                announce(line + " — press Ctrl+C to stop.")
                logger.info("server.started", extra={"fields": {"url": self.urls[0]}})
                stop = asyncio.create_task(self._stop.wait())
                await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
            crashed = [task for task in tasks if task.done()]
            await self._shutdown(started, tasks)
            if crashed and not self._stop.is_set():
                raise SecureDeskError("A listener stopped unexpectedly; the gateway was shut down.")
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            for sock in sockets:
                sock.close()

    async def _stop_background(self, started: list[BackgroundService]) -> None:
        """Stop the background services newest first; one that fails to stop is logged, the others still stop."""
        for service in reversed(started):
            try:
                await service.stop()
            except Exception as exc:
                fields = {"service": service.name, "error": describe_exception(exc)}
                logger.error("background.stop_failed", extra={"fields": fields})

    async def _wait_started(self, tasks: list[asyncio.Task[None]]) -> None:
        while not all(server.started for server in self._servers) and not self._stop.is_set():
            for task in tasks:
                if task.done():
                    task.result()  # re-raises why it stopped
                    raise SecureDeskError("A listener stopped during start-up; see the log.")
            await asyncio.sleep(_POLL_SECONDS)

    async def _shutdown(self, started: list[BackgroundService], tasks: list[asyncio.Task[None]]) -> None:
        logger.info("shutdown.begin")
        services = self._services
        for server in self._servers:
            for listener in getattr(server, "servers", []):
                listener.close()  # stop accepting; connections already open carry on
        if services is not None:
            await services.run_hooks(services.shutdown_hooks, kind="shutdown")
        await self._stop_background(started)
        for server in self._servers:
            server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                logger.error("listener.failed", extra={"fields": {"error": describe_exception(result)}})
        if self._reloads:
            await asyncio.gather(*self._reloads, return_exceptions=True)
        logger.info("shutdown.done")


async def run_gateway(
    settings: Settings,
    *,
    clock: Clock | None = None,
    out: TextIO | None = None,
    background: Sequence[BackgroundServiceFactory] = BACKGROUND_SERVICES,
) -> int:
    """Open the services, run the gateway until SIGTERM/SIGINT, shut down gracefully; 0 on a clean stop.

    Refuses to start (``KeyUnavailable``, ``StorageError``, ``ConfigError``) when the KEK, the database, the TLS
    files or a port cannot be used; the CLI prints the one-line reason.
    """
    stream = out if out is not None else sys.stdout

    def announce(line: str) -> None:
        print(line, file=stream, flush=True)

    gateway = Gateway(settings, background=background)
    with gateway.signal_handlers():
        async with open_services(settings, clock=clock or SystemClock(), metrics=Metrics()) as services:
            await gateway.run(services, announce=announce)
    return 0
