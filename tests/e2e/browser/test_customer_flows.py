"""Chromium (Debian's) through the customer paths of a real ``securedesk serve``, in English, French and Swedish: a
card typed into a protected form and seen masked in the agent console, a verified lookup with the code taken from
the real SMTP sink the relay delivers to, and a call-back requested from the lookup session and worked by an agent
(claim, audited reveal, done) — no console error and no CSP violation on the way; screenshots for the README."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser_harness import CSP_LISTENER, BrowserPage
from customer_e2e import PASSWORD, Authenticator, CodeSink, Database, customer_server_env, enrolment_path, open_case
from e2e_harness import RunningServer, pick_free_port, start_server
from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass(frozen=True)
class Language:
    code: str
    locale: str
    time_zone: str
    email: str
    subject: str
    body: str
    phone: str
    phone_region: str
    phone_mask: str
    texts: dict[str, str]


LANGUAGES = {
    "en": Language(
        "en",
        "en-US",
        "America/New_York",
        "anna@example.com",
        "Card declined",
        "Hello, my card was declined.",
        "(201) 555-0123",
        "United States (+1)",
        "+1 2••-•••-•123",
        {
            "form_title": "Update your payment card",
            "card": "Card number",
            "send": "Send securely",
            "thanks": "Thank you",
            "lookup": "Email address or case reference",
            "get_code": "Send me a code",
            "code": "6-digit code",
            "continue": "Continue",
            "case": "Case {reference}",
            "on_file": "VISA •••• 1111 on file",
            "callback": "Ask us to call you back",
            "phone": "Phone number",
            "country": "Country",
            "day": "Day",
            "from": "From",
            "until": "Until",
            "request": "Request a call-back",
            "received": "Your call-back request was received.",
            "requested": "Requested",
            "claimed": "An agent is about to call you",
            "done": "Done",
        },
    ),
    "fr": Language(
        "fr",
        "fr-FR",
        "Europe/Paris",
        "louise@example.fr",
        "Carte refusée",
        "Bonjour, ma carte a été refusée hier.",
        "06 12 34 56 78",
        "France (+33)",
        "+33 6 •• •• •6 78",
        {
            "form_title": "Mettre à jour votre carte bancaire",
            "card": "Numéro de carte",
            "send": "Envoyer en toute sécurité",
            "thanks": "Merci",
            "lookup": "Adresse e-mail ou référence du dossier",
            "get_code": "M'envoyer un code",
            "code": "Code à 6 chiffres",
            "continue": "Continuer",
            "case": "Dossier {reference}",
            "on_file": "VISA •••• 1111 enregistré",
            "callback": "Demander à être rappelé",
            "phone": "Numéro de téléphone",
            "country": "Pays",
            "day": "Jour",
            "from": "De",
            "until": "À",
            "request": "Demander un rappel",
            "received": "Votre demande de rappel a bien été reçue.",
            "requested": "Demandé",
            "claimed": "Un conseiller va vous appeler",
            "done": "Effectué",
        },
    ),
    "sv": Language(
        "sv",
        "sv-SE",
        "Europe/Stockholm",
        "sven@example.se",
        "Kortet nekades",
        "Hej, mitt kort nekades i går.",
        "070-123 45 67",
        "Sverige (+46)",
        "+46 7• ••• •5 67",
        {
            "form_title": "Uppdatera ditt betalkort",
            "card": "Kortnummer",
            "send": "Skicka säkert",
            "thanks": "Tack",
            "lookup": "E-postadress eller ärendenummer",
            "get_code": "Skicka en kod",
            "code": "Sexsiffrig kod",
            "continue": "Fortsätt",
            "case": "Ärende {reference}",
            "on_file": "VISA •••• 1111 sparat",
            "callback": "Be oss ringa upp dig",
            "phone": "Telefonnummer",
            "country": "Land",
            "day": "Dag",
            "from": "Från",
            "until": "Till",
            "request": "Begär återuppringning",
            "received": "Vi har tagit emot din begäran om återuppringning.",
            "requested": "Begärd",
            "claimed": "En handläggare ringer dig snart",
            "done": "Genomförd",
        },
    ),
}


@pytest.fixture(scope="module")
def sink() -> Iterator[CodeSink]:
    server = CodeSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return pick_free_port()


@pytest.fixture(scope="module")
def securedesk_server(
    tmp_path_factory: pytest.TempPathFactory, sink: CodeSink, smtp_port: int
) -> Iterator[RunningServer]:
    """This module's server relays to the sink (the browser fixtures trust its certificate)."""
    server = start_server(tmp_path_factory.mktemp("customer-browser"), **customer_server_env(sink, smtp_port))
    yield server
    server.assert_clean_exit()


def new_context(browser: Browser, server: RunningServer, *, locale: str, time_zone: str) -> BrowserContext:
    context = browser.new_context(
        base_url=server.base_url,
        ignore_https_errors=False,
        locale=locale,
        timezone_id=time_zone,
        viewport={"width": 1100, "height": 900},
    )
    context.add_init_script(CSP_LISTENER)
    return context


def watched(page: Page) -> BrowserPage:
    result = BrowserPage(page)
    page.on("console", lambda message: result.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: result.page_errors.append(str(error)))
    return result


@dataclass
class AgentDesk:
    page: BrowserPage
    authenticator: Authenticator

    def ensure_fresh_second_factor(self) -> None:
        """If a reveal asked for a fresh code, give it (the step-up page brings the agent back to the queue)."""
        page = self.page.page
        if page.locator("h1").inner_text() == "Confirm it is you":
            page.get_by_label("Authenticator code").fill(self.authenticator.code())
            page.get_by_role("button", name="Confirm").click()
            page.wait_for_url("**/agent/callbacks")


@pytest.fixture(scope="module")
def agent(browser: Browser, securedesk_server: RunningServer) -> Iterator[AgentDesk]:
    context = new_context(browser, securedesk_server, locale="en-GB", time_zone="UTC")
    page = watched(context.new_page())
    page.page.goto(enrolment_path(securedesk_server, "agnes"))
    authenticator = Authenticator(page.page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.page.get_by_label("New password again").fill(PASSWORD)
    page.page.get_by_label("Code from your authenticator app").fill(authenticator.code())
    page.page.get_by_role("button", name="Finish set-up").click()
    assert page.page.locator("h1").inner_text() == "Your account is ready"
    page.page.goto("/login")
    page.page.get_by_label("Name").fill("agnes")
    page.page.get_by_label("Password").fill(PASSWORD)
    page.page.get_by_label("Authenticator code").fill(authenticator.code())
    page.page.get_by_role("button", name="Log in").click()
    page.page.wait_for_url(re.compile(r".*/(staff|agent)$"))
    yield AgentDesk(page, authenticator)
    context.close()


@pytest.mark.parametrize("code", ["en", "fr", "sv"])
def test_form_lookup_and_callback(
    code: str, browser: Browser, securedesk_server: RunningServer, smtp_port: int, sink: CodeSink, agent: AgentDesk
) -> None:
    lang = LANGUAGES[code]
    texts = lang.texts
    case = open_case(securedesk_server, smtp_port, lang.email, lang.subject, lang.body)
    db = Database(securedesk_server)
    staff = agent.page.page

    # The agent opens a protected-form link for the case.
    staff.goto(f"/agent/cases/{case['id']}/forms")
    staff.get_by_label("Form", exact=True).select_option("card")
    staff.get_by_label("Customer's language").select_option(code)
    staff.get_by_role("button", name="Create link").click()
    link = staff.get_by_label("Form link").input_value()
    form_path = re.sub(r"^https://localhost:\d+", "", link)
    assert re.fullmatch(r"/forms/[A-Za-z0-9_-]{43}", form_path)

    context = new_context(browser, securedesk_server, locale=lang.locale, time_zone=lang.time_zone)
    try:
        customer = watched(context.new_page())
        page = customer.page

        # 1. The card, through the protected form.
        response = page.goto(form_path)
        assert response is not None
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        assert page.locator("h1").inner_text() == texts["form_title"]
        card = page.get_by_label(texts["card"])
        assert card.get_attribute("autocomplete") == "cc-number"
        card.fill("4111 1111 1111 1112")
        page.get_by_role("button", name=texts["send"]).click()
        assert page.locator("#card_number-error").is_visible()
        assert page.get_by_label(texts["card"]).input_value() == ""  # never echoed back
        assert "4111" not in page.content()
        page.get_by_label(texts["card"]).fill("4111 1111 1111 1111")
        if code == "en":
            customer.screenshot("protected-form")
        page.get_by_role("button", name=texts["send"]).click()
        assert page.locator("h1").inner_text() == texts["thanks"]
        assert "VISA •••• 1111" in page.locator("main").inner_text()
        staff.goto(f"/agent/cases/{case['id']}")
        assert "VISA •••• 1111 (submitted via form)" in staff.locator("main").inner_text()

        # 2. The verified lookup, with the code the relay delivered to the sink.
        before = len(sink.codes_for(lang.email))
        page.goto("/lookup")
        page.get_by_label(texts["lookup"]).fill(lang.email.upper())
        page.get_by_role("button", name=texts["get_code"]).click()
        page.wait_for_url("**/lookup/verify")
        page.get_by_label(texts["code"]).fill(sink.wait_for_code(lang.email, after=before))
        page.get_by_role("button", name=texts["continue"]).click()
        page.wait_for_url("**/lookup/session")
        main = page.locator("main").inner_text()
        assert texts["case"].format(reference=case["reference"]) in main
        assert texts["on_file"] in main
        assert "4111 1111" not in main
        if code == "en":
            customer.screenshot("lookup")

        # 3. A call-back, from the session, for this case.
        page.locator(f"#case-{case['id']}").get_by_role("link", name=texts["callback"]).click()
        assert page.get_by_label(texts["country"]).input_value() in ("US", "FR", "SE")
        assert page.locator("#time_zone").input_value() == lang.time_zone  # the browser's zone, preselected
        page.get_by_label(texts["country"]).select_option(label=lang.phone_region)
        page.get_by_label(texts["phone"]).fill(lang.phone)
        day = (datetime.now(tz=ZoneInfo(lang.time_zone)) + timedelta(days=1)).strftime("%Y-%m-%d")
        page.get_by_label(texts["day"], exact=True).fill(day)
        page.get_by_label(texts["from"], exact=True).fill("09:30")
        page.get_by_label(texts["until"], exact=True).fill("11:00")
        if code == "en":
            customer.screenshot("callback")
        page.get_by_role("button", name=texts["request"]).click()
        page.wait_for_url("**/lookup/session?notice=callback_requested")
        assert texts["received"] in page.locator("main").inner_text()
        assert f"{lang.phone_mask} · {day} 09:30–11:00 ({lang.time_zone}) — {texts['requested']}" in (
            page.locator(f"#case-{case['id']}").inner_text()
        )

        # 4. The agent works it: claim, reveal (audited), done; the customer sees each status.
        staff.goto("/agent/callbacks")
        row = staff.locator("tr", has_text=lang.phone_mask)
        assert row.count() == 1
        row.get_by_role("button", name="Claim").click()
        staff.wait_for_url("**/agent/callbacks")
        row = staff.locator("tr", has_text=lang.phone_mask)
        assert row.get_by_label("Reason").input_value() == "call-back"
        if code == "en":
            agent.page.screenshot("agent-callbacks")
        page.reload()
        assert texts["claimed"] in page.locator(f"#case-{case['id']}").inner_text()
        row.get_by_role("button", name="Reveal number").click()
        if staff.locator("h1").inner_text() == "Confirm it is you":
            agent.ensure_fresh_second_factor()
            staff.locator("tr", has_text=lang.phone_mask).get_by_role("button", name="Reveal number").click()
        revealed = staff.locator("#revealed-number").inner_text()
        stored = db.rows("SELECT phone_mask FROM callbacks WHERE case_id = ?", case["id"])[0]["phone_mask"]
        assert stored == lang.phone_mask
        assert re.sub(r"\D", "", revealed).endswith(re.sub(r"\D", "", lang.phone)[-6:])
        events = securedesk_server.cli("audit", "search", "--action", "callback.reveal", "--actor", "agnes", "--json")
        assert events.returncode == 0, events.stderr
        assert '"reason": "call-back"' in events.stdout
        staff.get_by_role("button", name="Done").click()
        staff.wait_for_url("**/agent/callbacks")
        page.reload()
        assert texts["done"] in page.locator(f"#case-{case['id']}").inner_text()
        # The one console error is the page's own 422 status for the mistyped card.
        assert customer.console_errors == [
            "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
        ]
        assert customer.page_errors == []
        assert customer.csp_violations() == []
        agent.page.assert_clean()
    finally:
        context.close()


def test_language_switch_on_a_form_keeps_the_link(
    browser: Browser, securedesk_server: RunningServer, smtp_port: int, agent: AgentDesk
) -> None:
    case = open_case(securedesk_server, smtp_port, "ola@example.se", "IBAN", "Hej, jag vill byta bankkonto.")
    staff = agent.page.page
    staff.goto(f"/agent/cases/{case['id']}/forms")
    staff.get_by_label("Form", exact=True).select_option("iban")
    staff.get_by_role("button", name="Create link").click()
    form_path = re.sub(r"^https://localhost:\d+", "", staff.get_by_label("Form link").input_value())
    context = new_context(browser, securedesk_server, locale="en-GB", time_zone="Europe/London")
    try:
        customer = watched(context.new_page())
        page = customer.page
        page.goto(form_path)
        assert page.locator("h1").inner_text() == "Your bank details"
        page.get_by_role("button", name="Svenska").click()
        page.wait_for_url(f"**{form_path}")
        assert page.locator("h1").inner_text() == "Dina bankuppgifter"
        page.get_by_label("IBAN").fill("SE45 5000 0000 0583 9825 7466")
        page.get_by_role("button", name="Skicka säkert").click()
        assert page.locator("h1").inner_text() == "Tack"
        assert "IBAN_CODE •••• 7466" in page.locator("main").inner_text()
        page.goto(form_path)
        assert page.locator("h1").inner_text() == "Länken kan inte längre användas"
        # The one console error is the page's own 410 status.
        assert customer.console_errors == ["Failed to load resource: the server responded with a status of 410 (Gone)"]
        assert customer.page_errors == []
        assert customer.csp_violations() == []
    finally:
        context.close()


def test_screenshots_were_written() -> None:
    folder = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
    for name in ("protected-form", "lookup", "callback", "agent-callbacks"):
        assert (folder / f"{name}.png").stat().st_size > 10_000, name
