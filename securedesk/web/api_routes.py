"""The screening API over HTTPS: ``POST /api/v1/screen``, ``POST /api/v1/detokenize``, ``GET /api/v1/openapi.json``,
and the Discourse reference integration's webhook, ``POST /integrations/discourse``.

Each call: the ``Authorization: Bearer`` key first (401, one answer for every bad key; audited), then its rate limit
(429 with ``Retry-After``; audited), then the body: ``application/json`` only (415), at most
``Settings.max_request_bytes`` (413, said by the middleware before the body is read), valid UTF-8 JSON with the
fields the OpenAPI document describes (400 naming the field), a known language and the key's own channel (422).
Every error is an RFC 9457 problem document (``problems.py``), never a traceback, and no request content is logged.
A text that could not be screened is answered 503 with the stage that failed; nothing of it is returned.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from securedesk.channels.api import ApiScreened, Part
from securedesk.channels.api.service import MAX_ID_CHARS, MAX_NAME_CHARS
from securedesk.errors import AuthenticationFailed, DeliveryError, PermissionDenied, RateLimited, SecureDeskError
from securedesk.identity.api_keys import ApiPrincipal
from securedesk.screening import Decision
from securedesk.web.auth import client_ip, services_of
from securedesk.web.error_pages import log_error, request_id_of
from securedesk.web.openapi import openapi_document
from securedesk.web.problems import problem

logger = logging.getLogger("securedesk.web.api")

LANGUAGES: Final = ("en", "fr", "sv")
_ID: Final = re.compile(r"[A-Za-z0-9._:-]+")
_FIELD_NAME: Final = re.compile(r"[A-Za-z_]{1,40}")
_JSON_TYPES: Final = ("application/json",)


class _BadRequest(Exception):
    def __init__(self, status: int, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        self.status = status
        self.detail = detail
        self.field = field
        self.code = code
        super().__init__(detail)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/screen", screen, methods=["POST"]),
        Route("/api/v1/detokenize", detokenize, methods=["POST"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/integrations/discourse", discourse_webhook, methods=["POST"]),
    ]


async def discourse_webhook(request: Request) -> Response:
    """Discourse's webhook (see ``channels/api/discourse.py``): 404 unless configured, 401 for a bad signature."""
    integration = services_of(request).discourse
    request_id = request_id_of(request.scope)
    if integration is None:
        return problem(404, "The Discourse integration is not configured.", request_id=request_id)
    body = await request.body()
    if not integration.signature_valid(body, request.headers.get("x-discourse-event-signature")):
        await services_of(request).api.keys.refused(
            action="integration.discourse", why="bad webhook signature", principal=None, origin_ip=client_ip(request)
        )
        return problem(401, "The webhook signature does not match.", request_id=request_id)
    try:
        outcome = await integration.handle(request.headers.get("x-discourse-event"), body)
    except DeliveryError as exc:
        log_error(request.scope, exc, status=502)
        return problem(502, exc.message, request_id=request_id)
    except SecureDeskError as exc:
        log_error(request.scope, exc, status=exc.http_status)
        return problem(exc.http_status, exc.message if exc.http_status < 500 else exc.public_message,
                       request_id=request_id)  # fmt: skip
    if outcome.status == "held":
        return problem(503, "The post could not be screened; redeliver the event later.", code="screening-held",
                       request_id=request_id)  # fmt: skip
    return JSONResponse({"status": outcome.status, "post_id": outcome.post_id, "entities": outcome.entities})


async def openapi(request: Request) -> Response:
    base = services_of(request).settings.public_base_url.rstrip("/")
    return JSONResponse(openapi_document(base or "/"), headers={"Cache-Control": "no-cache"})


async def screen(request: Request) -> Response:
    api = services_of(request).api
    try:
        principal = await _caller(request, "api.screen")
        body = await _json_body(request)
        _only(body, {"parts", "channel", "lang", "conversation_id", "message_id"})
        parts = _parts(body.get("parts"))
        lang = _lang(body.get("lang"))
        channel = body.get("channel")
        if channel is not None and channel != principal.channel:
            raise _BadRequest(422, "channel: this API key speaks for another channel.", field="channel")
        conversation_id = _identifier(body, "conversation_id")
        message_id = _identifier(body, "message_id")
        if message_id is not None and conversation_id is None:
            raise _BadRequest(400, "message_id: only meaningful with a conversation_id.", field="message_id")
        result = await api.screen(principal, parts, lang=lang, conversation_id=conversation_id, message_id=message_id)
    except _BadRequest as bad:
        return await _bad_request(request, bad, "api.screen")
    except SecureDeskError as exc:
        return await _refusal(request, exc, "api.screen")
    if result.decision is Decision.HOLD:
        held = result.result.screened.held_reason
        return problem(
            503,
            "The text could not be screened, so nothing of it is returned; send it again later.",
            code="screening-held",
            reason=held.value if held is not None else "unknown",
            request_id=request_id_of(request.scope),
            headers={"Retry-After": "5"},
        )
    return JSONResponse(_screen_body(result), headers={"Cache-Control": "no-store"})


async def detokenize(request: Request) -> Response:
    api = services_of(request).api
    try:
        principal = await _caller(request, "secret.detokenize")
        body = await _json_body(request)
        _only(body, {"token", "reason"})
        token = _string(body, "token", max_chars=MAX_ID_CHARS)
        reason = _string(body, "reason", max_chars=2_000)
        value = await api.detokenize(principal, token, reason, origin_ip=client_ip(request))
    except _BadRequest as bad:
        return await _bad_request(request, bad, "secret.detokenize")
    except SecureDeskError as exc:
        return await _refusal(request, exc, "secret.detokenize")
    return JSONResponse({"token": token, "value": value.reveal()}, headers={"Cache-Control": "no-store"})


# --- the door ----------------------------------------------------------------------------------------------------


async def _caller(request: Request, action: str) -> ApiPrincipal:
    keys = services_of(request).api.keys
    try:
        principal = await keys.authenticate(request.headers.get("authorization"))
    except AuthenticationFailed:
        await keys.refused(
            action=action, why="missing, invalid or revoked API key", principal=None, origin_ip=client_ip(request)
        )
        raise
    try:
        keys.admit(principal)
    except RateLimited:
        await keys.refused(action=action, why="rate limit reached", principal=principal, origin_ip=client_ip(request))
        raise
    request.state.api_principal = principal
    return principal


async def _bad_request(request: Request, bad: _BadRequest, action: str) -> Response:
    """A malformed call from an authenticated key: refused, and audited as refused (the field, never the content)."""
    await services_of(request).api.keys.refused(
        action=action, why=f"malformed request ({bad.status}, {bad.field or 'body'})",
        principal=getattr(request.state, "api_principal", None), origin_ip=client_ip(request),
    )  # fmt: skip
    return problem(bad.status, bad.detail, field=bad.field, code=bad.code, request_id=request_id_of(request.scope))


async def _refusal(request: Request, exc: SecureDeskError, action: str) -> Response:
    status = exc.http_status
    log_error(request.scope, exc, status=status)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="securedesk"'
        detail = "The API key is missing, invalid or revoked."
    elif status < 500:
        detail = exc.message  # our own messages: they name the field or the rule, never a value
    else:
        detail = exc.public_message
    if isinstance(exc, PermissionDenied):
        principal = getattr(request.state, "api_principal", None)
        await services_of(request).api.keys.refused(
            action=action, why="scope missing", principal=principal, origin_ip=client_ip(request)
        )
    return problem(status, detail, request_id=request_id_of(request.scope), headers=headers)


# --- the body ----------------------------------------------------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in _JSON_TYPES:
        raise _BadRequest(415, "Send the body as application/json.")
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadRequest(400, "The body is not valid UTF-8.") from None
    except (ValueError, RecursionError):
        raise _BadRequest(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "The body must be a JSON object.")
    return body


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    for key, value in body.items():
        if key not in allowed:
            shown = key if _FIELD_NAME.fullmatch(key) else "…"  # letters only: a key may be anything at all
            raise _BadRequest(400, f"{shown}: not a field of this request.", field=shown)
        if value is None:
            raise _BadRequest(400, f"{key}: leave the field out rather than send null.", field=key)


def _parts(value: Any) -> list[Part]:
    if value is None:
        raise _BadRequest(400, "parts: required (a list of {name, text}).", field="parts")
    if not isinstance(value, list) or not value:
        raise _BadRequest(400, "parts: must be a non-empty list of {name, text}.", field="parts")
    parts = []
    for index, item in enumerate(value):
        where = f"parts[{index}]"
        if not isinstance(item, dict):
            raise _BadRequest(400, f"{where}: must be an object with name and text.", field=where)
        for key in item:
            if key not in ("name", "text"):
                raise _BadRequest(400, f"{where}: only name and text are allowed.", field=where)
        name, text = item.get("name"), item.get("text")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
            raise _BadRequest(
                400, f"{where}.name: a string of 1 to {MAX_NAME_CHARS} characters.", field=f"{where}.name"
            )
        if not isinstance(text, str):
            raise _BadRequest(400, f"{where}.text: must be a string.", field=f"{where}.text")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            raise _BadRequest(
                400, f"{where}.text: holds an unpaired surrogate (not valid Unicode).", field=f"{where}.text"
            )
        parts.append(Part(name, text))
    return parts


def _lang(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadRequest(400, "lang: must be a string.", field="lang")
    if value not in LANGUAGES:
        raise _BadRequest(422, f"lang: use one of {', '.join(LANGUAGES)}.", field="lang")
    return value


def _identifier(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_CHARS or not _ID.fullmatch(value):
        raise _BadRequest(400, f"{name}: 1 to {MAX_ID_CHARS} letters, digits, '.', '_', ':' or '-'.", field=name)
    return value


def _string(body: dict[str, Any], name: str, *, max_chars: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _BadRequest(400, f"{name}: required, a string.", field=name)
    if len(value) > max_chars:
        raise _BadRequest(400, f"{name}: at most {max_chars} characters.", field=name)
    return value


def _screen_body(result: ApiScreened) -> dict[str, Any]:
    screened = result.result.screened
    names = [part.name for part in result.parts]
    return {
        "message_id": result.message_id,
        "decision": screened.decision.value,
        "lang": screened.lang,
        "parts": [{"name": part.name, "text": part.text} for part in result.parts],
        "findings": [
            {
                "type": located.finding.entity_type,
                "part": names[located.part],
                "start": located.start,
                "end": located.end,
                "mask": located.finding.mask,
                "action": located.finding.action,
                "token": located.finding.token,
            }
            for located in result.findings
        ],
        "entities": dict(screened.entities),
        "nudge": screened.nudge,
        "links": None
        if result.links is None
        else {"form": result.links.form_url, "lookup": result.links.lookup_url, "callback": result.links.callback_url},
        "fragment_masked": result.fragment_masked,
        "replacements": [{"message_id": r.message_id, "text": r.text} for r in result.replacements],
    }
