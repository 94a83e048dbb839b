"""Pure parts of the web layer: language choice, interface texts, Accept negotiation, redirects, route templates."""

from __future__ import annotations

import pytest
from starlette.routing import Mount, Route, Router

from securedesk.errors import MessageCatalogError
from securedesk.messages import LANGUAGES
from securedesk.web.i18n import TEXT_IDS, choose_language, parse_accept_language, supported, text
from securedesk.web.middleware import route_template, security_headers
from securedesk.web.negotiation import prefers_html, weighted_values
from securedesk.web.pages import safe_next


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        ("fr", ["fr"]),
        ("fr-CA,fr;q=0.9,en-US;q=0.8,en;q=0.7", ["fr", "en"]),
        ("de, sv;q=0.5, en;q=0.6", ["en", "sv"]),
        ("en;q=0, sv", ["sv"]),
        ("sv;q=abc, fr;q=0.1", ["fr"]),
        ("*, en;q=0.2", ["en"]),
        ("SV-se", ["sv"]),
    ],
)
def test_parse_accept_language(header: str, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "en"),
        ("sv", "fr", "en", "sv"),
        ("xx", "fr", "en", "fr"),
        (None, "de", "sv,en", "sv"),
        (None, None, "de", "en"),
        ("fr_FR", None, None, "fr"),
    ],
)
def test_choose_language(query: str | None, cookie: str | None, accept: str | None, expected: str) -> None:
    assert choose_language(query=query, cookie=cookie, accept_language=accept) == expected


@pytest.mark.parametrize(("value", "expected"), [("fr", "fr"), ("EN-gb", "en"), ("", None), (None, None), ("de", None)])
def test_supported(value: str | None, expected: str | None) -> None:
    assert supported(value) == expected


@pytest.mark.parametrize("text_id", TEXT_IDS)
def test_every_interface_text_exists_in_every_language(text_id: str) -> None:
    values = [text(text_id, lang) for lang in LANGUAGES]
    assert all(v.strip() for v in values)
    assert "{" not in "".join(values)


def test_unknown_text_or_language_is_refused() -> None:
    with pytest.raises(MessageCatalogError, match="Unknown interface text 'nope'"):
        text("nope", "en")
    with pytest.raises(MessageCatalogError, match="No interface texts in language 'de'"):
        text("site.name", "de")


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json;q=0.9", False),
        ("application/json;q=0.5, text/html", True),
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        ("text/html", [("text/html", 1.0)]),
        ("fr-CA, en;q=0.5 ,*;q=0.1", [("fr-ca", 1.0), ("en", 0.5), ("*", 0.1)]),
        ("a;q=2, b;q=-1, c;q=x, d; charset=utf-8;q=0.3", [("a", 1.0), ("b", 0.0), ("c", 0.0), ("d", 0.3)]),
        (",,, ;q=1", []),
        (",".join(["x"] * 40), [("x", 1.0)] * 32),
    ],
)
def test_weighted_values(header: str, expected: list[tuple[str, float]]) -> None:
    assert weighted_values(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/", "/"),
        ("/chat?x=1", "/chat?x=1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("chat", "/"),
        ("/a\nb", "/"),
        ("/" + "a" * 2_001, "/"),
        (None, "/"),
    ],
)
def test_safe_next(value: object, expected: str) -> None:
    assert safe_next(value) == expected


async def _endpoint(request: object) -> None:
    return None


ROUTES = Router(
    [
        Route("/", _endpoint),
        Route("/cases/{case_id}", _endpoint, methods=["GET"]),
        Mount(
            "/agent",
            routes=[Route("/cases/{case_id:int}", _endpoint), Route("/", _endpoint)],
        ),
        Mount("/static", app=_endpoint),  # type: ignore[arg-type]
    ]
).routes


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/", "/"),
        ("GET", "/cases/C-4111111111111111", "/cases/{case_id}"),
        ("POST", "/cases/C-1", "/cases/{case_id}"),  # 405: still the route's template
        ("GET", "/agent/cases/42", "/agent/cases/{case_id:int}"),
        ("GET", "/agent/", "/agent/"),
        ("GET", "/agent/cases/not-a-number", "/agent"),
        ("GET", "/static/css/site.css", "/static"),
        ("GET", "/tok_abcdef", None),
    ],
)
def test_route_template_never_returns_the_raw_path(method: str, path: str, expected: str | None) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    assert route_template(ROUTES, scope) == expected


def test_hsts_can_be_turned_off_for_local_development() -> None:
    assert "Strict-Transport-Security" in dict(security_headers(63_072_000))
    assert "Strict-Transport-Security" not in dict(security_headers(0))
    assert dict(security_headers(0))["Cache-Control"] == "no-store"
