"""A customer chats through the widget in Chromium: the page loads clean under its CSP, is labelled for assistive
technology, sends with the keyboard, shows a typed card masked with the nudge and its links, and receives an agent's
reply; in French the widget and the nudge are French."""

from __future__ import annotations

import contextlib
import re

import pytest
from browser_harness import BrowserPage
from chat_harness import HTML, add_staff, csrf_of, login
from e2e_harness import RunningServer
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def send(page: BrowserPage, text: str) -> None:
    box = page.page.get_by_label(
        "Your message" if page.page.locator("html").get_attribute("lang") == "en" else "Votre message"
    )
    box.fill(text)
    box.press("Enter")


def test_a_customer_chats_through_the_widget(browser_page: BrowserPage, securedesk_server: RunningServer) -> None:
    page = browser_page.page
    response = page.goto("/chat?lang=en")
    assert response is not None
    assert response.status == 200
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    status = page.locator("#chat-status")
    expect(status).to_have_text(re.compile("agent"))  # connected: online or offline, no longer "Connecting…"
    cookies = {c["name"]: c for c in page.context.cookies()}
    chat_cookie = cookies["__Host-securedesk-chat"]
    assert (chat_cookie["secure"], chat_cookie["httpOnly"], chat_cookie["sameSite"]) == (True, True, "None")

    send(browser_page, "Hello, my parcel has not arrived")
    expect(log.locator(".chat-customer .chat-text").first).to_have_text("Hello, my parcel has not arrived")
    send(browser_page, "my card is 4111 1111 1111 1111")
    expect(log.locator(".chat-customer .chat-text").nth(1)).to_have_text("my card is [CARD •••• 1111]")
    notice = log.locator(".chat-notice").first
    expect(notice).to_contain_text("For your safety, we removed the number from your message.")
    hrefs = notice.locator("a").evaluate_all("links => links.map(a => a.href)")
    base = securedesk_server.base_url
    assert [h.split("?")[0].rsplit("/", 1)[0] + "/" for h in hrefs][1:] == [f"{base}/", f"{base}/"]
    assert hrefs[0].startswith(f"{base}/forms/")
    assert hrefs[2].startswith(f"{base}/callback?case=")

    # An agent answers from the console (the plain form, without JavaScript): the reply appears in the widget.
    conversation = page.evaluate("document.cookie")  # HttpOnly: nothing visible to scripts
    assert "securedesk-chat" not in conversation
    member = add_staff(securedesk_server, "wanda")
    with contextlib.closing(login(securedesk_server, member)) as agent:
        listing = agent.get("/agent", headers=HTML)
        case_path = re.findall(r'href="(/agent/cases/case_[0-9a-f]+)"', listing.text)[0]
        case_page = agent.get(case_path, headers=HTML)
        sent = agent.post(
            f"{case_path}/reply",
            data={"csrf_token": csrf_of(case_page.text), "text": "We are on it!"},
            headers={**HTML, "Origin": base},
        )
        assert sent.status_code == 200
    expect(log.locator(".chat-agent .chat-text")).to_have_text("We are on it!")
    browser_page.screenshot("chat-widget")
    browser_page.assert_clean()


def test_the_widget_speaks_the_customers_language(browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.goto("/chat?lang=fr")

    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("h1")).to_have_text("Discutez avec nous")
    send(browser_page, "Bonjour, ma carte est 4111 1111 1111 1111")
    notice = page.locator(".chat-notice").first
    expect(notice).to_contain_text("Pour votre sécurité, nous avons retiré le numéro de votre message.")
    page.keyboard.press("Tab")  # focus moves on from the message box, to the send button
    assert page.evaluate("document.activeElement.id") == "chat-send"
    browser_page.assert_clean()
