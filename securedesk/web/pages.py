"""Public pages: the landing page, and the language switch that remembers a choice in a cookie."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from securedesk.web.i18n import LANGUAGE_COOKIE, supported
from securedesk.web.templating import render_page

LANGUAGE_COOKIE_SECONDS: Final = 365 * 86_400
_MAX_NEXT_CHARS: Final = 2_000


async def landing(request: Request) -> Response:
    return render_page(request, "landing.html")


def safe_next(value: object) -> str:
    """A same-origin path to go back to after switching language; anything else is ``/`` (no open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > _MAX_NEXT_CHARS:
        return "/"
    if value.startswith("//") or "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    return value


async def switch_language(request: Request) -> Response:
    """``POST /lang`` with ``lang`` and ``next``: store the language in a cookie and go back (303)."""
    form = await request.form(max_files=0, max_fields=4)
    lang = supported(str(form.get("lang", "")))
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    if lang is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=LANGUAGE_COOKIE_SECONDS,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
    return response
