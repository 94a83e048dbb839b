"""Staff authentication and authorization for HTTP routes and WebSockets: who is asking (the ``__Host-securedesk``
session cookie), what they may do (each route declares its permission), CSRF on every state-changing form, and a
fresh second factor for sensitive actions.

Every staff route is a ``StaffRoute``: anonymous or expired sessions are sent to ``/login`` (302); a role without the
route's permission gets 403; a POST needs the session's CSRF token in the ``csrf_token`` field (403 otherwise) and an
``Origin`` (when the browser sends one) from ``allowed_origins``; ``step_up=True`` routes need a TOTP code entered
within ``Settings.step_up_seconds`` and otherwise answer 403 with the step-up form, which brings the user back.

For the chat and agent console: ``websocket_session(ws, permission)`` authenticates a WebSocket handshake (Origin
allow-list, cookie, permission) and ``require_step_up(request)`` guards a reveal.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.errors import AuthenticationFailed, InvalidInput, PermissionDenied, StepUpRequired
from securedesk.gateway.services import Services
from securedesk.identity import SESSION_COOKIE, Actor, Permission, Role, Session, require
from securedesk.sensitive import Sensitive
from securedesk.web.pages import safe_next
from securedesk.web.staff_layout import render_staff

logger = logging.getLogger("securedesk.web.auth")

LOGIN_PATH: Final = "/login"
CSRF_FIELD: Final = "csrf_token"
#: The hidden field a form carries so that a step-up (or an error) can bring the user back to its page.
RETURN_FIELD: Final = "return_to"
#: Where each role lands after logging in (the agent console replaces the staff start page for agents).
ROLE_HOMES: Final = MappingProxyType(
    {Role.ADMIN: "/admin/users", Role.COMPLIANCE: "/compliance/audit", Role.AGENT: "/agent"}
)
_SESSION_STATE: Final = "staff_session"
_MAX_FORM_FIELDS: Final = 40
_STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

StaffEndpoint = Callable[[Request, Session], Awaitable[Response]]


def services_of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


def client_ip(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client is not None else None


def actor_of(conn: HTTPConnection, session: Session) -> Actor:
    """The logged-in staff member as the actor of an account or key change (for the audit log)."""
    principal = session.principal
    return Actor(name=principal.name, role=principal.role.value, origin_ip=client_ip(conn), channel="web")


def home_of(session: Session) -> str:
    return ROLE_HOMES.get(session.principal.role, "/staff")


# --- sessions ----------------------------------------------------------------------------------------------------


def session_token(conn: HTTPConnection) -> Sensitive | None:
    value = conn.cookies.get(SESSION_COOKIE.name)
    return Sensitive(value) if value else None


async def current_session(conn: HTTPConnection) -> Session | None:
    """The live session of this request or WebSocket (its idle clock restarted), or None; loaded once per request."""
    cached = getattr(conn.state, _SESSION_STATE, None)
    if isinstance(cached, Session):
        return cached
    token = session_token(conn)
    if token is None:
        return None
    try:
        session = await services_of(conn).identity.sessions.authenticate(token)
    except AuthenticationFailed:
        return None
    setattr(conn.state, _SESSION_STATE, session)
    return session


def remember_session(conn: HTTPConnection, session: Session) -> None:
    """Replace the cached session (after a step-up refreshed it)."""
    setattr(conn.state, _SESSION_STATE, session)


def set_session_cookie(response: Response, token: Sensitive) -> None:
    policy = SESSION_COOKIE
    response.set_cookie(
        policy.name,
        token.reveal(),
        path=policy.path,
        secure=policy.secure,
        httponly=policy.httponly,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    policy = SESSION_COOKIE
    response.delete_cookie(
        policy.name, path=policy.path, secure=policy.secure, httponly=policy.httponly, samesite="strict"
    )


def login_redirect(conn: HTTPConnection) -> Response:
    """To the login page (302); a stale cookie is cleared on the way."""
    response = RedirectResponse(LOGIN_PATH, status_code=302)
    if session_token(conn) is not None:
        clear_session_cookie(response)
    return response


# --- forms: origin and CSRF --------------------------------------------------------------------------------------


def allowed_origins(settings: Settings) -> frozenset[str]:
    base = urlsplit(settings.public_base_url)
    own = f"{base.scheme}://{base.netloc}".lower() if base.scheme and base.netloc else ""
    return frozenset({origin.rstrip("/").lower() for origin in settings.allowed_origins} | ({own} - {""}))


def check_origin(conn: HTTPConnection) -> None:
    """Refuse a cross-site request: an ``Origin`` that is not ours, or a browser saying it comes from elsewhere.

    Protects forms that have no session yet (login, enrolment: login CSRF). Our pages send no referrer, so browsers
    send ``Origin: null`` with their POSTs; then ``Sec-Fetch-Site`` (which pages cannot forge) must say
    ``same-origin``. Clients that send neither header (not a browser) pass: they cannot carry a victim's cookies.
    """
    origin = conn.headers.get("origin")
    if origin is not None and origin != "null":
        if origin.rstrip("/").lower() not in allowed_origins(services_of(conn).settings):
            raise PermissionDenied("The request came from another site.")
        return
    fetch_site = conn.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        raise PermissionDenied("The request came from another site.")


async def read_form(request: Request) -> FormData:
    """The submitted form (urlencoded; no files), parsed once per request."""
    try:
        return await request.form(max_files=0, max_fields=_MAX_FORM_FIELDS)
    except HTTPException as exc:  # Starlette's answer to a malformed or over-full multipart body
        raise InvalidInput("The form could not be read.") from exc


def form_text(form: FormData, name: str, *, limit: int = 1_000) -> str:
    """One text field of ``form`` ('' when absent); a file or an over-long value is malformed input."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"The form field {name!r} must be text.")
    if len(value) > limit:
        raise InvalidInput(f"The form field {name!r} is too long.")
    return value


async def check_csrf(request: Request, session: Session) -> FormData:
    """Raise ``PermissionDenied`` unless the form carries this session's CSRF token (and comes from our origin)."""
    check_origin(request)
    form = await read_form(request)
    submitted = form.get(CSRF_FIELD)
    services_of(request).identity.sessions.check_csrf(session, submitted if isinstance(submitted, str) else None)
    return form


# --- step-up -----------------------------------------------------------------------------------------------------


def require_step_up(request: Request) -> Session:
    """The request's session if a TOTP code was entered within ``Settings.step_up_seconds``; ``StepUpRequired``
    (403) otherwise. Call it in a reveal (or any sensitive action) after the route's own checks."""
    session = getattr(request.state, _SESSION_STATE, None)
    if not isinstance(session, Session):
        raise AuthenticationFailed("A logged-in session is needed.")
    services = services_of(request)
    services.identity.sessions.require_recent_mfa(session, within=services.settings.step_up_seconds)
    return session


def step_up_page(
    request: Request, session: Session, *, return_to: object, status_code: int = 403, error: str | None = None
) -> Response:
    """The step-up form; after a good code the user goes back to ``return_to`` (a same-site path)."""
    context = {"return_to": safe_return(return_to, session), "error": error}
    return render_staff(request, session, "staff/step_up.html", context, status_code=status_code, localized=True)


def safe_return(value: object, session: Session) -> str:
    """A same-site relative path to go back to, or the role's start page: never another site."""
    path = safe_next(value)
    return home_of(session) if path == "/" or not path.startswith("/") else path


# --- routes ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRoute:
    """One staff page or action and what it needs: ``permission`` (None: any logged-in staff member), and for
    ``step_up`` a recent TOTP code. POST routes always need the CSRF token."""

    path: str
    endpoint: StaffEndpoint
    methods: tuple[str, ...]
    permission: Permission | None
    step_up: bool = False
    #: Where a step-up or a refused form brings the user back to, when the form does not say.
    return_to: str | None = None

    def route(self) -> Route:
        async def guarded(request: Request) -> Response:
            return await self._guard(request)

        guarded.__name__ = getattr(self.endpoint, "__name__", "staff_route")
        return Route(self.path, guarded, methods=list(self.methods))

    async def _guard(self, request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            return login_redirect(request)
        if self.permission is not None:
            require(session.principal, self.permission)
        return_to: object = request.url.path
        if request.method in _STATE_CHANGING:
            form = await check_csrf(request, session)
            return_to = form.get(RETURN_FIELD) or self.return_to or self.path
        if self.step_up:
            try:
                require_step_up(request)
            except StepUpRequired:
                return step_up_page(request, session, return_to=return_to)
        return await self.endpoint(request, session)


def staff_routes(routes: Sequence[StaffRoute]) -> list[Route]:
    return [route.route() for route in routes]


# --- WebSockets --------------------------------------------------------------------------------------------------


async def websocket_session(websocket: WebSocket, permission: Permission | None) -> Session:
    """Authenticate a WebSocket handshake before ``accept()``: the ``Origin`` must be in ``allowed_origins``, the
    session cookie live, and the role must hold ``permission``. Raises ``PermissionDenied`` or
    ``AuthenticationFailed``, which the app's error handler turns into a close (1008) before the socket opens."""
    origin = websocket.headers.get("origin")
    if origin is None or origin.rstrip("/").lower() not in allowed_origins(services_of(websocket).settings):
        raise PermissionDenied("WebSocket connections are accepted only from this site's pages.")
    session = await current_session(websocket)
    if session is None:
        raise AuthenticationFailed("A logged-in session is needed.")
    if permission is not None:
        require(session.principal, permission)
    return session


# --- login throttling by client address --------------------------------------------------------------------------


class LoginThrottle:
    """Failed logins per client IP in a sliding window: past ``max_failures`` the address gets 429 for a while,
    before any password is checked (this is on top of the per-account lockout, which an attacker spreading guesses
    over many accounts would not reach). At most ``max_tracked`` addresses are remembered (least recent dropped)."""

    def __init__(self, clock: Clock, *, max_failures: int, window_seconds: float, max_tracked: int = 10_000) -> None:
        if max_failures < 1 or window_seconds <= 0:
            raise ValueError("login throttling needs max_failures >= 1 and a positive window")
        self._clock = clock
        self._max = max_failures
        self._window = window_seconds
        self._max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> LoginThrottle:
        return cls(clock, max_failures=settings.login_ip_max_failures, window_seconds=settings.login_ip_window_seconds)

    def retry_after(self, ip: str | None) -> int | None:
        """Seconds until ``ip`` may try again, or None when it may try now."""
        times = self._recent(ip)
        if times is None or len(times) < self._max:
            return None
        return max(1, int(times[0] + self._window - self._clock.now()) + 1)

    def failed(self, ip: str | None) -> None:
        key = ip or "unknown"
        times = self._recent(key)
        if times is None:
            times = self._failures[key] = deque(maxlen=self._max)
            while len(self._failures) > self._max_tracked:
                self._failures.popitem(last=False)
        times.append(self._clock.now())
        self._failures.move_to_end(key)

    def _recent(self, ip: str | None) -> deque[float] | None:
        key = ip or "unknown"
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock.now() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


async def may_read_metrics(request: Request) -> bool:
    """``Services.metrics_authorizer`` for the main app: a logged-in staff member whose role reads metrics (admin)."""
    session = await current_session(request)
    return session is not None and session.principal.may(Permission.METRICS_READ)
