"""Pages: the Jinja2 environment (autoescaped, strict), content-hashed static URLs, and one ``render_page`` call.

Static files are served with a one-year immutable cache; their URLs carry a hash of the content (``?v=…``), so a
changed file is a new URL. Templates hold no inline script or style (the CSP forbids both).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from securedesk.errors import ConfigError
from securedesk.web.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, choose_language, text

PACKAGE_DIR: Final = Path(__file__).resolve().parent
TEMPLATE_DIR: Final = PACKAGE_DIR / "templates"
STATIC_DIR: Final = PACKAGE_DIR / "static"
STATIC_PREFIX: Final = "/static"
STATIC_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"


class StaticAssets:
    """Content hashes of the static files, computed once, for cache-busting URLs."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._versions = {
            path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        version = self._versions.get(name)
        if version is None:
            raise ConfigError(f"Static file {name!r} does not exist in {self.directory}.")
        return f"{STATIC_PREFIX}/{name}?v={version}"


class CachedStaticFiles(StaticFiles):
    """``StaticFiles`` whose successful answers may be cached for a year (the URL changes with the content)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = STATIC_CACHE_CONTROL
        return response


def build_templates(assets: StaticAssets) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = assets.url
    env.globals["language_names"] = LANGUAGE_NAMES
    return Jinja2Templates(env=env)


def request_language(request: Request) -> str:
    return choose_language(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Response:
    """Render ``template`` in the request's language (or ``lang``, for pages written in one language only);
    ``t("id")`` in a template is that language's text."""
    templates: Jinja2Templates = request.app.state.templates
    lang = lang if lang is not None else request_language(request)

    def t(text_id: str) -> str:
        return text(text_id, lang)

    values: dict[str, Any] = {"lang": lang, "t": t, "path": request.url.path}
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code, headers=headers)
    response.headers["Content-Language"] = lang
    return response
