"""``create_app(settings)``: the HTTPS application — routes, middleware, error pages and its lifespan — built from
explicit arguments; and ``create_metrics_app``, the plain ``/metrics`` listener for a separate bind address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ExceptionHandler

from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.errors import SecureDeskError
from securedesk.gateway.chat import ChatRuntime
from securedesk.gateway.services import Services, open_services
from securedesk.metrics import Metrics
from securedesk.web import (
    admin_pages,
    agent_pages,
    api_routes,
    callback_pages,
    chat_pages,
    compliance_pages,
    customer_pages,
    form_request_pages,
    staff_pages,
)
from securedesk.web.auth import LoginThrottle, may_read_metrics
from securedesk.web.error_pages import ErrorBoundaryMiddleware, handle_http_exception, handle_securedesk_error
from securedesk.web.health import healthz, metrics_on_main_app, metrics_response, readyz
from securedesk.web.middleware import BodySizeLimitMiddleware, RequestContextMiddleware, SecurityHeadersMiddleware
from securedesk.web.pages import landing, switch_language
from securedesk.web.templating import STATIC_DIR, STATIC_PREFIX, CachedStaticFiles, StaticAssets, build_templates


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    services: Services | None = None,
) -> Starlette:
    """The web application.

    With ``services`` (what ``securedesk serve`` does) the app uses them and leaves opening and closing to the
    caller, who shares them with the SMTP ingress and workers. Without, its lifespan opens its own from ``settings``
    (tests that drive the ASGI app directly).
    """
    clock = clock if clock is not None else SystemClock()
    metrics = services.metrics if services is not None else (metrics if metrics is not None else Metrics())
    routes: list[BaseRoute] = [
        Route("/", landing, methods=["GET"]),
        Route("/lang", switch_language, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_on_main_app, methods=["GET"]),
        *staff_pages.routes(),
        *admin_pages.routes(),
        *compliance_pages.routes(),
        *chat_pages.routes(),
        *agent_pages.routes(),
        *customer_pages.routes(),
        *callback_pages.routes(),
        *form_request_pages.routes(),
        *api_routes.routes(),
        Mount(STATIC_PREFIX, CachedStaticFiles(directory=STATIC_DIR), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        async with open_services(settings, clock=clock, metrics=metrics) as owned:
            _admit_admins_to_metrics(owned)
            app.state.services = owned
            app.state.chat = ChatRuntime.build(owned)
            try:
                yield
            finally:
                await app.state.chat.close()

    app = Starlette(
        debug=False,
        routes=routes,
        middleware=[
            Middleware(RequestContextMiddleware, metrics=metrics),
            Middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
            Middleware(ErrorBoundaryMiddleware),
        ],
        exception_handlers={
            HTTPException: handle_http_exception,
            # Answers HTTP with a page and closes a WebSocket with the error's close code: both handler shapes.
            SecureDeskError: cast(ExceptionHandler, handle_securedesk_error),
        },
        lifespan=lifespan,
    )
    app.state.templates = build_templates(StaticAssets(STATIC_DIR))
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle.from_settings(settings, clock)
    if services is not None:
        _admit_admins_to_metrics(services)
        app.state.services = services  # else set by the lifespan, which opens them
        app.state.chat = ChatRuntime.build(services)  # closed by the shutdown hook it registers
    return app


def _admit_admins_to_metrics(services: Services) -> None:
    if services.metrics_authorizer is None:
        services.metrics_authorizer = may_read_metrics


def create_metrics_app(metrics: Metrics) -> Starlette:
    """Only ``GET /metrics``, for ``Settings.metrics_host:metrics_port`` (plain HTTP: bind it to loopback or an
    internal network; the metrics hold counts and route names only, never a value)."""

    async def metrics_endpoint(request: Request) -> Response:
        return metrics_response(metrics)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Not found.", status_code=404, headers={"Cache-Control": "no-store"})

    return Starlette(
        debug=False,
        routes=[Route("/metrics", metrics_endpoint, methods=["GET"])],
        exception_handlers={HTTPException: not_found},
    )
