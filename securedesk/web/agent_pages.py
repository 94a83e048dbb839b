"""The agent console: ``/agent`` (the live list of the agent's chat and email cases), ``/agent/cases/{case_id}`` (the
masked transcript, the vaulted items with Reveal, the reply box), the reveal and reply actions, and the agent
WebSocket ``/agent/ws`` that keeps the pages live.

Every page and action is a ``StaffRoute`` (session, CSRF on POST); the case checks are object-level
(``AgentConsole``). A reveal is POST-only, needs a stated reason and a TOTP code entered within
``Settings.step_up_seconds`` (``step_up=True``: otherwise the step-up form, which brings the agent back to the case),
is audited before the value is read, and answers with the value once in the page body, ``Cache-Control: no-store``:
the value is never in a URL. The WebSocket is authenticated at the handshake (Origin, session cookie, permission),
closed with 1008 when its session ends (logout, expiry, a disabled account — also one disabled from another
process, checked every ``chat_session_check_seconds``) and with 1001 on shutdown.

Agent frames: ``{"type": "reply", "case_id": "case_…", "text": "…", "client_id": "r1"}``; answered by
``{"type": "reply_result", "client_id", "case_id", "status": "sent"|"pending"|"blocked"|"held"|"invalid"|"not_found"|
"denied", "text", "notice"}``. Server frames: ``hello``, ``case``, ``message``, ``replace``, ``presence``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from securedesk.channels.chat import (
    CLOSE_INVALID,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    AgentPeer,
    ChatService,
    MessageRate,
    check_frame_size,
)
from securedesk.channels.chat.service import MAX_MESSAGE_CHARS
from securedesk.clock import utc_iso
from securedesk.errors import (
    AuthenticationFailed,
    InputTooLarge,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from securedesk.gateway.services import Services
from securedesk.identity import Permission, Session, allowed
from securedesk.sensitive import Sensitive
from securedesk.storage.cases import CaseRecord, MessageRecord, VaultedItem
from securedesk.storage.staff import SqliteStaffRepository
from securedesk.web.auth import (
    StaffRoute,
    client_ip,
    form_text,
    read_form,
    services_of,
    session_token,
    staff_routes,
    websocket_session,
)
from securedesk.web.chat_pages import chat_runtime
from securedesk.web.staff_layout import render_staff

logger = logging.getLogger("securedesk.web.agent")

WS_PATH: Final = "/agent/ws"
_MAX_REASON_FIELD: Final = 1_000
_MAX_CLIENT_ID: Final = 64
_NO_STORE: Final = {"Cache-Control": "no-store"}  # the default too; said again where a record is shown
_SOURCE_NOTES: Final = {
    "form": "submitted via form",
    "chat": "from chat",
    "email": "from email",
    "webhook": "from the help desk",
}
_STATE_NOTES: Final = {
    "held": "Held: this message could not be screened and was not delivered.",
    "blocked": "Refused by policy: this message was not delivered.",
}


def _when(timestamp: float) -> str:
    return utc_iso(timestamp)[:19].replace("T", " ")


def _case_path(case_id: str) -> str:
    return f"/agent/cases/{case_id}"


def _case_id(request: Request) -> str:
    value = request.path_params.get("case_id", "")
    return value if isinstance(value, str) else ""


# --- pages ---------------------------------------------------------------------------------------------------


def _case_row(case: CaseRecord, *, online: bool) -> dict[str, Any]:
    return {"case": case, "updated": _when(case.updated_at), "customer_online": online}


async def console_page(request: Request, session: Session) -> Response:
    runtime = chat_runtime(request)
    cases = await runtime.console.list_cases(session.principal)
    hub = runtime.service.hub
    rows = [_case_row(case, online=hub.customer_online(case.id)) for case in cases]
    return render_staff(request, session, "agent/console.html", {"rows": rows, "ws_path": WS_PATH})


def _transcript(messages: tuple[MessageRecord, ...]) -> list[dict[str, Any]]:
    rows = []
    for message in messages:
        sender = message.sender_kind
        name = message.meta.get("sender_name") if sender == "agent" else None
        rows.append(
            {
                "id": message.id,
                "sender": sender,
                "label": {"customer": "Customer", "agent": f"Agent {name}" if name else "Agent"}.get(sender, "System"),
                "when": _when(message.created_at),
                "text": message.body,
                "note": _STATE_NOTES.get(message.state),
                "retracted": bool(message.meta.get("retracted")),
            }
        )
    return rows


def _vaulted_row(item: VaultedItem, may_reveal: bool) -> dict[str, Any]:
    return {
        "item": item,
        "label": f"{item.mask} ({_SOURCE_NOTES.get(item.source, item.source)})",
        "may_reveal": may_reveal,
        "expires": _when(item.expires_at) if item.expires_at else None,
    }


async def _render_case(
    request: Request,
    session: Session,
    *,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
    reply_text: str = "",
) -> Response:
    runtime = chat_runtime(request)
    principal = session.principal
    view = await runtime.console.open_case(principal, _case_id(request), origin_ip=client_ip(request))
    case = view.case
    context = {
        "case": case,
        "created": _when(case.created_at),
        "transcript": _transcript(view.messages),
        "vaulted": [_vaulted_row(item, runtime.console.may_reveal(principal, case, item)) for item in view.vaulted],
        "can_reply": case.channel == "chat" and allowed(principal, Permission.CASE_REPLY, case=case),
        "customer_online": runtime.service.hub.customer_online(case.id),
        "ws_path": WS_PATH,
        "step_up_minutes": services_of(request).settings.step_up_seconds // 60,
        "max_chars": MAX_MESSAGE_CHARS,
        "notice": notice,
        "error": error,
        "reply_text": reply_text,
    }
    return render_staff(request, session, "agent/case.html", context, status_code=status_code, headers=_NO_STORE)


async def case_page(request: Request, session: Session) -> Response:
    return await _render_case(request, session)


async def reply_submit(request: Request, session: Session) -> Response:
    """The reply box without JavaScript (the console sends replies over its WebSocket)."""
    form = await read_form(request)
    text = form_text(form, "text", limit=MAX_MESSAGE_CHARS)
    try:
        outcome = await chat_runtime(request).service.agent_reply(session.principal, _case_id(request), text)
    except InvalidInput as exc:
        return await _render_case(request, session, status_code=422, error=exc.message, reply_text=text)
    if outcome.status in ("sent", "pending"):
        return await _render_case(request, session, notice=outcome.notice or "Your reply was sent.")
    return await _render_case(request, session, status_code=422, error=outcome.notice, reply_text=text)


async def reveal_submit(request: Request, session: Session) -> Response:
    """Reveal one vaulted value of the case (reason required; the step-up was checked by the route)."""
    form = await read_form(request)
    token = form_text(form, "token", limit=64)
    reason = form_text(form, "reason", limit=_MAX_REASON_FIELD)
    console = chat_runtime(request).console
    try:
        item, value = await console.reveal(
            session.principal, _case_id(request), token, reason, origin_ip=client_ip(request)
        )
    except (InvalidInput, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 422
        return await _render_case(request, session, status_code=status, error=exc.message)
    case = await console.case(session.principal, _case_id(request))
    logger.info("agent.revealed", extra={"fields": {"case_id": case.id, "token": item.token, "kind": item.kind}})
    context = {"case": case, "item": item, "value": _grouped(value), "back": _case_path(case.id)}
    return render_staff(request, session, "agent/reveal.html", context, headers=_NO_STORE)


def _grouped(value: Sensitive) -> str:
    """Digits in groups of four, easier to read out to a customer; other values as they are."""
    raw = value.reveal()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if raw.isdigit() else raw


# --- the agent WebSocket -------------------------------------------------------------------------------------


async def session_still_valid(services: Services, session: Session) -> bool:
    """Whether the session still exists and its account is active, read without touching its idle clock (an open
    console must not keep an idle session alive). Sees sessions ended by another process too (``users disable``)."""
    repo = SqliteStaffRepository(services.database)
    record = await repo.get_session(session.key)
    if record is None:
        return False
    now = services.clock.now()
    sessions = services.identity.sessions
    if now >= record.last_seen_at + sessions.idle_seconds or now >= record.created_at + sessions.absolute_seconds:
        return False
    staff = await repo.get_staff(record.staff_id)
    return staff is not None and staff.status == "active"


async def agent_websocket(websocket: WebSocket) -> None:
    session = await websocket_session(websocket, Permission.CASE_READ)
    token = session_token(websocket)
    if token is None:  # websocket_session found the session by this cookie
        raise AuthenticationFailed("A logged-in session is needed.")
    runtime = chat_runtime(websocket)
    await websocket.accept()
    agent = await runtime.service.join_agent(websocket, session.principal, session_key=session.key)
    code = await _serve_agent(websocket, agent, session, token)
    await runtime.service.leave_agent(agent, code=code)


async def _serve_agent(websocket: WebSocket, agent: AgentPeer, session: Session, token: Sensitive) -> int | None:
    services = services_of(websocket)
    settings = services.settings
    service = chat_runtime(websocket).service
    peer = agent.peer
    rate = MessageRate(services.clock, per_minute=settings.chat_messages_per_minute)
    while peer.open:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=settings.chat_session_check_seconds)
        except TimeoutError:
            if not await session_still_valid(services, session):
                peer.close(CLOSE_POLICY, "session ended", outcome="session_ended")
            continue
        except WebSocketDisconnect as exc:
            return exc.code
        if message["type"] == "websocket.disconnect":
            return int(message.get("code") or CLOSE_NORMAL)
        try:
            text = message.get("text")
            if text is None:
                raise InvalidInput("Console frames are text.")
            check_frame_size(text, max_bytes=settings.chat_max_frame_bytes)
            case_id, body, client_id = _parse_reply(text)
            rate.admit()
            # Each reply re-checks the session (and counts as activity on it, like any request).
            current = await services.identity.sessions.authenticate(token)
            peer.send_frame(await _reply(service, current, case_id, body, client_id))
        except AuthenticationFailed:
            peer.close(CLOSE_POLICY, "session ended", outcome="session_ended")
        except InputTooLarge:
            peer.close(CLOSE_TOO_BIG, "frame too large", outcome="too_big")
        except RateLimited:
            peer.close(CLOSE_POLICY, "too many messages", outcome="rate_limited")
        except InvalidInput:
            peer.close(CLOSE_INVALID, "malformed frame", outcome="invalid")
    await peer.wait_closed()
    return None


def _parse_reply(text: str) -> tuple[str, str, str | None]:
    try:
        frame = json.loads(text)
    except ValueError:
        raise InvalidInput("A console frame must be JSON.") from None
    if (
        not isinstance(frame, dict)
        or frame.get("type") != "reply"
        or not isinstance(frame.get("case_id"), str)
        or not isinstance(frame.get("text"), str)
    ):
        raise InvalidInput('A console frame is {"type": "reply", "case_id": "…", "text": "…"}.')
    client_id = frame.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > _MAX_CLIENT_ID):
        raise InvalidInput("client_id must be a short string.")
    return frame["case_id"], frame["text"], client_id


async def _reply(
    service: ChatService, session: Session, case_id: str, text: str, client_id: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "reply_result", "client_id": client_id, "case_id": case_id}
    try:
        outcome = await service.agent_reply(session.principal, case_id, text, client_id=client_id)
    except NotFound:  # ObjectNotVisible too: a case of another queue looks like none
        return {**result, "status": "not_found", "notice": "No such case."}
    except PermissionDenied as exc:
        return {**result, "status": "denied", "notice": exc.message}
    except InvalidInput as exc:
        return {**result, "status": "invalid", "notice": exc.message}
    return {
        **result,
        "status": outcome.status,
        "message_id": outcome.message_id,
        "text": outcome.text,
        "notice": outcome.notice,
    }


#: The console's pages and actions (see the module docstring).
AGENT_ROUTES: Final = (
    StaffRoute("/agent", console_page, ("GET",), Permission.CASE_READ),
    StaffRoute("/agent/cases/{case_id}", case_page, ("GET",), Permission.CASE_READ),
    StaffRoute("/agent/cases/{case_id}/reply", reply_submit, ("POST",), Permission.CASE_REPLY),
    # The route needs case.read; the reveal itself checks secret.reveal on the case and the policy (AgentConsole).
    StaffRoute("/agent/cases/{case_id}/reveal", reveal_submit, ("POST",), Permission.CASE_READ, step_up=True),
)


def routes() -> list[BaseRoute]:
    return [*staff_routes(AGENT_ROUTES), WebSocketRoute(WS_PATH, agent_websocket)]
