"""The agent console in Chromium: a customer types a card in the widget and then gives it through the protected form;
an agent logs in with password and TOTP, sees the case live in the console, opens it (masked transcript, the
vaulted card "submitted via form"), reveals the card with a reason, and a compliance officer finds the reveal, with
its reason, in the audit log."""

from __future__ import annotations

import re

import pytest
from browser_harness import BrowserPage
from chat_harness import StaffMember, add_staff
from e2e_harness import RunningServer
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REASON = "Customer asked for a refund to this card"


def log_in(page: Page, member: StaffMember) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(member.name)
    page.get_by_label("Password").fill(member.password)
    page.get_by_label("Authenticator code").fill(member.next_code())
    page.get_by_role("button", name="Log in").click()


def customer_gives_the_card_through_the_form(page: Page) -> None:
    page.goto("/chat?lang=en")
    box = page.get_by_label("Your message")
    expect(box).to_be_enabled()
    box.fill("I want a refund on my card 4111 1111 1111 1111")
    box.press("Enter")
    form_link = page.locator(".chat-notice a").first
    expect(form_link).to_have_attribute("href", re.compile(r"/forms/"))
    page.goto(form_link.get_attribute("href") or "")
    page.locator("#card_number").fill("4111 1111 1111 1111")
    page.locator("#card_number").press("Enter")
    expect(page.locator("main")).to_contain_text("VISA •••• 1111")


def test_an_agent_reveals_a_card_with_a_reason_and_the_audit_log_shows_it(
    browser_page: BrowserPage, browser_context: BrowserContext, securedesk_server: RunningServer
) -> None:
    agent = add_staff(securedesk_server, "rita")
    officer = add_staff(securedesk_server, "otto", role="compliance", queues="")
    page = browser_page.page
    log_in(page, agent)
    expect(page).to_have_url(f"{securedesk_server.base_url}/agent")
    expect(page.locator("#console-status")).to_have_text("Live updates: connected.")

    # The customer, in a browser of their own: the new conversation appears live in the agent's list.
    customer_context = browser_context.browser.new_context(base_url=securedesk_server.base_url)  # type: ignore[union-attr]
    try:
        customer_gives_the_card_through_the_form(customer_context.new_page())
    finally:
        customer_context.close()
    row = page.locator("#case-list tbody tr").first
    expect(row.locator(".subject")).to_have_text("I want a refund on my card [CARD •••• 1111]")
    browser_page.screenshot("agent-console")

    row.get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("Case SD-")
    expect(page.locator("#transcript")).to_contain_text("I want a refund on my card [CARD •••• 1111]")
    expect(page.locator(".vaulted-label")).to_have_text("VISA •••• 1111 (submitted via form)")
    assert "4111 1111 1111 1111" not in page.content()
    page.get_by_label("Reason for revealing VISA •••• 1111").fill(REASON)
    browser_page.screenshot("agent-case-reveal")
    page.get_by_role("button", name="Reveal").click()

    expect(page.locator("#revealed-value")).to_have_text("4111 1111 1111 1111")
    assert "4111" not in page.url
    browser_page.assert_clean()

    page.get_by_role("button", name="Log out").click()
    log_in(page, officer)
    expect(page).to_have_url(f"{securedesk_server.base_url}/compliance/audit")
    page.get_by_label("Action").fill("secret.reveal")
    page.get_by_role("button", name="Search").click()
    results = page.locator("table.data tbody")
    expect(results).to_contain_text("secret.reveal")
    expect(results).to_contain_text("rita")
    expect(results).to_contain_text(REASON)
    browser_page.assert_clean()
