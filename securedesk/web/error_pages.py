"""The one place where failures become responses: generic error pages (HTML or JSON, by ``Accept``), never internals.

A ``SecureDeskError`` answers with its class's ``http_status`` and ``public_message`` (the table in errors.py);
Starlette's ``HTTPException`` (404, 405, …) with our own text for its status, never its ``detail``; anything else is a
500. The detail goes to our log only, with the request id that the page shows, so support can find it.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from securedesk.errors import (
    AuthenticationFailed,
    InputTooLarge,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    SecureDeskError,
)
from securedesk.logging_setup import describe_exception
from securedesk.web.i18n import has_text, text
from securedesk.web.negotiation import prefers_html
from securedesk.web.problems import problem
from securedesk.web.templating import render_page, request_language

logger = logging.getLogger("securedesk.web")

#: Paths answered with RFC 9457 problem documents instead of pages.
API_PREFIX: Final = "/api/"

#: Response headers an ``HTTPException`` may carry through (``Allow`` on 405, ``Retry-After`` on 429/503).
_PASSED_HEADERS: Final = frozenset({"allow", "retry-after", "www-authenticate"})

#: The public message for each status we answer; our error classes' own where one stands for the whole status.
_ENGLISH_MESSAGES: Final = {
    400: InvalidInput.public_message,
    401: AuthenticationFailed.public_message,
    403: PermissionDenied.public_message,
    404: NotFound.public_message,
    405: "Method not allowed.",
    413: InputTooLarge.public_message,
    422: "The request could not be accepted.",
    429: RateLimited.public_message,
    500: SecureDeskError.public_message,
    503: "The service is unavailable. Please try again later.",
}


def request_id_of(scope: Scope) -> str:
    state = scope.get("state")
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else ""


def error_response(
    request: Request, status: int, *, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """A generic error page for ``status``: HTML in the request's language, or JSON ``{"error": {...}}``."""
    known = status if status in _ENGLISH_MESSAGES else (500 if status >= 500 else 400)
    english = message or _ENGLISH_MESSAGES[known]
    request_id = request_id_of(request.scope)
    if request.url.path.startswith(API_PREFIX):
        return problem(status, english, request_id=request_id, headers=headers)
    if prefers_html(request.headers.get("accept", "")):
        lang = request_language(request)
        title_id, body_id = f"error.{known}.title", f"error.{known}.body"
        # Our public messages are English; other languages get the status's own localized text.
        body = english if lang == "en" and message else text(body_id, lang) if has_text(body_id) else english
        context = {"title": text(title_id, lang), "message": body, "request_id": request_id}
        return render_page(request, "error.html", context, status_code=status, headers=headers)
    payload = {"error": {"status": status, "message": english, "request_id": request_id}}
    return JSONResponse(payload, status_code=status, headers=headers)


async def handle_http_exception(conn: HTTPConnection, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in _PASSED_HEADERS}
    return error_response(Request(conn.scope), exc.status_code, headers=headers or None)


async def handle_securedesk_error(conn: HTTPConnection, exc: Exception) -> Response | None:
    if not isinstance(exc, SecureDeskError):  # registered for SecureDeskError only
        raise exc
    log_error(conn.scope, exc, status=exc.http_status)
    if isinstance(conn, WebSocket):
        await conn.close(code=exc.ws_close_code, reason=exc.public_message[:120])
        return None
    return error_response(Request(conn.scope), exc.http_status, message=exc.public_message)


def log_error(scope: Scope, exc: BaseException, *, status: int) -> None:
    fields = {
        "request_id": request_id_of(scope),
        "status": status,
        "error": describe_exception(exc),
    }
    logger.log(logging.ERROR if status >= 500 else logging.INFO, "request.error", extra={"fields": fields})


class ErrorBoundaryMiddleware:
    """Turns an unexpected exception into the generic 500 page, inside the security-headers middleware.

    (Starlette's own ``ServerErrorMiddleware`` sits outside every user middleware, so its 500 would go out without
    our headers.) An exception after the response has started can only be logged; the connection is then dropped.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            status = exc.http_status if isinstance(exc, SecureDeskError) else 500
            log_error(scope, exc, status=status)
            if started:
                return
            message = exc.public_message if isinstance(exc, SecureDeskError) else None
            response = error_response(Request(scope), status, message=message)
            await response(scope, receive, send)
