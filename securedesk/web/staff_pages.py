"""Staff sign-in pages: ``/login`` (name, password and TOTP code in one form), ``/logout``, ``/enrol/<token>``
(password and authenticator set-up through a one-time link), ``/step-up`` (a fresh code) and the ``/staff`` start page.

Every failed login gets the same page and status, whatever the cause (unknown name, wrong password or code, locked or
disabled account); an address with too many failures gets 429 before any password is checked. The enrolment token
is in the path of a one-time link only: the access log records the route template ``/enrol/{token}``, the page is
``no-store`` and sends no referrer.
"""

from __future__ import annotations

import base64
import logging
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from securedesk.clock import utc_iso
from securedesk.errors import AuditError, AuthenticationFailed, PasswordRejected
from securedesk.identity import EnrolmentChallenge, Session
from securedesk.sensitive import Sensitive
from securedesk.web.auth import (
    RETURN_FIELD,
    LoginThrottle,
    StaffRoute,
    check_origin,
    clear_session_cookie,
    client_ip,
    current_session,
    form_text,
    home_of,
    read_form,
    remember_session,
    safe_return,
    services_of,
    session_token,
    set_session_cookie,
    staff_routes,
    step_up_page,
)
from securedesk.web.i18n import text
from securedesk.web.staff_layout import render_staff
from securedesk.web.templating import request_language

logger = logging.getLogger("securedesk.web.staff")

_MAX_PASSWORD_FIELD: Final = 1_024
_MAX_CODE_FIELD: Final = 32
_ENROL_HEADERS: Final = {"X-Robots-Tag": "noindex, nofollow"}


def login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _login_page(
    request: Request, *, status_code: int = 200, error: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return render_staff(
        request, None, "staff/login.html", {"error": error}, status_code=status_code, headers=headers, localized=True
    )


async def login_form(request: Request) -> Response:
    session = await current_session(request)
    if session is not None:
        return RedirectResponse(home_of(session), status_code=303)
    return _login_page(request)


async def login_submit(request: Request) -> Response:
    check_origin(request)
    lang = request_language(request)
    ip = client_ip(request)
    throttle = login_throttle(request)
    wait = throttle.retry_after(ip)
    if wait is not None:
        logger.warning("login.throttled", extra={"fields": {"retry_after": wait}})
        return _login_page(
            request, status_code=429, error=text("staff.login.throttled", lang), headers={"Retry-After": str(wait)}
        )
    form = await read_form(request)
    name = form_text(form, "name", limit=200)
    password = Sensitive(form_text(form, "password", limit=_MAX_PASSWORD_FIELD))
    code = Sensitive(form_text(form, "code", limit=_MAX_CODE_FIELD))
    try:
        new = await services_of(request).identity.authenticator.login(
            name, password, code, origin_ip=ip, channel="web", replaces=session_token(request)
        )
    except AuthenticationFailed:
        throttle.failed(ip)
        return _login_page(request, status_code=401, error=text("staff.login.failed", lang))
    response = RedirectResponse(home_of(new.session), status_code=303)
    set_session_cookie(response, new.token)
    return response


async def logout(request: Request, session: Session) -> Response:
    token = session_token(request)
    if token is not None:
        try:
            await services_of(request).identity.sessions.end(token, reason="logout", origin_ip=client_ip(request))
        except AuditError:
            # The session has ended all the same; the failed write is counted and shows on /readyz.
            logger.warning("logout.audit_failed")
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


async def staff_home(request: Request, session: Session) -> Response:
    minutes = services_of(request).settings.step_up_seconds // 60
    return render_staff(request, session, "staff/home.html", {"step_up_minutes": minutes})


async def step_up_form(request: Request, session: Session) -> Response:
    return step_up_page(request, session, return_to=home_of(session), status_code=200)


async def step_up_submit(request: Request, session: Session) -> Response:
    form = await read_form(request)
    return_to = safe_return(form.get(RETURN_FIELD), session)
    code = Sensitive(form_text(form, "code", limit=_MAX_CODE_FIELD))
    services = services_of(request)
    try:
        refreshed = await services.identity.authenticator.step_up(session, code, origin_ip=client_ip(request))
    except AuthenticationFailed:
        error = text("staff.step_up.failed", request_language(request))
        return step_up_page(request, session, return_to=return_to, status_code=401, error=error)
    remember_session(request, refreshed)
    return RedirectResponse(return_to, status_code=303)


# --- enrolment ---------------------------------------------------------------------------------------------------


def _enrol_token(request: Request) -> str:
    token = request.path_params.get("token", "")
    return token if isinstance(token, str) else ""


def _enrol_invalid(request: Request, message: str) -> Response:
    return render_staff(
        request, None, "staff/enrol_invalid.html", {"message": message}, status_code=404, headers=_ENROL_HEADERS
    )


def _enrol_page(
    request: Request, challenge: EnrolmentChallenge, *, status_code: int = 200, error: str | None = None
) -> Response:
    secret = challenge.secret.reveal()
    svg = challenge.qr_svg.reveal().encode("utf-8")
    context = {
        "challenge": challenge,
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
        "otpauth_uri": challenge.otpauth_uri.reveal(),
        "expires": utc_iso(challenge.expires_at)[:16].replace("T", " "),
        "form_action": request.url.path,
        "error": error,
    }
    return render_staff(request, None, "staff/enrol.html", context, status_code=status_code, headers=_ENROL_HEADERS)


async def enrol_form(request: Request) -> Response:
    try:
        challenge = await services_of(request).identity.enrolment.begin(_enrol_token(request))
    except AuthenticationFailed as exc:
        return _enrol_invalid(request, exc.message)
    return _enrol_page(request, challenge)


async def enrol_submit(request: Request) -> Response:
    check_origin(request)
    token = _enrol_token(request)
    enrolment = services_of(request).identity.enrolment
    try:
        challenge = await enrolment.begin(token)
    except AuthenticationFailed as exc:
        return _enrol_invalid(request, exc.message)
    form = await read_form(request)
    password = form_text(form, "password", limit=_MAX_PASSWORD_FIELD)
    if password != form_text(form, "password_confirm", limit=_MAX_PASSWORD_FIELD):
        return _enrol_page(request, challenge, status_code=422, error="The two passwords are not the same.")
    code = Sensitive(form_text(form, "code", limit=_MAX_CODE_FIELD))
    try:
        member = await enrolment.complete(token, Sensitive(password), code, origin_ip=client_ip(request))
    except PasswordRejected as exc:
        return _enrol_page(request, challenge, status_code=422, error=exc.message)
    except AuthenticationFailed as exc:
        try:
            challenge = await enrolment.begin(token)
        except AuthenticationFailed as invalid:
            return _enrol_invalid(request, invalid.message)
        return _enrol_page(request, challenge, status_code=401, error=exc.message)
    return render_staff(request, None, "staff/enrol_done.html", {"member": member}, headers=_ENROL_HEADERS)


#: Staff routes that need a session (see ``StaffRoute``).
STAFF_ROUTES: Final = (
    StaffRoute("/logout", logout, ("POST",), None),
    StaffRoute("/staff", staff_home, ("GET",), None),
    StaffRoute("/step-up", step_up_form, ("GET",), None),
    StaffRoute("/step-up", step_up_submit, ("POST",), None),
)


def routes() -> list[BaseRoute]:
    public: list[BaseRoute] = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/enrol/{token}", enrol_form, methods=["GET"]),
        Route("/enrol/{token}", enrol_submit, methods=["POST"]),
    ]
    return public + list(staff_routes(STAFF_ROUTES))
