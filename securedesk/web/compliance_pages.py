"""Compliance pages: search the audit log (by actor, action, target, time range and outcome, paginated), see the
chain's status (the last verification, run in the background), verify now, and export the filtered range as CSV or
JSON Lines with its signed checkpoint (verifiable offline with ``securedesk audit verify --export FILE``).

Reading the log is itself audited: ``AuditLog.search`` and ``export`` record ``audit.search``/``audit.export`` before
they return anything. Filters travel in POSTed forms, never in URLs; every answer is ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from securedesk.audit import EXPORT_FORMATS, OUTCOMES, AuditFilters, Page
from securedesk.errors import InvalidInput
from securedesk.gateway.services import Services
from securedesk.identity import Permission, Session
from securedesk.web.auth import StaffRoute, actor_of, client_ip, form_text, read_form, services_of, staff_routes
from securedesk.web.staff_layout import render_staff, shown_time

PAGE_SIZE: Final = 50
FILTER_FIELDS: Final = ("actor", "action", "target", "outcome", "since", "until")
#: While a verification runs, the page reloads itself this often (a meta refresh: no script needed).
VERIFY_REFRESH_SECONDS: Final = 2


def _moment(value: str, name: str) -> float | None:
    """A ``datetime-local`` value (``2027-01-15T08:00``, read as UTC) or a full ISO 8601 time, as epoch seconds."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"The {name} time must look like 2027-01-15T08:00 (UTC).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_filters(form: FormData, screen: Callable[[str], str]) -> tuple[AuditFilters, dict[str, str]]:
    """The filters a form asks for, and the values to show back in the form. Typed text passes ``screen`` first
    (the audit log's reason screen): a card number typed into a filter is neither searched for nor shown again."""
    raw = {name: form_text(form, name, limit=500).strip() for name in FILTER_FIELDS}
    for name in ("actor", "action", "target"):
        raw[name] = screen(raw[name]) if raw[name] else ""
    if raw["outcome"] and raw["outcome"] not in OUTCOMES:
        raise InvalidInput(f"The outcome must be one of {', '.join(OUTCOMES)}.")
    filters = AuditFilters(
        actor=raw["actor"] or None,
        action=raw["action"] or None,
        target=raw["target"] or None,
        outcome=raw["outcome"] or None,
        since=_moment(raw["since"], "from"),
        until=_moment(raw["until"], "until"),
    )
    return filters, raw


def _number(form: FormData, name: str, default: int | None) -> int | None:
    value = form_text(form, name, limit=12).strip()
    if not value:
        return default
    if not value.isdigit():
        raise InvalidInput(f"The {name} must be a whole number.")
    return int(value)


def _chain_status(services: Services) -> dict[str, Any]:
    job = services.chain_check
    last = job.last
    if job.running:
        state, summary = "running", "Verification is running…"
    elif last is None:
        state, summary = "unknown", "The chain has not been verified since the server started."
    elif last.result is None:
        state, summary = "error", f"The last verification could not finish: {last.error}"
    else:
        state = "ok" if last.result.ok else "tampered"
        summary = last.result.summary()
    return {
        "state": state,
        "summary": summary,
        "report": last.result if last else None,
        "finished": shown_time(last.finished_at) if last else "-",
        "started_by": last.started_by if last else "",
    }


def _page(request: Request, session: Session, context: dict[str, Any], *, status_code: int = 200) -> Response:
    services = services_of(request)
    chain = _chain_status(services)
    values: dict[str, Any] = {
        "chain": chain,
        "outcomes": OUTCOMES,
        "formats": EXPORT_FORMATS,
        "values": dict.fromkeys(FILTER_FIELDS, ""),
        "result": None,
        "may_export": session.principal.may(Permission.AUDIT_EXPORT),
        "may_verify": session.principal.may(Permission.AUDIT_VERIFY),
        "refresh_seconds": VERIFY_REFRESH_SECONDS if chain["state"] == "running" else 0,
    }
    values.update(context)
    return render_staff(request, session, "compliance/audit.html", values, status_code=status_code)


async def audit_page(request: Request, session: Session) -> Response:
    return _page(request, session, {})


async def audit_search(request: Request, session: Session) -> Response:
    form = await read_form(request)
    try:
        filters, raw = parse_filters(form, services_of(request).reasons)
        number = _number(form, "page", 1) or 1
        as_of = _number(form, "as_of", None)
    except InvalidInput as exc:
        return _page(request, session, {"error": exc.message}, status_code=400)
    principal = session.principal
    result = await services_of(request).audit.search(
        filters,
        Page(number, PAGE_SIZE, as_of),
        actor=principal.name,
        role=principal.role.value,
        origin_ip=client_ip(request),
        channel="web",
    )
    events = [{"event": event, "time": event.time[:19].replace("T", " ")} for event in result.events]
    return _page(request, session, {"values": raw, "result": result, "events": events})


async def audit_export(request: Request, session: Session) -> Response:
    form = await read_form(request)
    fmt = form_text(form, "format", limit=10)
    try:
        filters, _ = parse_filters(form, services_of(request).reasons)
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(f"Unknown export format: use {' or '.join(EXPORT_FORMATS)}.")
    except InvalidInput as exc:
        return _page(request, session, {"error": exc.message}, status_code=400)
    principal = session.principal
    export = await services_of(request).audit.export(
        filters,
        fmt,
        actor=principal.name,
        role=principal.role.value,
        origin_ip=client_ip(request),
        channel="web",
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "Cache-Control": "no-store",
        "X-Export-Events": str(export.matched),
        "X-Export-Checkpoint-Sequence": str(export.checkpoint.sequence),
    }
    return Response(export.content, media_type=export.media_type, headers=headers)


async def audit_verify(request: Request, session: Session) -> Response:
    services = services_of(request)
    actor = actor_of(request, session)
    await services.audit.record(
        actor=actor.name,
        role=actor.role,
        action="audit.verify",
        target="chain",
        origin_ip=actor.origin_ip,
        channel=actor.channel,
    )
    await services.verify_chain(started_by=actor.name)
    return RedirectResponse("/compliance/audit", status_code=303)


COMPLIANCE_ROUTES: Final = (
    StaffRoute("/compliance/audit", audit_page, ("GET",), Permission.AUDIT_READ),
    StaffRoute("/compliance/audit", audit_search, ("POST",), Permission.AUDIT_READ),
    StaffRoute(
        "/compliance/audit/export",
        audit_export,
        ("POST",),
        Permission.AUDIT_EXPORT,
        step_up=True,
        return_to="/compliance/audit",
    ),
    StaffRoute(
        "/compliance/audit/verify", audit_verify, ("POST",), Permission.AUDIT_VERIFY, return_to="/compliance/audit"
    ),
)


def routes() -> list[BaseRoute]:
    return list(staff_routes(COMPLIANCE_ROUTES))
