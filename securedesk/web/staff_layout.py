"""The frame of every staff page: the navigation (only what the role may open), who is logged in, the logout form,
and ``render_staff`` to render a page in it. Staff pages are in English except sign-in, which follows the request's
language (en, fr, sv)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from securedesk.clock import utc_iso
from securedesk.identity import Permission, Session
from securedesk.web.templating import render_page

STAFF_LANGUAGE: Final = "en"


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    permission: Permission | None  # None: every staff member


#: The staff navigation, in order. The agent console adds its entry here.
NAV_LINKS: Final = (
    NavLink("/staff", "Start", None),
    NavLink("/agent", "Agent console", Permission.CASE_READ),
    NavLink("/agent/callbacks", "Call-backs", Permission.CASE_READ),
    NavLink("/admin/users", "Users", Permission.USERS_MANAGE),
    NavLink("/admin/keys", "Keys", Permission.KEYS_MANAGE),
    NavLink("/admin/policy", "Policy", Permission.POLICY_MANAGE),
    NavLink("/admin/outbox", "Email outbox", Permission.METRICS_READ),
    NavLink("/admin/api-keys", "API keys", Permission.USERS_MANAGE),
    NavLink("/compliance/audit", "Audit log", Permission.AUDIT_READ),
)


def shown_time(timestamp: float | None) -> str:
    """``2027-01-15 08:00:00`` (UTC, to the second) for a page; ``-`` for none."""
    return utc_iso(timestamp)[:19].replace("T", " ") if timestamp else "-"


def nav_links(session: Session, current: str) -> list[dict[str, Any]]:
    principal = session.principal
    return [
        {"path": link.path, "label": link.label, "current": current == link.path or current.startswith(link.path + "/")}
        for link in NAV_LINKS
        if link.permission is None or principal.may(link.permission)
    ]


def render_staff(
    request: Request,
    session: Session | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    localized: bool = False,
) -> Response:
    """Render a staff page (``Cache-Control: no-store`` like every page): with ``session``, the navigation and the
    logout form; in English unless ``localized``."""
    values: dict[str, Any] = {"session": session}
    if session is not None:
        values["csrf_token"] = session.csrf_token
        values["nav_links"] = nav_links(session, request.url.path)
    values.update(context or {})
    return render_page(
        request,
        template,
        values,
        status_code=status_code,
        headers=headers,
        lang=None if localized else STAFF_LANGUAGE,
    )
