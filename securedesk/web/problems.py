"""RFC 9457 problem documents: how every error of the API (``/api/``) is answered, ``application/problem+json``.

``type`` names the problem (a stable URI under ``/api/v1/problems/``), ``title`` is the status's text, ``detail``
says what was wrong and what to do (our own messages: never a value, never internals), ``field`` names the request
field at fault where there is one, and ``request_id`` is the id our log carries for support.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.responses import Response

PROBLEM_TYPE: Final = "application/problem+json"
PROBLEM_BASE: Final = "/api/v1/problems/"
TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_CODES: Final = {
    400: "invalid-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    request_id: str = "",
    code: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: str | int | None,
) -> Response:
    known = status if status in TITLES else (500 if status >= 500 else 400)
    body: dict[str, object] = {
        "type": PROBLEM_BASE + (code or _CODES[known]),
        "title": TITLES[known],
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if request_id:
        body["request_id"] = request_id
    body.update({key: value for key, value in extra.items() if value is not None})
    merged = {"Cache-Control": "no-store", **(headers or {})}
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=PROBLEM_TYPE, headers=merged)
