"""Protected-form requests for agents, ``/agent/cases/{case_id}/forms``: the case's requests (open, used, expired,
and what each brought, masked: ``VISA •••• 1111 (submitted via form)``) and a small form that opens a new one-time
link to send the customer. The agent console links here; it may also call ``FormService.create_request`` itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from securedesk.errors import InvalidInput, NotFound
from securedesk.identity import Permission, Session, require
from securedesk.storage.cases import LANGS, CaseRecord, SqliteCaseRepository
from securedesk.storage.forms import FORM_KINDS
from securedesk.web.auth import StaffRoute, client_ip, form_text, read_form, services_of, staff_routes
from securedesk.web.customer_pages import customer_desk
from securedesk.web.staff_layout import render_staff

PATH: Final = "/agent/cases/{case_id}/forms"
KIND_LABELS: Final = {
    "card": "Payment card",
    "national_id": "Identity number (SSN, NIR, personnummer)",
    "iban": "Bank details (IBAN)",
}


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M")


async def _case(request: Request, session: Session, permission: Permission) -> CaseRecord:
    case_id = request.path_params.get("case_id", "")
    case = None
    if isinstance(case_id, str) and case_id.startswith("case_"):
        case = await SqliteCaseRepository(services_of(request).database).get_case(case_id)
    if case is None:
        raise NotFound("No such case.")
    require(session.principal, permission, case=case)  # another queue's case: 404, like a missing one
    return case


async def _page(
    request: Request,
    session: Session,
    case: CaseRecord,
    *,
    status_code: int = 200,
    created: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    views = await (await customer_desk(request)).forms.for_case(case.id)
    rows = [
        {
            "view": v,
            "created": _when(v.created_at),
            "expires": _when(v.expires_at),
            "kind": KIND_LABELS.get(v.kind, v.kind),
        }
        for v in views
    ]
    context = {"case": case, "rows": rows, "kinds": KIND_LABELS, "langs": LANGS, "created": created, "error": error}
    return render_staff(request, session, "agent/case_forms.html", context, status_code=status_code)


async def case_forms(request: Request, session: Session) -> Response:
    return await _page(request, session, await _case(request, session, Permission.CASE_READ))


async def create_form(request: Request, session: Session) -> Response:
    case = await _case(request, session, Permission.CASE_REPLY)
    form = await read_form(request)
    kind = form_text(form, "kind", limit=20)
    lang = form_text(form, "lang", limit=5) or case.lang
    if kind not in FORM_KINDS or lang not in LANGS:
        return await _page(request, session, case, status_code=422, error="Choose a form and a language.")
    try:
        link = await (await customer_desk(request)).forms.create_request(
            case_id=case.id,
            kind=kind,
            created_by=session.principal.name,
            lang=lang,
            role=session.principal.role.value,
            origin_ip=client_ip(request),
            channel="web",
        )
    except InvalidInput as exc:
        return await _page(request, session, case, status_code=422, error=exc.message)
    created = {"url": link.url, "expires": _when(link.expires_at), "kind": KIND_LABELS[kind]}
    return await _page(request, session, case, created=created)


FORM_REQUEST_ROUTES: Final = (
    StaffRoute(PATH, case_forms, ("GET",), Permission.CASE_READ),
    StaffRoute(PATH, create_form, ("POST",), Permission.CASE_REPLY),
)


def routes() -> list[BaseRoute]:
    return list(staff_routes(FORM_REQUEST_ROUTES))
