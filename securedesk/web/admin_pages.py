"""Admin pages: staff accounts (add with a one-time enrolment link, role, queues, disable, new link), KEK versions
(status, rotation in the background with its progress, retire), the policy in force (reload = the SIGHUP path),
email outbox problems, and the screening API's keys (add and rotate show the key once; revoke). Every change is made
by ``securedesk.identity``/``securedesk.vault`` with its audit event.

Giving out credentials (a new account, a new enrolment link, a new or rotated API key), changing a role, rotating or
retiring a key need a fresh second factor (``step_up``). Account names travel in form fields, never in URLs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from securedesk.errors import Conflict, InvalidInput, KeyInUse, NotFound, PolicyError, SecureDeskError
from securedesk.gateway.services import Services
from securedesk.identity import EnrolmentLink, Permission, Role, Session
from securedesk.identity.api_keys import DEFAULT_RATE_PER_MINUTE, IssuedKey
from securedesk.identity.api_keys import SCOPES as API_SCOPES
from securedesk.storage.outbox import STATES as OUTBOX_STATES
from securedesk.storage.outbox import SqliteOutboxRepository
from securedesk.vault import KeyRotation, RotationProgress, RotationResult
from securedesk.web.auth import StaffRoute, actor_of, form_text, read_form, services_of, staff_routes
from securedesk.web.staff_layout import render_staff, shown_time

#: While a rotation runs, the keys page reloads itself this often (a meta refresh: no script needed).
ROTATION_REFRESH_SECONDS: Final = 2
OUTBOX_PROBLEMS_SHOWN: Final = 100


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# --- users -------------------------------------------------------------------------------------------------------


async def _users_page(
    request: Request, session: Session, *, status_code: int = 200, error: str | None = None
) -> Response:
    members = await services_of(request).identity.accounts.list()
    now = services_of(request).clock.now()
    rows = [
        {
            "member": m,
            "created": shown_time(m.created_at),
            "enrolled": shown_time(m.enrolled_at),
            "locked": m.locked_until > now,
            "queues": ",".join(m.queues),
        }
        for m in members
    ]
    context = {"rows": rows, "roles": [r.value for r in Role], "error": error}
    return render_staff(request, session, "admin/users.html", context, status_code=status_code)


def _link_page(request: Request, session: Session, link: EnrolmentLink, *, created: bool) -> Response:
    context = {
        "link": link.url.reveal(),
        "member": link.member,
        "expires": shown_time(link.expires_at),
        "created": created,
    }
    return render_staff(request, session, "admin/user_link.html", context)


async def users(request: Request, session: Session) -> Response:
    return await _users_page(request, session)


async def user_add(request: Request, session: Session) -> Response:
    form = await read_form(request)
    accounts = services_of(request).identity.accounts
    try:
        link = await accounts.add(
            form_text(form, "name", limit=200),
            Role.parse(form_text(form, "role", limit=40)),
            actor=actor_of(request, session),
            queues=form_text(form, "queues").split(","),
        )
    except InvalidInput as exc:
        return await _users_page(request, session, status_code=400, error=_say(exc))
    return _link_page(request, session, link, created=True)


async def user_enrol_link(request: Request, session: Session) -> Response:
    form = await read_form(request)
    accounts = services_of(request).identity.accounts
    try:
        link = await accounts.reissue_enrolment(form_text(form, "name", limit=200), actor=actor_of(request, session))
    except InvalidInput as exc:
        return await _users_page(request, session, status_code=400, error=_say(exc))
    return _link_page(request, session, link, created=False)


async def user_role(request: Request, session: Session) -> Response:
    form = await read_form(request)
    accounts = services_of(request).identity.accounts
    try:
        await accounts.set_role(
            form_text(form, "name", limit=200),
            Role.parse(form_text(form, "role", limit=40)),
            actor=actor_of(request, session),
        )
    except InvalidInput as exc:
        return await _users_page(request, session, status_code=400, error=_say(exc))
    return _back("/admin/users")


async def user_queues(request: Request, session: Session) -> Response:
    form = await read_form(request)
    accounts = services_of(request).identity.accounts
    try:
        await accounts.set_queues(
            form_text(form, "name", limit=200), form_text(form, "queues").split(","), actor=actor_of(request, session)
        )
    except InvalidInput as exc:
        return await _users_page(request, session, status_code=400, error=_say(exc))
    return _back("/admin/users")


async def user_disable(request: Request, session: Session) -> Response:
    form = await read_form(request)
    accounts = services_of(request).identity.accounts
    try:
        await accounts.disable(form_text(form, "name", limit=200), actor=actor_of(request, session))
    except InvalidInput as exc:
        return await _users_page(request, session, status_code=400, error=_say(exc))
    return _back("/admin/users")


def _say(exc: SecureDeskError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


# --- keys --------------------------------------------------------------------------------------------------------


async def _keys_page(
    request: Request, session: Session, *, status_code: int = 200, error: str | None = None
) -> Response:
    services = services_of(request)
    rotation = KeyRotation(services.vault)
    statuses = await rotation.status()
    job = services.key_rotation
    last = job.last
    context: dict[str, Any] = {
        "rows": [
            {"status": s, "created": shown_time(s.created_at), "retired": shown_time(s.retired_at)} for s in statuses
        ],
        "current_version": services.vault.current_version,
        "location": services.vault.provider.location,
        "pending": await rotation.pending(),
        "running": job.running,
        "progress": job.progress,
        "started": shown_time(job.started_at),
        "started_by": job.started_by,
        "last": last,
        "last_finished": shown_time(last.finished_at) if last else "-",
        "refresh_seconds": ROTATION_REFRESH_SECONDS if job.running else 0,
        "error": error,
    }
    return render_staff(request, session, "admin/keys.html", context, status_code=status_code)


async def keys(request: Request, session: Session) -> Response:
    return await _keys_page(request, session)


def _rotation_work(services: Services, session: Session, request: Request) -> Callable[[], Awaitable[RotationResult]]:
    actor = actor_of(request, session)
    job = services.key_rotation

    def report(progress: RotationProgress) -> None:
        job.progress = f"{progress.what}: {progress.done} re-wrapped to KEK version {progress.target}"

    async def rotate() -> RotationResult:
        rotation = KeyRotation(
            services.vault,
            batch_size=services.settings.rotation_batch_size,
            pause_seconds=services.settings.rotation_batch_pause_seconds,
            progress=report,
        )
        try:
            result = await rotation.rotate()
        except SecureDeskError:
            await services.audit.record(
                actor=actor.name,
                role=actor.role,
                action="keys.rotate",
                target=f"kek:v{services.vault.current_version}",
                outcome="failure",
                origin_ip=actor.origin_ip,
                channel=actor.channel,
            )
            raise
        await services.audit.record(
            actor=actor.name,
            role=actor.role,
            action="keys.rotate",
            target=f"kek:v{result.target};rewrapped={result.rewrapped}",
            origin_ip=actor.origin_ip,
            channel=actor.channel,
            reason="completed",
        )
        return result

    return rotate


async def keys_rotate(request: Request, session: Session) -> Response:
    services = services_of(request)
    if services.key_rotation.running:
        return await _keys_page(request, session, status_code=409, error="A rotation is already running.")
    actor = actor_of(request, session)
    # Recorded before the rotation starts: if the audit log cannot take it, nothing is rotated.
    await services.audit.record(
        actor=actor.name,
        role=actor.role,
        action="keys.rotate",
        target=f"kek:v{services.vault.current_version}",
        origin_ip=actor.origin_ip,
        channel=actor.channel,
        reason="started",
    )
    services.key_rotation.start(_rotation_work(services, session, request), started_by=actor.name)
    return _back("/admin/keys")


async def keys_retire(request: Request, session: Session) -> Response:
    services = services_of(request)
    form = await read_form(request)
    raw = form_text(form, "version", limit=10)
    if not raw.isdigit():
        raise InvalidInput("The KEK version must be a number.")
    version = int(raw)
    if services.key_rotation.running:
        return await _keys_page(request, session, status_code=409, error="Wait for the rotation to finish.")
    actor = actor_of(request, session)
    try:
        await KeyRotation(services.vault).retire(version)
    except (KeyInUse, NotFound) as exc:
        await services.audit.record(
            actor=actor.name,
            role=actor.role,
            action="keys.retire",
            target=f"kek:v{version}",
            outcome="denied",
            origin_ip=actor.origin_ip,
            channel=actor.channel,
            reason=exc.message,
        )
        status = 404 if isinstance(exc, NotFound) else 409
        return await _keys_page(request, session, status_code=status, error=_say(exc))
    await services.audit.record(
        actor=actor.name,
        role=actor.role,
        action="keys.retire",
        target=f"kek:v{version}",
        origin_ip=actor.origin_ip,
        channel=actor.channel,
    )
    return _back("/admin/keys")


# --- policy ------------------------------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    session: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
    problems: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    loader = services_of(request).policy_loader
    policy = loader.current
    context = {
        "policy": policy,
        "loaded_at": shown_time(loader.loaded_at),
        "loaded_by": loader.loaded_by,
        "error": error,
        "problems": problems or [],
        "notice": notice,
    }
    return render_staff(request, session, "admin/policy.html", context, status_code=status_code)


async def policy(request: Request, session: Session) -> Response:
    return _policy_page(request, session)


async def policy_reload(request: Request, session: Session) -> Response:
    loader = services_of(request).policy_loader
    try:
        loaded = await loader.reload(actor_of(request, session))
    except PolicyError as exc:
        return _policy_page(
            request,
            session,
            status_code=422,
            error="The policy file is invalid; the policy in force is unchanged.",
            problems=exc.problems or [exc.message],
        )
    return _policy_page(request, session, notice=f"Policy {loaded.name!r} is in force.")


# --- email outbox ------------------------------------------------------------------------------------------------


async def outbox(request: Request, session: Session) -> Response:
    repository = SqliteOutboxRepository(services_of(request).database)
    counts = await repository.count_by_state()
    problems = await repository.list_problems(limit=OUTBOX_PROBLEMS_SHOWN)
    rows = [
        {
            "entry": entry,
            "created": shown_time(entry.created_at),
            "last_attempt": shown_time(entry.last_attempt_at),
            "finished": shown_time(entry.finished_at),
            "recipients": len(entry.rcpt_to),
        }
        for entry in problems
    ]
    context = {
        "counts": [(state, counts.get(state, 0)) for state in OUTBOX_STATES],
        "rows": rows,
        "shown": OUTBOX_PROBLEMS_SHOWN,
    }
    return render_staff(request, session, "admin/outbox.html", context)


# --- API keys ----------------------------------------------------------------------------------------------------


async def _api_keys_page(
    request: Request, session: Session, *, status_code: int = 200, error: str | None = None
) -> Response:
    records = await services_of(request).api.keys.list(include_revoked=True)
    rows = [
        {
            "record": r,
            "scopes": ",".join(sorted(r.scopes)),
            "created": shown_time(r.created_at),
            "used": shown_time(r.last_used_at) if r.last_used_at is not None else "never",
            "revoked": shown_time(r.revoked_at) if r.revoked_at is not None else None,
        }
        for r in records
    ]
    context = {"rows": rows, "scopes": list(API_SCOPES), "default_rate": DEFAULT_RATE_PER_MINUTE, "error": error}
    return render_staff(request, session, "admin/api_keys.html", context, status_code=status_code)


def _api_key_shown(request: Request, session: Session, issued: IssuedKey, *, created: bool) -> Response:
    context = {
        "key": issued.key.reveal(),
        "record": issued.record,
        "scopes": ",".join(sorted(issued.record.scopes)),
        "created": created,
    }
    response = render_staff(request, session, "admin/api_key_shown.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def api_keys(request: Request, session: Session) -> Response:
    return await _api_keys_page(request, session)


async def api_key_add(request: Request, session: Session) -> Response:
    form = await read_form(request)
    keys = services_of(request).api.keys
    name = form_text(form, "name", limit=200)
    try:
        rate_text = form_text(form, "rate", limit=12) or str(DEFAULT_RATE_PER_MINUTE)
        if not rate_text.isdigit():
            raise InvalidInput("The rate limit is a whole number of requests per minute.")
        issued = await keys.add(
            name,
            scopes=[scope for scope in API_SCOPES if form.get(f"scope_{scope}")],
            channel=form_text(form, "channel", limit=200) or name,
            rate_per_minute=int(rate_text),
            actor=actor_of(request, session),
        )
    except (InvalidInput, Conflict) as exc:
        return await _api_keys_page(request, session, status_code=400, error=_say(exc))
    return _api_key_shown(request, session, issued, created=True)


async def api_key_rotate(request: Request, session: Session) -> Response:
    form = await read_form(request)
    try:
        issued = await services_of(request).api.keys.rotate(
            form_text(form, "name", limit=200), actor=actor_of(request, session)
        )
    except NotFound as exc:
        return await _api_keys_page(request, session, status_code=404, error=_say(exc))
    return _api_key_shown(request, session, issued, created=False)


async def api_key_revoke(request: Request, session: Session) -> Response:
    form = await read_form(request)
    try:
        await services_of(request).api.keys.revoke(form_text(form, "name", limit=200), actor=actor_of(request, session))
    except NotFound as exc:
        return await _api_keys_page(request, session, status_code=404, error=_say(exc))
    return _back("/admin/api-keys")


ADMIN_ROUTES: Final = (
    StaffRoute("/admin/users", users, ("GET",), Permission.USERS_MANAGE),
    StaffRoute(
        "/admin/users/add", user_add, ("POST",), Permission.USERS_MANAGE, step_up=True, return_to="/admin/users"
    ),
    StaffRoute(
        "/admin/users/role", user_role, ("POST",), Permission.USERS_MANAGE, step_up=True, return_to="/admin/users"
    ),
    StaffRoute("/admin/users/queues", user_queues, ("POST",), Permission.USERS_MANAGE, return_to="/admin/users"),
    StaffRoute("/admin/users/disable", user_disable, ("POST",), Permission.USERS_MANAGE, return_to="/admin/users"),
    StaffRoute(
        "/admin/users/enrol-link",
        user_enrol_link,
        ("POST",),
        Permission.USERS_MANAGE,
        step_up=True,
        return_to="/admin/users",
    ),
    StaffRoute("/admin/keys", keys, ("GET",), Permission.KEYS_MANAGE),
    StaffRoute(
        "/admin/keys/rotate", keys_rotate, ("POST",), Permission.KEYS_MANAGE, step_up=True, return_to="/admin/keys"
    ),
    StaffRoute(
        "/admin/keys/retire", keys_retire, ("POST",), Permission.KEYS_MANAGE, step_up=True, return_to="/admin/keys"
    ),
    StaffRoute("/admin/policy", policy, ("GET",), Permission.POLICY_MANAGE),
    StaffRoute("/admin/policy/reload", policy_reload, ("POST",), Permission.POLICY_MANAGE, return_to="/admin/policy"),
    StaffRoute("/admin/outbox", outbox, ("GET",), Permission.METRICS_READ),
    StaffRoute("/admin/api-keys", api_keys, ("GET",), Permission.USERS_MANAGE),
    StaffRoute(
        "/admin/api-keys/add",
        api_key_add,
        ("POST",),
        Permission.USERS_MANAGE,
        step_up=True,
        return_to="/admin/api-keys",
    ),
    StaffRoute(
        "/admin/api-keys/rotate",
        api_key_rotate,
        ("POST",),
        Permission.USERS_MANAGE,
        step_up=True,
        return_to="/admin/api-keys",
    ),
    StaffRoute(
        "/admin/api-keys/revoke", api_key_revoke, ("POST",), Permission.USERS_MANAGE, return_to="/admin/api-keys"
    ),
)


def routes() -> list[BaseRoute]:
    return list(staff_routes(ADMIN_ROUTES))
