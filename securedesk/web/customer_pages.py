"""Customer pages: protected forms (``/forms/{token}``), the verified lookup (``/lookup``, ``/lookup/verify``,
``/lookup/session``) and call-back requests (``/callback``), in English, French and Swedish.

Every page is ``no-store`` (the middleware's default), sends no referrer, loads nothing from another origin, and
every form carries a CSRF token derived from the browser cookie (``securedesk.customer.browser``). A value a
customer typed is never written back into a page, not even next to its error. The form token is in the path only:
the access log records the route template ``/forms/{token}``.

Other parts of the web app reach the customer paths through ``customer_desk(request)`` (e.g. the agent console:
``(await customer_desk(request)).forms.create_request(...)``, or ``.links`` as the Screener's nudge link builder).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from securedesk.customer.browser import BROWSER_COOKIE, CSRF_FIELD, new_browser_id, valid_browser_id
from securedesk.customer.callback import CallbackContext, CallbackForm
from securedesk.customer.desk import CustomerDesk
from securedesk.customer.forms import FormService, OpenForm
from securedesk.customer.lookup import CodeDelivery, CodeLocked, CodeRejected, CustomerSession, NoOpenChallenge
from securedesk.customer.phones import PHONE_REGIONS
from securedesk.customer.validation import CARD_VERIFICATION_FIELDS
from securedesk.customer.windows import COMMON_TIME_ZONES, DEFAULT_TIME_ZONES, time_zone
from securedesk.errors import LinkGone, MessageBlocked, NotFound, RateLimited, ValidationFailed
from securedesk.gateway.services import Services
from securedesk.logging_setup import describe_exception
from securedesk.screening import Screener
from securedesk.sensitive import Sensitive
from securedesk.web.auth import check_origin, client_ip, form_text, read_form, services_of
from securedesk.web.customer_i18n import customer_text, field_error_text
from securedesk.web.i18n import LANGUAGE_COOKIE, parse_accept_language, supported
from securedesk.web.templating import render_page

logger = logging.getLogger("securedesk.web.customer")

#: The verified customer's session: ``__Host-``, Secure, HttpOnly, SameSite=Strict, no lifetime (the server ends it).
LOOKUP_COOKIE: Final = "__Host-securedesk-lookup"
_DESK_STATE: Final = "customer_desk_holder"
_NO_INDEX: Final = {"X-Robots-Tag": "noindex, nofollow"}
_MAX_VALUE_FIELD: Final = 200
_MAX_TEXT_FIELD: Final = 5_000
_NOTICES: Final = frozenset({"message_sent", "message_masked", "callback_requested"})


# --- the customer desk, opened once per app ------------------------------------------------------------------------


class CustomerDeskHolder:
    """Opens the ``CustomerDesk`` on first use (its key is loaded through the vault, which needs the database open),
    wired to the shared ``Screener`` of ``Services``."""

    def __init__(self) -> None:
        self._desk: CustomerDesk | None = None
        self._lock = asyncio.Lock()

    async def desk(self, services: Services) -> CustomerDesk:
        if self._desk is None:
            async with self._lock:
                if self._desk is None:

                    async def screener() -> Screener:
                        return services.screener

                    self._desk = await CustomerDesk.open(
                        services.settings,
                        database=services.database,
                        vault=services.vault,
                        audit=services.audit,
                        policy=services.policy,
                        clock=services.clock,
                        screener=screener,
                    )
        return self._desk


def desk_holder(conn: HTTPConnection) -> CustomerDeskHolder:
    state = conn.app.state
    holder = getattr(state, _DESK_STATE, None)
    if not isinstance(holder, CustomerDeskHolder):
        holder = CustomerDeskHolder()  # no await between the check and this line: one holder per app
        setattr(state, _DESK_STATE, holder)
    return holder


async def customer_desk(conn: HTTPConnection) -> CustomerDesk:
    """The app's ``CustomerDesk`` (forms, lookup, self-service, call-backs, nudge links)."""
    return await desk_holder(conn).desk(services_of(conn))


async def form_service(conn: HTTPConnection) -> FormService:
    """``FormService.create_request`` for other pages (the agent console's nudge links)."""
    return (await customer_desk(conn)).forms


# --- browser, language, rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Browser:
    id: Sensitive
    new: bool  # set the cookie on the response
    key: bytes
    csrf: str


def browser_of(request: Request, desk: CustomerDesk) -> Browser:
    raw = request.cookies.get(BROWSER_COOKIE)
    browser_id, new = (Sensitive(raw), False) if raw is not None and valid_browser_id(raw) else (new_browser_id(), True)
    return Browser(browser_id, new, desk.browser.key(browser_id), desk.browser.csrf_token(browser_id))


def remember_browser(response: Response, browser: Browser) -> None:
    if browser.new:
        # Lax, so that a link from an email opening a page keeps the browser (and its lookup session); forms are
        # protected by their CSRF token and the Origin check, not by SameSite.
        response.set_cookie(BROWSER_COOKIE, browser.id.reveal(), path="/", secure=True, httponly=True, samesite="lax")


async def checked_post(request: Request, desk: CustomerDesk) -> tuple[FormData, Browser]:
    """The submitted form of a customer page, after the Origin check and this browser's CSRF token (403 otherwise)."""
    check_origin(request)
    form = await read_form(request)
    raw = request.cookies.get(BROWSER_COOKIE)
    submitted = form.get(CSRF_FIELD)
    browser_id = Sensitive(raw) if raw else None
    desk.browser.check_csrf(browser_id, submitted if isinstance(submitted, str) else None)
    if browser_id is None:  # check_csrf refused it already; for the type checker
        raise NotFound("No browser.")
    return form, Browser(browser_id, False, desk.browser.key(browser_id), desk.browser.csrf_token(browser_id))


def customer_language(request: Request, fallback: str | None = None) -> str:
    """``?lang=``, then the switcher's cookie, then ``Accept-Language``, then ``fallback`` (a form's language), then
    English."""
    for candidate in (supported(request.query_params.get("lang")), supported(request.cookies.get(LANGUAGE_COOKIE))):
        if candidate is not None:
            return candidate
    preferred = parse_accept_language(request.headers.get("accept-language", ""))
    if preferred:
        return preferred[0]
    return supported(fallback) or "en"


def render_customer(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    browser: Browser,
    lang: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    def ct(text_id: str, **values: Any) -> str:
        return customer_text(text_id, lang, **{k: str(v) for k, v in values.items()})

    def field_error(code: str) -> str:
        return field_error_text(code, lang)

    values: dict[str, Any] = {
        "ct": ct,
        "field_error": field_error,
        "csrf_token": browser.csrf,
        "errors": {},
        "notice": None,
        "general_error": None,
        "when": utc_minutes,
    }
    values.update(context)
    response = render_page(
        request, template, values, status_code=status_code, headers={**_NO_INDEX, **(headers or {})}, lang=lang
    )
    remember_browser(response, browser)
    return response


def problem_page(
    request: Request,
    browser: Browser,
    lang: str,
    kind: str,
    *,
    status_code: int,
    headers: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    """A clear page for a link or code that cannot be used (``kind``: link.invalid, link.gone, lookup.locked,
    lookup.expired, throttle), never an error trace."""
    context = {"kind": kind, "values": dict(values or {})}
    return render_customer(
        request, "customer/problem.html", context, browser=browser, lang=lang, status_code=status_code, headers=headers
    )


def throttled_page(request: Request, browser: Browser, lang: str, exc: RateLimited) -> Response:
    seconds = exc.retry_after or 60
    minutes = str(max(1, math.ceil(seconds / 60)))
    return problem_page(
        request,
        browser,
        lang,
        "throttle",
        status_code=429,
        headers={"Retry-After": str(seconds)},
        values={"minutes": minutes},
    )


def errors_of(exc: ValidationFailed) -> dict[str, str]:
    """Field → error code (the first one per field)."""
    errors: dict[str, str] = {}
    for field, code in exc.errors:
        errors.setdefault(field, code)
    return errors


def utc_minutes(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M")


# --- protected forms ---------------------------------------------------------------------------------------------


async def forms_index(request: Request) -> Response:
    desk = await customer_desk(request)
    browser = browser_of(request, desk)
    return render_customer(request, "customer/forms_index.html", {}, browser=browser, lang=customer_language(request))


def _token(request: Request) -> str:
    value = request.path_params.get("token", "")
    return value if isinstance(value, str) else ""


def _form_page(
    request: Request,
    browser: Browser,
    lang: str,
    form: OpenForm,
    *,
    status_code: int = 200,
    errors: Mapping[str, str] | None = None,
    general_error: str | None = None,
) -> Response:
    context = {
        "form": form,
        "expires": utc_minutes(form.expires_at),
        "form_action": request.url.path,
        "errors": dict(errors or {}),
        "general_error": general_error,
    }
    return render_customer(request, "customer/form.html", context, browser=browser, lang=lang, status_code=status_code)


async def form_page(request: Request) -> Response:
    desk = await customer_desk(request)
    browser = browser_of(request, desk)
    try:
        form = await desk.forms.open(_token(request))
    except LinkGone:
        return problem_page(request, browser, customer_language(request), "link.gone", status_code=410)
    except NotFound:
        return problem_page(request, browser, customer_language(request), "link.invalid", status_code=404)
    return _form_page(request, browser, customer_language(request, form.lang), form)


async def form_submit(request: Request) -> Response:
    desk = await customer_desk(request)
    form_data, browser = await checked_post(request, desk)
    token = _token(request)
    try:
        form = await desk.forms.open(token)
    except LinkGone:
        return problem_page(request, browser, customer_language(request), "link.gone", status_code=410)
    except NotFound:
        return problem_page(request, browser, customer_language(request), "link.invalid", status_code=404)
    lang = customer_language(request, form.lang)
    fields = {
        name: form_text(form_data, name, limit=_MAX_VALUE_FIELD)
        for name in ("card_number", "id_type", "national_id", "iban", *sorted(CARD_VERIFICATION_FIELDS))
    }
    try:
        receipt = await desk.forms.submit(token, fields, origin_ip=client_ip(request))
    except ValidationFailed as exc:
        return _form_page(request, browser, lang, form, status_code=422, errors=errors_of(exc))
    except MessageBlocked:
        return _form_page(
            request, browser, lang, form, status_code=422, general_error=customer_text("form.refused", lang)
        )
    except LinkGone:
        return problem_page(request, browser, lang, "link.gone", status_code=410)
    except NotFound:
        return problem_page(request, browser, lang, "link.invalid", status_code=404)
    finally:
        fields.clear()
    context = {"reference": receipt.case_reference, "mask": receipt.secret.mask}
    return render_customer(request, "customer/form_done.html", context, browser=browser, lang=lang)


# --- verified lookup -----------------------------------------------------------------------------------------------


async def current_customer(request: Request, desk: CustomerDesk, browser: Browser) -> CustomerSession | None:
    raw = request.cookies.get(LOOKUP_COOKIE)
    return await desk.lookup.session(Sensitive(raw) if raw else None, browser_key=browser.key)


def _lookup_page(
    request: Request,
    browser: Browser,
    lang: str,
    *,
    status_code: int = 200,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    return render_customer(
        request,
        "customer/lookup.html",
        {"errors": dict(errors or {}), "notice": notice},
        browser=browser,
        lang=lang,
        status_code=status_code,
    )


async def lookup_start_page(request: Request) -> Response:
    desk = await customer_desk(request)
    browser = browser_of(request, desk)
    lang = customer_language(request)
    notice = customer_text("session.expired", lang) if request.query_params.get("ended") == "1" else None
    return _lookup_page(request, browser, lang, notice=notice)


async def _deliver(delivery: CodeDelivery) -> None:
    try:
        await delivery()
    except Exception as exc:  # the customer already has the answer page; the outbox or notifier failed
        logger.error("lookup.delivery_failed", extra={"fields": {"error": describe_exception(exc)}})


async def lookup_start(request: Request) -> Response:
    """Known or not, the answer is the same bytes: 303 to ``/lookup/verify``. The code goes out after it."""
    desk = await customer_desk(request)
    form, browser = await checked_post(request, desk)
    lang = customer_language(request)
    identifier = form_text(form, "identifier", limit=_MAX_VALUE_FIELD)
    try:
        delivery = await desk.lookup.start(identifier, browser_key=browser.key, ip=client_ip(request), lang=lang)
    except ValidationFailed as exc:
        return _lookup_page(request, browser, lang, status_code=422, errors=errors_of(exc))
    except RateLimited as exc:
        return throttled_page(request, browser, lang, exc)
    return RedirectResponse("/lookup/verify", status_code=303, background=BackgroundTask(_deliver, delivery))


def _verify_page(
    request: Request,
    browser: Browser,
    lang: str,
    desk: CustomerDesk,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    minutes = max(1, desk.lookup.limits.code_seconds // 60)
    context = {"minutes": minutes, "general_error": error, "errors": {"code": "invalid"} if error else {}}
    return render_customer(
        request, "customer/lookup_verify.html", context, browser=browser, lang=lang, status_code=status_code
    )


async def lookup_verify_page(request: Request) -> Response:
    desk = await customer_desk(request)
    return _verify_page(request, browser_of(request, desk), customer_language(request), desk)


async def lookup_verify(request: Request) -> Response:
    desk = await customer_desk(request)
    form, browser = await checked_post(request, desk)
    lang = customer_language(request)
    code = form_text(form, "code", limit=32)
    try:
        created = await desk.lookup.verify(code, browser_key=browser.key, ip=client_ip(request))
    except CodeRejected as exc:
        error = customer_text("lookup.code_wrong", lang, left=str(exc.attempts_left))
        return _verify_page(request, browser, lang, desk, status_code=401, error=error)
    except CodeLocked:
        return problem_page(request, browser, lang, "lookup.locked", status_code=429)
    except NoOpenChallenge:
        return problem_page(request, browser, lang, "lookup.expired", status_code=410)
    response = RedirectResponse("/lookup/session", status_code=303)
    response.set_cookie(LOOKUP_COOKIE, created.token.reveal(), path="/", secure=True, httponly=True, samesite="strict")
    return response


def _ended(browser: Browser) -> Response:
    response = RedirectResponse("/lookup?ended=1", status_code=303)
    response.delete_cookie(LOOKUP_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    remember_browser(response, browser)
    return response


async def _session_page(
    request: Request,
    desk: CustomerDesk,
    browser: Browser,
    session: CustomerSession,
    lang: str,
    *,
    status_code: int = 200,
    errors: Mapping[str, str] | None = None,
    error_case: str | None = None,
    notices: tuple[str, ...] = (),
) -> Response:
    overview = await desk.self_service.overview(session)
    context = {
        "overview": overview,
        "session": session,
        "expires": utc_minutes(session.expires_at),
        "errors": dict(errors or {}),
        "error_case": error_case,
        "notices": [customer_text(f"notice.{n}", lang) for n in notices],
    }
    return render_customer(
        request, "customer/session.html", context, browser=browser, lang=lang, status_code=status_code
    )


async def lookup_session_page(request: Request) -> Response:
    desk = await customer_desk(request)
    browser = browser_of(request, desk)
    session = await current_customer(request, desk, browser)
    if session is None:
        return _ended(browser)
    notices = tuple(n for n in request.query_params.getlist("notice") if n in _NOTICES)
    return await _session_page(request, desk, browser, session, customer_language(request), notices=notices)


async def lookup_add_message(request: Request) -> Response:
    desk = await customer_desk(request)
    form, browser = await checked_post(request, desk)
    session = await current_customer(request, desk, browser)
    if session is None:
        return _ended(browser)
    lang = customer_language(request)
    case_id = str(request.path_params.get("case_id", ""))
    text = form_text(form, "message", limit=_MAX_TEXT_FIELD)
    try:
        outcome = await desk.self_service.add_message(session, case_id, text, lang=lang, origin_ip=client_ip(request))
    except ValidationFailed as exc:
        return await _session_page(
            request, desk, browser, session, lang, status_code=422, errors=errors_of(exc), error_case=case_id
        )
    notice = "notice=message_sent" + ("&notice=message_masked" if outcome.masked else "")
    return RedirectResponse(f"/lookup/session?{notice}", status_code=303)


async def lookup_logout(request: Request) -> Response:
    desk = await customer_desk(request)
    await checked_post(request, desk)
    raw = request.cookies.get(LOOKUP_COOKIE)
    if raw:
        await desk.lookup.end(Sensitive(raw))
    response = RedirectResponse("/lookup", status_code=303)
    response.delete_cookie(LOOKUP_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


# --- call-backs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CallbackScope:
    binding: str | None  # a nudge's signed case binding, passed along
    bound_reference: str | None
    session: CustomerSession | None
    case_id: str | None  # the case the request is for, when known
    customer_id: str | None


async def _callback_scope(
    request: Request, desk: CustomerDesk, browser: Browser, form: FormData | None
) -> _CallbackScope:
    """Whose call-back this is: a signed case link (``case``), a lookup session (its own cases only: 404 for any
    other id), or nobody in particular."""
    source: Mapping[str, Any] = form if form is not None else request.query_params
    binding = source.get("case")
    if isinstance(binding, str) and binding:
        bound = await desk.callbacks.bound_case(binding)
        if bound is None:
            raise NotFound("This call-back link is not valid.")
        return _CallbackScope(binding, bound.reference, None, bound.id, bound.customer_id)
    session = await current_customer(request, desk, browser)
    if session is None:
        return _CallbackScope(None, None, None, None, None)
    wanted = source.get("case_id")
    if isinstance(wanted, str) and wanted:
        case = await desk.self_service.case(session, wanted)  # NotFound for another customer's case
        return _CallbackScope(None, None, session, case.id, session.customer_id)
    return _CallbackScope(None, None, session, None, session.customer_id)


async def _callback_page(
    request: Request,
    desk: CustomerDesk,
    browser: Browser,
    lang: str,
    scope: _CallbackScope,
    *,
    status_code: int = 200,
    errors: Mapping[str, str] | None = None,
    chosen: Mapping[str, str] | None = None,
) -> Response:
    cases = []
    if scope.session is not None:
        cases = list((await desk.self_service.overview(scope.session)).cases)
    picked = dict(chosen or {})
    zone = picked.get("time_zone") or DEFAULT_TIME_ZONES.get(lang, "UTC")
    zones = list(COMMON_TIME_ZONES)
    if zone not in zones and time_zone(zone) is not None:
        zones.insert(0, zone)
    context = {
        "scope": scope,
        "cases": cases,
        "errors": dict(errors or {}),
        "regions": PHONE_REGIONS,
        "zones": zones,
        "chosen": picked,
        "zone": zone,
        "zone_chosen": bool(picked.get("time_zone")),
        "call_lang": picked.get("lang") or lang,
        "today": datetime.now(tz=UTC).strftime("%Y-%m-%d"),
        "with_script": True,
    }
    return render_customer(
        request, "customer/callback.html", context, browser=browser, lang=lang, status_code=status_code
    )


async def callback_page(request: Request) -> Response:
    desk = await customer_desk(request)
    browser = browser_of(request, desk)
    lang = customer_language(request)
    try:
        scope = await _callback_scope(request, desk, browser, None)
    except NotFound:
        return problem_page(request, browser, lang, "link.invalid", status_code=404)
    return await _callback_page(request, desk, browser, lang, scope)


async def callback_submit(request: Request) -> Response:
    desk = await customer_desk(request)
    form, browser = await checked_post(request, desk)
    lang = customer_language(request)
    scope = await _callback_scope(request, desk, browser, form)
    values = {
        name: form_text(form, name, limit=_MAX_VALUE_FIELD)
        for name in ("phone", "phone_region", "date", "start", "end", "time_zone", "lang")
    }
    values["topic"] = form_text(form, "topic", limit=_MAX_TEXT_FIELD)
    chosen = {name: values[name] for name in ("phone_region", "date", "start", "end", "time_zone", "lang")}
    try:
        receipt = await desk.callbacks.request(
            CallbackForm(**values),
            CallbackContext(
                session_key=browser.key, ip=client_ip(request), case_id=scope.case_id, customer_id=scope.customer_id
            ),
        )
    except ValidationFailed as exc:
        return await _callback_page(
            request, desk, browser, lang, scope, status_code=422, errors=errors_of(exc), chosen=chosen
        )
    except RateLimited as exc:
        return throttled_page(request, browser, lang, exc)
    finally:
        values.clear()
    if scope.session is not None:
        return RedirectResponse("/lookup/session?notice=callback_requested", status_code=303)
    context = {"receipt": receipt, "window": receipt.window.describe()}
    return render_customer(request, "customer/callback_done.html", context, browser=browser, lang=lang)


def routes() -> list[BaseRoute]:
    return [
        Route("/forms", forms_index, methods=["GET"]),
        Route("/form", forms_index, methods=["GET"]),  # the email auto-reply's generic link
        Route("/forms/{token}", form_page, methods=["GET"]),
        Route("/forms/{token}", form_submit, methods=["POST"]),
        Route("/lookup", lookup_start_page, methods=["GET"]),
        Route("/lookup", lookup_start, methods=["POST"]),
        Route("/lookup/verify", lookup_verify_page, methods=["GET"]),
        Route("/lookup/verify", lookup_verify, methods=["POST"]),
        Route("/lookup/session", lookup_session_page, methods=["GET"]),
        Route("/lookup/session/cases/{case_id}/messages", lookup_add_message, methods=["POST"]),
        Route("/lookup/logout", lookup_logout, methods=["POST"]),
        Route("/callback", callback_page, methods=["GET"]),
        Route("/callback", callback_submit, methods=["POST"]),
    ]
