"""The customer chat: ``GET /chat`` (the embeddable widget page, en/fr/sv) and the customer WebSocket ``/chat/ws``;
and ``ChatRuntime``, the chat parts one app shares (the ``ChatService``, the agent console, the conversation tokens).

The page issues the conversation: a new id, bound to the browser by the signed ``__Host-securedesk-chat`` cookie
(``ConversationTokens``; the case is created with the first message). The WebSocket handshake is refused (403, as a
close with 1008 before accept) unless its ``Origin`` is in ``allowed_origins`` and the cookie is valid. Once open:
frames over ``chat_max_frame_bytes`` close it with 1009 (the server refuses them while reading, this module checks
again), more than ``chat_messages_per_minute`` messages with 1008, malformed frames with 1007, and
``chat_idle_seconds`` without a message with 1000.

Customer frames: ``{"type": "message", "text": "…", "client_id": "c1"}``. Server frames: see ``ChatService``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from securedesk.channels.chat import (
    CLOSE_INVALID,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    ChatService,
    CustomerPeer,
    MessageRate,
    check_frame_size,
)
from securedesk.channels.chat.conversation_token import new_conversation_id
from securedesk.errors import InputTooLarge, InvalidInput, NotFound, PermissionDenied, RateLimited
from securedesk.gateway.chat import ChatRuntime
from securedesk.gateway.services import Services
from securedesk.screening import LinkBuilder, LinkRequest, NudgeLinks
from securedesk.web.auth import allowed_origins, services_of
from securedesk.web.customer_pages import customer_desk
from securedesk.web.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, choose_language
from securedesk.web.middleware import CONTENT_SECURITY_POLICY
from securedesk.web.templating import render_page

logger = logging.getLogger("securedesk.web.chat")

CHAT_COOKIE: Final = "__Host-securedesk-chat"
WS_PATH: Final = "/chat/ws"
_MAX_CLIENT_ID: Final = 64


def chat_runtime(conn: HTTPConnection) -> ChatRuntime:
    runtime: ChatRuntime = conn.app.state.chat
    return runtime


# --- the widget page -----------------------------------------------------------------------------------------


def widget_security_policy(services: Services) -> str:
    """The app's CSP, except that the widget may be framed by our allowed origins and talk to our WebSocket."""
    settings = services.settings
    ancestors = " ".join(["'self'", *sorted(allowed_origins(settings))])
    base = urlsplit(settings.public_base_url)
    sockets = f" wss://{base.netloc}" if base.netloc else ""
    policy = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
    return policy.replace("connect-src 'self'", f"connect-src 'self'{sockets}")


async def chat_page(request: Request) -> Response:
    services = services_of(request)
    runtime = chat_runtime(request)
    conversation = runtime.tokens.read(request.cookies.get(CHAT_COOKIE))
    context: dict[str, Any] = {"ws_path": WS_PATH, "languages": LANGUAGE_NAMES}
    response = render_page(
        request,
        "chat/widget.html",
        context,
        headers={
            "Content-Security-Policy": widget_security_policy(services),
            "X-Frame-Options": "SAMEORIGIN",  # older browsers: CSP frame-ancestors above is what modern ones obey
            "Cache-Control": "no-store",
        },
    )
    if conversation is None:
        set_conversation_cookie(response, runtime.tokens.issue(new_conversation_id()), runtime.tokens.lifetime_seconds)
    return response


def set_conversation_cookie(response: Response, token: str, max_age: int) -> None:
    """``__Host-`` (Secure, Path=/, no Domain), HttpOnly. A third-party cookie when the widget is framed by another
    site: SameSite=None, and Partitioned (CHIPS) so that it is kept per top-level site, never shared across sites."""
    response.set_cookie(CHAT_COOKIE, token, max_age=max_age, path="/", secure=True, httponly=True, samesite="none")
    # Starlette sets Partitioned only on Python 3.14+: add the attribute to the header it just wrote.
    name, value = response.raw_headers[-1]
    if name != b"set-cookie" or not value.startswith(CHAT_COOKIE.encode() + b"="):
        raise RuntimeError("the conversation cookie header was not where it was expected")
    response.raw_headers[-1] = (name, value + b"; Partitioned")


# --- the customer WebSocket ----------------------------------------------------------------------------------


def _nudge_links(websocket: WebSocket) -> LinkBuilder:
    """The customer desk's links for a case: a protected-form request and a signed call-back link (if the desk
    cannot be opened, the Screener offers the generic pages instead)."""

    async def build(request: LinkRequest) -> NudgeLinks:
        return await (await customer_desk(websocket)).links(request)

    return build


def check_websocket_origin(websocket: WebSocket) -> None:
    origin = websocket.headers.get("origin")
    if origin is None or origin.rstrip("/").lower() not in allowed_origins(services_of(websocket).settings):
        raise PermissionDenied("WebSocket connections are accepted only from this site's pages.")


def parse_frame(text: str) -> tuple[str, str | None]:
    """The text and client id of a customer frame; ``InvalidInput`` (close 1007) for anything else."""
    try:
        frame = json.loads(text)
    except ValueError:
        raise InvalidInput("A chat frame must be JSON.") from None
    if not isinstance(frame, dict) or frame.get("type") != "message" or not isinstance(frame.get("text"), str):
        raise InvalidInput('A chat frame is {"type": "message", "text": "…"}.')
    client_id = frame.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > _MAX_CLIENT_ID):
        raise InvalidInput("client_id must be a short string.")
    return frame["text"], client_id


async def customer_websocket(websocket: WebSocket) -> None:
    check_websocket_origin(websocket)
    runtime = chat_runtime(websocket)
    conversation = runtime.tokens.read(websocket.cookies.get(CHAT_COOKIE))
    if conversation is None:
        raise PermissionDenied("Open the chat page first: it starts the conversation.")
    services = services_of(websocket)
    settings = services.settings
    lang = choose_language(
        query=websocket.query_params.get("lang"),
        cookie=websocket.cookies.get(LANGUAGE_COOKIE),
        accept_language=websocket.headers.get("accept-language"),
    )
    await websocket.accept()
    try:
        customer = await runtime.service.join_customer(
            websocket, conversation, lang=lang, links=_nudge_links(websocket)
        )
    except NotFound:
        await websocket.close(CLOSE_POLICY, "no such conversation")
        return
    rate = MessageRate(services.clock, per_minute=settings.chat_messages_per_minute)
    code = await _serve_customer(
        websocket, runtime.service, customer, rate, settings.chat_max_frame_bytes, settings.chat_idle_seconds
    )
    await runtime.service.leave_customer(customer, code=code)


async def _serve_customer(
    websocket: WebSocket,
    service: ChatService,
    customer: CustomerPeer,
    rate: MessageRate,
    max_bytes: int,
    idle_seconds: float,
) -> int | None:
    """Read frames until the customer leaves or we close; the close code the other side sent, if it did."""
    peer = customer.peer
    while peer.open:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=idle_seconds)
        except TimeoutError:
            peer.close(CLOSE_NORMAL, "idle timeout", outcome="idle")
            break
        except WebSocketDisconnect as exc:  # receive after the other side went away
            return exc.code
        if message["type"] == "websocket.disconnect":
            return int(message.get("code") or CLOSE_NORMAL)
        text = message.get("text")
        try:
            if text is None:
                raise InvalidInput("Chat frames are text.")
            check_frame_size(text, max_bytes=max_bytes)
            body, client_id = parse_frame(text)
            rate.admit()
            try:
                await service.customer_message(customer, body, client_id=client_id)
            except InvalidInput:  # empty or over-long text: the customer is told, the connection stays
                peer.send_frame({"type": "error", "code": "invalid", "client_id": client_id})
        except InputTooLarge:
            peer.close(CLOSE_TOO_BIG, "frame too large", outcome="too_big")
        except RateLimited:
            peer.close(CLOSE_POLICY, "too many messages", outcome="rate_limited")
        except InvalidInput:
            peer.close(CLOSE_INVALID, "malformed frame", outcome="invalid")
    await peer.wait_closed()
    return None


def routes() -> list[BaseRoute]:
    return [
        Route("/chat", chat_page, methods=["GET"]),
        WebSocketRoute(WS_PATH, customer_websocket),
    ]
