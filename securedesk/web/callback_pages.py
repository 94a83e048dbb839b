"""The agents' call-back queue, ``/agent/callbacks``: requests in the agent's queues with masked numbers and the
customer's window; claim one, reveal its number to call (POST only, a stated reason prefilled "call-back", a fresh
second factor, the audit event written before the number is shown, the page ``no-store``), then record the outcome:
done, no answer, or a new window. Request ids travel in the path; numbers never travel in a URL."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from securedesk.customer.callback import DEFAULT_REVEAL_REASON, CallbackService
from securedesk.errors import InvalidInput, PermissionDenied, RateLimited, ValidationFailed
from securedesk.identity import Permission, Session
from securedesk.web.auth import StaffRoute, client_ip, form_text, read_form, staff_routes
from securedesk.web.customer_i18n import field_error_text
from securedesk.web.customer_pages import customer_desk
from securedesk.web.staff_layout import render_staff

QUEUE_PATH: Final = "/agent/callbacks"
_MAX_REASON: Final = 500


def _callback_id(request: Request) -> str:
    value = request.path_params.get("callback_id", "")
    return value if isinstance(value, str) else ""


async def _service(request: Request) -> CallbackService:
    return (await customer_desk(request)).callbacks


async def _queue_page(
    request: Request, session: Session, *, status_code: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    service = await _service(request)
    show_done = request.query_params.get("done") == "1"
    items = await service.queue(session.principal, include_done=show_done)
    context = {
        "items": items,
        "error": error,
        "notice": notice,
        "show_done": show_done,
        "default_reason": DEFAULT_REVEAL_REASON,
        "claimable": ("requested", "no_answer", "rescheduled"),
    }
    return render_staff(request, session, "agent/callbacks.html", context, status_code=status_code)


async def queue(request: Request, session: Session) -> Response:
    return await _queue_page(request, session)


async def claim(request: Request, session: Session) -> Response:
    service = await _service(request)
    try:
        await service.claim(_callback_id(request), session.principal, origin_ip=client_ip(request))
    except PermissionDenied as exc:
        return await _queue_page(request, session, status_code=409, error=exc.message)
    return RedirectResponse(QUEUE_PATH, status_code=303)


async def reveal(request: Request, session: Session) -> Response:
    service = await _service(request)
    form = await read_form(request)
    reason = form_text(form, "reason", limit=_MAX_REASON).strip() or DEFAULT_REVEAL_REASON
    callback_id = _callback_id(request)
    try:
        number = await service.reveal(callback_id, session.principal, reason=reason, origin_ip=client_ip(request))
    except RateLimited as exc:
        return await _queue_page(request, session, status_code=429, error=exc.message)
    except (PermissionDenied, InvalidInput) as exc:
        return await _queue_page(
            request, session, status_code=403 if isinstance(exc, PermissionDenied) else 400, error=exc.message
        )
    item = await service.get(callback_id, session.principal)
    context = {"item": item, "number": service.display(number), "reason": reason}
    return render_staff(request, session, "agent/callback_reveal.html", context)


async def outcome(request: Request, session: Session) -> Response:
    service = await _service(request)
    form = await read_form(request)
    result = form_text(form, "outcome", limit=20)
    window = None
    if result == "rescheduled":
        window = (
            form_text(form, "date", limit=20),
            form_text(form, "start", limit=10),
            form_text(form, "end", limit=10),
        )
    try:
        await service.finish(
            _callback_id(request), session.principal, outcome=result, origin_ip=client_ip(request), new_window=window
        )
    except ValidationFailed as exc:
        problems = "; ".join(field_error_text(code, "en") for _field, code in exc.errors)
        return await _queue_page(request, session, status_code=422, error=f"The new window is not valid: {problems}")
    except (PermissionDenied, InvalidInput) as exc:
        return await _queue_page(request, session, status_code=409, error=exc.message)
    return RedirectResponse(QUEUE_PATH, status_code=303)


CALLBACK_ROUTES: Final = (
    StaffRoute(QUEUE_PATH, queue, ("GET",), Permission.CASE_READ),
    StaffRoute(QUEUE_PATH + "/{callback_id}/claim", claim, ("POST",), Permission.CASE_REPLY, return_to=QUEUE_PATH),
    # The role's secret.reveal permission is checked by CallbackService.reveal (``require`` with SECRET_REVEAL
    # needs a policy entity type, and a phone number is none).
    StaffRoute(
        QUEUE_PATH + "/{callback_id}/reveal",
        reveal,
        ("POST",),
        Permission.CASE_REPLY,
        step_up=True,
        return_to=QUEUE_PATH,
    ),
    StaffRoute(QUEUE_PATH + "/{callback_id}/outcome", outcome, ("POST",), Permission.CASE_REPLY, return_to=QUEUE_PATH),
)


def routes() -> list[BaseRoute]:
    return list(staff_routes(CALLBACK_ROUTES))
