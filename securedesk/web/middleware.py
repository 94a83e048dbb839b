"""Middleware on every request: request id and access log, security headers, and the request body size limit.

Pure ASGI (no ``BaseHTTPMiddleware``), so streaming and WebSockets pass untouched. Order, outermost first:
``RequestContextMiddleware`` → ``SecurityHeadersMiddleware`` → ``BodySizeLimitMiddleware`` →
``ErrorBoundaryMiddleware`` (error_pages.py).

Caching decision: every response is ``Cache-Control: no-store`` unless its route set its own header. Any page may
show case data one day, a forgotten header must fail safe, and our pages are small; static files opt out (they set
a one-year immutable cache on content-hashed URLs). Routes may likewise set their own CSP (the embeddable chat page
will need other ``frame-ancestors``): a header the route set is never overwritten.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from typing import Final

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from securedesk.errors import InputTooLarge, InvalidInput
from securedesk.metrics import Metrics
from securedesk.web.error_pages import error_response

access_logger = logging.getLogger("securedesk.web.access")

REQUEST_ID_HEADER: Final = "X-Request-ID"
UNMATCHED_ROUTE: Final = "unmatched"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
PERMISSIONS_POLICY: Final = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
)


def security_headers(hsts_seconds: int) -> tuple[tuple[str, str], ...]:
    """The headers every response gets unless the route set its own value."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("X-Frame-Options", "DENY"),  # for browsers that predate CSP frame-ancestors
        ("Cache-Control", "no-store"),
    ]
    if hsts_seconds > 0:
        headers.insert(0, ("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains"))
    return tuple(headers)


def new_request_id() -> str:
    # Always ours: a client-chosen id could carry anything into our logs.
    return secrets.token_hex(8)


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The template of the route that serves ``scope`` (``/cases/{case_id}``), never the raw path; None if none."""
    partial: str | None = None
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if isinstance(route, Mount):
            inner_routes = route.routes
            inner = route_template(inner_routes, {**scope, **child_scope}) if inner_routes else None
            path = route.path + (inner or "")
        if match is Match.FULL:
            return path or "/"
        partial = partial or path  # method not allowed: still this route
    return partial


class RequestContextMiddleware:
    """Gives each request an id (state and ``X-Request-ID``), then logs one JSON line and counts it in metrics.

    The log line holds the id, method, route template, status and duration: never the path, query or body.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # The router rewrites path/root_path in place as it descends; keep what matching needs.
        matching_scope = {key: scope[key] for key in ("type", "path", "root_path", "method") if key in scope}
        started = time.perf_counter()
        status = 0

        request_id_header = (REQUEST_ID_HEADER.lower().encode("latin-1"), request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), request_id_header]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] in ("websocket.close", "websocket.http.response.start") and status == 0:
                status = int(message.get("status", 403))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            # The application's routes as they are now (later parts may mount theirs after create_app).
            application = scope.get("app")
            routes: Sequence[BaseRoute] = application.router.routes if application is not None else ()
            route = route_template(routes, matching_scope) or UNMATCHED_ROUTE
            method = str(scope.get("method", "WEBSOCKET"))
            if scope["type"] == "http":
                self.metrics.record_http(method=method, route=route, status=status or 500, seconds=seconds)
            access_logger.info(
                "http.request" if scope["type"] == "http" else "websocket.session",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": method,
                        "route": route,
                        "status": status or 500,
                        "duration_ms": round(seconds * 1000, 3),
                    }
                },
            )


class SecurityHeadersMiddleware:
    """Adds ``security_headers()`` to every HTTP response that did not set its own value for a header."""

    def __init__(self, app: ASGIApp, *, hsts_seconds: int) -> None:
        self.app = app
        self.headers = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in security_headers(hsts_seconds)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                raw.extend(header for header in self.headers if header[0] not in present)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses a request body over ``max_bytes`` with 413 (``InputTooLarge``) before the application reads it.

    A declared ``Content-Length`` over the limit is answered at once, without reading a byte of the body; a chunked
    body is counted as it is read, and reading past the limit raises ``InputTooLarge`` (answered by the error pages).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 18:
                response = error_response(Request(scope), InvalidInput.http_status)
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                response = error_response(
                    Request(scope),
                    InputTooLarge.http_status,
                    message=InputTooLarge.public_message,
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise InputTooLarge(
                        f"Request body exceeds the limit of {self.max_bytes} bytes.",
                        hint="raise SECUREDESK_MAX_REQUEST_BYTES if this is expected",
                    )
            return message

        await self.app(scope, receive_counted, send)
