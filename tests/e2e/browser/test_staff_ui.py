"""Chromium through the staff pages: the first admin enrols through a one-time link, logs in with password and TOTP,
adds an agent and a compliance officer; the officer enrols, logs in and finds those events in the audit log. No
console error and no CSP violation on the way; screenshots for the README."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from browser_harness import CSP_LISTENER, BrowserPage
from e2e_harness import RunningServer
from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a long and memorable staff passphrase"
STEP = 30


class Authenticator:
    """The person's authenticator app: pyotp on the secret the enrolment page showed; each step used once."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = int(time.time()) // STEP - 1

    def code(self) -> str:
        wanted = max(self.last_step + 1, int(time.time()) // STEP)
        while wanted > int(time.time()) // STEP + 1:
            time.sleep(0.5)
        self.last_step = wanted
        return str(self.totp.at(wanted * STEP))


def enrol(page: Page, link_path: str) -> Authenticator:
    page.goto(link_path)
    assert page.locator("h1").inner_text() == "Set up your account"
    assert page.get_by_role("img", name=re.compile("QR code holding the authenticator secret")).is_visible()
    authenticator = Authenticator(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(authenticator.code())
    page.get_by_role("button", name="Finish set-up").click()
    assert page.locator("h1").inner_text() == "Your account is ready"
    return authenticator


def log_in(page: Page, name: str, authenticator: Authenticator, *, screenshot: BrowserPage | None = None) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(authenticator.code())
    if screenshot is not None:
        screenshot.screenshot("login")
    page.get_by_role("button", name="Log in").click()


def one_time_link(page: Page) -> str:
    link = page.get_by_label("One-time enrolment link").input_value()
    path = re.sub(r"^https://localhost:\d+", "", link)
    assert path.startswith("/enrol/")
    return path


def watched(page: Page) -> BrowserPage:
    """A page that records console errors and uncaught errors (CSP violations come from the context's script)."""
    result = BrowserPage(page)
    page.on("console", lambda message: result.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: result.page_errors.append(str(error)))
    return result


def test_admin_enrols_adds_staff_and_compliance_finds_it_in_the_audit_log(
    browser_page: BrowserPage, browser: Browser, securedesk_server: RunningServer
) -> None:
    relinked = securedesk_server.cli("users", "enrol-link", "admin")
    assert relinked.returncode == 0, relinked.stderr
    match = re.search(r"https://localhost:\d+(/enrol/\S+)", relinked.stdout)
    assert match is not None
    page = browser_page.page

    admin = enrol(page, match.group(1))
    log_in(page, "admin", admin, screenshot=browser_page)
    page.wait_for_url("**/admin/users")
    assert page.locator("h1").inner_text() == "Staff accounts"

    page.get_by_label("Login name").fill("agnes")
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_label("Queues (agents; comma-separated)").fill("general")
    page.get_by_role("button", name="Add and show the enrolment link").click()
    assert page.locator("h1").inner_text() == "Account created"
    one_time_link(page)
    page.get_by_role("link", name="Back to the staff accounts").click()
    page.get_by_label("Login name").fill("carl")
    page.get_by_label("Role", exact=True).select_option("compliance")
    page.get_by_role("button", name="Add and show the enrolment link").click()
    officer_link = one_time_link(page)
    page.get_by_role("link", name="Back to the staff accounts").click()
    assert page.locator("#user-agnes .badge-pending").inner_text() == "pending"
    browser_page.screenshot("admin-users")
    browser_page.assert_clean()

    officer_context = browser.new_context(
        base_url=securedesk_server.base_url,
        ignore_https_errors=False,
        locale="en-GB",
        viewport={"width": 1280, "height": 800},
    )
    officer_context.add_init_script(CSP_LISTENER)
    try:
        officer = watched(officer_context.new_page())
        carl = enrol(officer.page, officer_link)
        log_in(officer.page, "carl", carl)
        officer.page.wait_for_url("**/compliance/audit")
        officer.page.get_by_label("Actor").fill("admin")
        officer.page.get_by_label("Action").fill("user.create")
        officer.page.get_by_role("button", name="Search").click()

        assert officer.page.locator("#results-title").inner_text().startswith("2 events")
        rows = officer.page.locator("table.audit-events tbody tr")
        assert rows.count() == 2
        assert "name carl, role compliance" in rows.nth(0).inner_text()
        assert "name agnes, role agent, queues general" in rows.nth(1).inner_text()
        officer.screenshot("compliance-audit")
        officer.assert_clean()
    finally:
        officer_context.close()

    searches = securedesk_server.cli("audit", "search", "--actor", "carl", "--action", "audit.search", "--json")
    assert searches.returncode == 0, searches.stderr
    assert '"target": "actor=admin;action=user.create;page=1;size=50"' in searches.stdout
