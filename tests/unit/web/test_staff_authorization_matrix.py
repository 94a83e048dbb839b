"""Authorization matrix: every staff route (GET and POST) × anonymous, agent, compliance, admin and a disabled user,
with the exact status each must get, on the real app with a real database and key directory.

302 goes to ``/login``; POSTs carry the caller's own valid CSRF token (missing and wrong tokens are the next tests),
so a 403 here is the permission check. Object-level rows (an account or key that does not exist) answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from staff_support import HTML, StaffClient, StaffWeb

from securedesk.identity import Actor, Role
from securedesk.web.admin_pages import ADMIN_ROUTES
from securedesk.web.compliance_pages import COMPLIANCE_ROUTES
from securedesk.web.staff_pages import STAFF_ROUTES

ROLES = ("anonymous", "agent", "compliance", "admin", "disabled")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    form: tuple[tuple[str, str], ...]
    expected: tuple[int, int, int, int, int]  # in ROLES order
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}{' ' + self.label if self.label else ''}"


def row(method: str, path: str, expected: tuple[int, int, int, int, int], label: str = "", **form: str) -> Row:
    return Row(method, path, tuple(form.items()), expected, label)


STAFF_ONLY = (302, 200, 200, 200, 302)
ADMIN_ONLY = (302, 403, 403, 200, 302)
COMPLIANCE_ONLY = (302, 403, 200, 403, 302)

MATRIX = (
    # public
    row("GET", "/login", (200, 303, 303, 303, 200)),
    # any logged-in staff member
    row("GET", "/staff", STAFF_ONLY),
    row("GET", "/step-up", STAFF_ONLY),
    row("POST", "/step-up", (302, 401, 401, 401, 302), "wrong code", code="000000"),
    row("POST", "/logout", (302, 303, 303, 303, 302)),
    # admin
    row("GET", "/admin/users", ADMIN_ONLY),
    row("POST", "/admin/users/add", ADMIN_ONLY, name="newcomer", role="agent", queues="general"),
    row("POST", "/admin/users/role", (302, 403, 403, 303, 302), name="target", role="compliance"),
    row("POST", "/admin/users/role", (302, 403, 403, 404, 302), "unknown account", name="nobody", role="agent"),
    row("POST", "/admin/users/queues", (302, 403, 403, 303, 302), name="target", queues="billing"),
    row("POST", "/admin/users/queues", (302, 403, 403, 404, 302), "unknown account", name="nobody", queues="x"),
    row("POST", "/admin/users/disable", (302, 403, 403, 303, 302), name="target"),
    row("POST", "/admin/users/disable", (302, 403, 403, 404, 302), "unknown account", name="nobody"),
    row("POST", "/admin/users/enrol-link", ADMIN_ONLY, name="target"),
    row("POST", "/admin/users/enrol-link", (302, 403, 403, 404, 302), "unknown account", name="nobody"),
    row("GET", "/admin/api-keys", ADMIN_ONLY),
    row("POST", "/admin/api-keys/add", ADMIN_ONLY, name="matrix-key", scope_screen="1", rate="60"),
    row("POST", "/admin/api-keys/rotate", (302, 403, 403, 404, 302), "unknown key", name="nobody"),
    row("POST", "/admin/api-keys/revoke", (302, 403, 403, 404, 302), "unknown key", name="nobody"),
    row("GET", "/admin/keys", ADMIN_ONLY),
    row("POST", "/admin/keys/rotate", (302, 403, 403, 303, 302)),
    row("POST", "/admin/keys/retire", (302, 403, 403, 404, 302), "unknown version", version="9"),
    row("POST", "/admin/keys/retire", (302, 403, 403, 409, 302), "current version", version="1"),
    row("GET", "/admin/policy", ADMIN_ONLY),
    row("POST", "/admin/policy/reload", ADMIN_ONLY),
    row("GET", "/admin/outbox", ADMIN_ONLY),
    row("GET", "/metrics", (404, 404, 404, 200, 404)),
    # compliance
    row("GET", "/compliance/audit", COMPLIANCE_ONLY),
    row("POST", "/compliance/audit", COMPLIANCE_ONLY, action="auth.*"),
    row("POST", "/compliance/audit/export", COMPLIANCE_ONLY, format="jsonl"),
    row("POST", "/compliance/audit/verify", (302, 403, 303, 403, 302)),
)


async def _callers(web: StaffWeb) -> dict[str, StaffClient]:
    agent = await web.enrol("agnes", Role.AGENT, queues=("general",))
    compliance = await web.enrol("carl", Role.COMPLIANCE)
    admin = await web.enrol("ada", Role.ADMIN)
    await web.enrol("target", Role.AGENT)
    gone = await web.enrol("gone", Role.AGENT)
    callers = {
        "anonymous": web.anonymous(),
        "agent": await web.login(agent),
        "compliance": await web.login(compliance),
        "admin": await web.login(admin),
        "disabled": await web.login(gone),
    }
    await web.services.identity.accounts.disable("gone", actor=Actor(name="ada", role="admin", channel="web"))
    return callers


def test_the_matrix_covers_every_staff_route() -> None:
    declared = {
        (method, route.path) for route in (*STAFF_ROUTES, *ADMIN_ROUTES, *COMPLIANCE_ROUTES) for method in route.methods
    }
    covered = {(r.method, r.path) for r in MATRIX}

    assert declared - covered == set()
    assert covered - declared == {("GET", "/login"), ("GET", "/metrics")}


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
async def test_role_by_route(staff_web: StaffWeb, case: Row) -> None:
    callers = await _callers(staff_web)
    statuses: dict[str, int] = {}
    for role in ROLES:
        caller = callers[role]
        if case.method == "GET":
            response = await caller.client.get(case.path, headers=HTML)
        else:
            response = await caller.post(case.path, dict(case.form))
        statuses[role] = response.status_code
        if response.status_code == 302:
            assert response.headers["location"] == "/login", (role, case.id)
        assert response.headers["cache-control"] == "no-store", (role, case.id)

    assert statuses == dict(zip(ROLES, case.expected, strict=True))


@pytest.mark.parametrize(
    "case", [r for r in MATRIX if r.method == "POST" and r.path != "/step-up" and not r.label], ids=lambda c: c.id
)
@pytest.mark.parametrize("token", ["missing", "wrong"])
async def test_every_form_needs_the_sessions_csrf_token(staff_web: StaffWeb, case: Row, token: str) -> None:
    callers = await _callers(staff_web)
    role = "compliance" if case.path.startswith("/compliance/") else "admin"
    caller = callers[role]
    before = await staff_web.audit_actions()
    form = dict(case.form)
    if token == "wrong":
        form["csrf_token"] = callers["agent"].csrf  # a real token, of another session

    response = await caller.post(case.path, form, csrf=False)

    assert response.status_code == 403
    assert "You do not have permission to do this." in response.text
    assert await staff_web.audit_actions() == before  # nothing happened, nothing was read
    assert (await caller.get("/staff")).status_code == 200  # and the session is still fine
