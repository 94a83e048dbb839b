"""Chromium loads the landing page over HTTPS: styled, no console errors, no CSP violations; language switch works."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import BrowserPage, launch_chromium
from e2e_harness import RunningServer
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Playwright

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_landing_page_over_https(browser_page: BrowserPage, securedesk_server: RunningServer) -> None:
    page = browser_page.page
    response = page.goto("/")

    assert response is not None
    assert response.status == 200
    assert page.url == f"{securedesk_server.base_url}/"
    assert page.title() == "Contact support safely · SecureDesk"
    assert page.locator("h1").inner_text() == "Contact support safely"
    assert page.locator("html").get_attribute("lang") == "en"
    # The stylesheet loaded under the CSP: the header has its colour, the skip link is off-screen until focused.
    header_colour = page.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(11, 92, 173)"
    path = browser_page.screenshot("landing")
    assert path.stat().st_size > 10_000
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    browser_page.assert_clean()


def test_language_switch_sets_the_cookie_and_stays_clean(browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.goto("/")

    page.get_by_role("button", name="Svenska").click()
    page.wait_for_url("**/")

    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator("h1").inner_text() == "Kontakta supporten säkert"
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies["__Host-securedesk-lang"]
    assert (cookie["value"], cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == ("sv", True, True, "Lax")
    browser_page.assert_clean()

    page.goto("/no/such/page")
    assert page.locator("h1").inner_text() == "Sidan hittades inte"
    # The one console error is the page's own 404 status; its stylesheet and icon loaded under the CSP.
    not_found = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert browser_page.console_errors == [not_found]
    assert browser_page.csp_violations() == []


def test_chromium_refuses_the_server_without_trusting_its_key(
    playwright: Playwright, chromium_path: Path, securedesk_server: RunningServer
) -> None:
    untrusting = launch_chromium(playwright, chromium_path, trust=None)
    try:
        page = untrusting.new_page(ignore_https_errors=False)
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(f"{securedesk_server.base_url}/")
    finally:
        untrusting.close()
