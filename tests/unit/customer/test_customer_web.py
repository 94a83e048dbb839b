"""The customer pages and the agents' call-back queue on the real app (ASGI): security headers and no-store on every
page, CSRF and Origin checks, nothing typed echoed back, byte-identical lookup answers for known and unknown
addresses, another customer's case answered 404, localized pages, and the token never in the access log."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from customer_support import HTML, LOOKUP_COOKIE, VISA, Customer, CustomerWeb, assert_protected_page

from securedesk.identity import Role

CUSTOMER_GET_PAGES = ("/forms", "/form", "/lookup", "/lookup/verify", "/callback")


async def form_path(web: CustomerWeb, *, kind: str = "card", lang: str = "en", case_id: str | None = None) -> str:
    if case_id is None:
        case_id = (await web.case()).id
    link = await (await web.desk()).forms.create_request(case_id=case_id, kind=kind, created_by="agnes", lang=lang)
    return link.url.removeprefix("https://localhost:8443")


async def verified(web: CustomerWeb, browser: Customer, address: str = "jane@example.com") -> None:
    await browser.get("/lookup")
    response = await browser.post("/lookup", {"identifier": address})
    assert response.status_code == 303
    await browser.get("/lookup/verify")
    code = (await web.codes_sent_to(address))[-1]
    response = await browser.post("/lookup/verify", {"code": code})
    assert response.status_code == 303
    assert response.headers["location"] == "/lookup/session"


def tomorrow(web: CustomerWeb) -> str:
    return datetime.fromtimestamp(web.clock.now() + 86_400, tz=UTC).strftime("%Y-%m-%d")


def callback_fields(web: CustomerWeb, **changes: str) -> dict[str, str]:
    return {
        "phone": "06 12 34 56 78",
        "phone_region": "FR",
        "date": tomorrow(web),
        "start": "10:00",
        "end": "12:00",
        "time_zone": "Europe/Paris",
        "lang": "fr",
        "topic": "",
        **changes,
    }


# --- headers, no-store, cookies -----------------------------------------------------------------------------------


async def test_every_customer_page_is_protected(customer_web: CustomerWeb) -> None:
    browser = customer_web.browser()
    for path in CUSTOMER_GET_PAGES:
        response = await browser.get(path)
        assert response.status_code == 200, path
        assert_protected_page(response)
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
    path = await form_path(customer_web)
    for response in (
        await browser.get(path),
        await browser.get(path[:-3] + "AAA"),
        await browser.post(path, {"card_number": "1"}),
        await browser.post(path, {"card_number": VISA}),
        await browser.get(path),
        await browser.get("/lookup/session"),
        await browser.post("/lookup", {"identifier": "x"}),
        await browser.post("/lookup/verify", {}),
    ):
        assert_protected_page(response)


async def test_the_browser_cookie_is_host_only_secure_httponly(customer_web: CustomerWeb) -> None:
    client = customer_web.client()
    response = await client.get("/lookup", headers=HTML)
    cookie = response.headers["set-cookie"]
    assert re.fullmatch(r"__Host-securedesk-browser=[A-Za-z0-9_-]{43}; HttpOnly; Path=/; SameSite=lax; Secure", cookie)
    again = await client.get("/lookup", headers=HTML)
    assert "set-cookie" not in again.headers  # kept, not replaced


# --- CSRF and Origin ------------------------------------------------------------------------------------------------


async def test_every_customer_form_needs_this_browsers_csrf_token(customer_web: CustomerWeb) -> None:
    path = await form_path(customer_web)
    browser = customer_web.browser()
    await browser.get("/lookup")
    other = customer_web.browser()
    await other.get("/lookup")
    posts = {
        path: {"card_number": VISA},
        "/lookup": {"identifier": "jane@example.com"},
        "/lookup/verify": {"code": "123456"},
        "/lookup/logout": {},
        "/lookup/session/cases/case_x/messages": {"message": "hello"},
        "/callback": callback_fields(customer_web),
    }
    for target, data in posts.items():
        assert (await browser.post(target, data, csrf="")).status_code == 403, target
        assert (await browser.post(target, data, csrf="forged")).status_code == 403, target
        assert (await browser.post(target, data, csrf=other.csrf)).status_code == 403, target
    bare = customer_web.client()  # no browser cookie at all, a token copied from another browser
    response = await bare.post(
        "/lookup", data={"identifier": "jane@example.com", "csrf_token": browser.csrf}, headers=HTML
    )
    assert response.status_code == 403
    assert await customer_web.services.database.fetch_all("SELECT 1 FROM lookup_challenges") == []
    assert await customer_web.services.database.fetch_all("SELECT 1 FROM secrets") == []
    assert (await browser.get(path)).status_code == 200  # the link was not used by any of those


async def test_a_cross_site_post_is_refused(customer_web: CustomerWeb) -> None:
    browser = customer_web.browser()
    await browser.get("/lookup")
    response = await browser.client.post(
        "/lookup",
        data={"identifier": "jane@example.com", "csrf_token": browser.csrf},
        headers={**HTML, "Origin": "https://evil.example"},
    )
    assert response.status_code == 403


# --- protected forms -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query", "form_lang", "lang", "title"),
    [
        ({"Accept-Language": "fr-FR,fr;q=0.9"}, "", "en", "fr", "Mettre à jour votre carte bancaire"),
        ({"Accept-Language": "sv-SE"}, "", "en", "sv", "Uppdatera ditt betalkort"),
        ({}, "", "sv", "sv", "Uppdatera ditt betalkort"),  # nothing from the browser: the form's language
        ({"Accept-Language": "de-DE"}, "", "fr", "fr", "Mettre à jour votre carte bancaire"),
        ({"Accept-Language": "fr"}, "?lang=en", "fr", "en", "Update your payment card"),
    ],
)
async def test_form_page_languages(
    customer_web: CustomerWeb, headers: dict[str, str], query: str, form_lang: str, lang: str, title: str
) -> None:
    path = await form_path(customer_web, lang=form_lang)
    response = await customer_web.client().get(path + query, headers={**HTML, **headers})
    assert response.status_code == 200
    assert response.headers["content-language"] == lang
    assert f"<h1>{title}</h1>" in response.text


async def test_card_form_markup(customer_web: CustomerWeb) -> None:
    path = await form_path(customer_web)
    page = (await customer_web.browser().get(path)).text
    assert 'autocomplete="off"' in page
    assert 'autocomplete="cc-number"' in page
    assert 'name="cvv"' not in page
    assert 'name="cvc"' not in page
    assert "Why we do not ask for the security code" in page
    assert "<script" not in page


@pytest.mark.parametrize(
    ("lang", "typed", "error"),
    [
        ("en", "4111 1111 1111 1112", "This card number is not valid: please check the digits."),
        ("fr", "4111 1111 1111 1112", "Ce numéro de carte n’est pas valide".replace("’", "&#39;")),
        ("sv", "4111 1111", "Ett kortnummer har 12 till 19 siffror."),
    ],
)
async def test_errors_are_localized_next_to_the_field_and_never_echo(
    customer_web: CustomerWeb, lang: str, typed: str, error: str
) -> None:
    path = await form_path(customer_web, lang=lang)
    browser = customer_web.browser()
    await browser.get(path)
    response = await browser.post(path, {"card_number": typed})
    assert response.status_code == 422
    assert re.search(r'<p class="field-error" id="card_number-error">[^<]*' + re.escape(error), response.text)
    assert 'aria-invalid="true"' in response.text
    digits = typed.replace(" ", "")
    for fragment in (typed, digits, digits[:8], typed[:9]):
        assert fragment not in response.text
    assert not re.search(r'<input[^>]+name="card_number"[^>]+value=', response.text)


async def test_national_id_form_offers_the_three_numbers(customer_web: CustomerWeb) -> None:
    path = await form_path(customer_web, kind="national_id", lang="sv")
    browser = customer_web.browser()
    page = (await browser.get(path)).text
    assert '<option value="se_personnummer" selected>' in page
    response = await browser.post(path, {"id_type": "se_personnummer", "national_id": "811318-9876"})
    assert response.status_code == 422
    assert "Födelsedatumet i numret finns inte." in response.text
    assert "811318" not in response.text
    response = await browser.post(path, {"id_type": "se_personnummer", "national_id": "811218-9876"})
    assert response.status_code == 200
    assert "SE_PERSONNUMMER •••• 9876" in response.text
    assert "811218" not in response.text


async def test_reused_tampered_and_expired_links_get_clear_pages(customer_web: CustomerWeb) -> None:
    path = await form_path(customer_web, lang="fr")
    browser = customer_web.browser()
    await browser.get(path)
    assert (await browser.post(path, {"card_number": VISA})).status_code == 200
    reused = await browser.get(path, headers={"Accept-Language": "fr"})
    assert reused.status_code == 410
    assert "<h1>Ce lien ne peut plus être utilisé</h1>" in reused.text
    assert (await browser.post(path, {"card_number": VISA})).status_code == 410
    tampered = await browser.get(path[:-1] + ("A" if path[-1] != "A" else "B"))
    assert tampered.status_code == 404
    assert "<h1>This link is not valid</h1>" in tampered.text
    expired_path = await form_path(customer_web)
    customer_web.clock.advance(86_400)
    expired = await browser.get(expired_path)
    assert expired.status_code == 410
    for page in (reused, tampered, expired):
        assert "Traceback" not in page.text
        assert "Reference" not in page.text


async def test_the_form_token_is_never_in_the_access_log(
    customer_web: CustomerWeb, caplog: pytest.LogCaptureFixture
) -> None:
    path = await form_path(customer_web)
    token = path.rsplit("/", 1)[1]
    browser = customer_web.browser()
    with caplog.at_level(logging.INFO):
        await browser.get(path)
        await browser.post(path, {"card_number": VISA})
        await browser.get(path)
    routes = [getattr(r, "fields", {}).get("route") for r in caplog.records if r.name == "securedesk.web.access"]
    assert routes == ["/forms/{token}"] * 3
    for record in caplog.records:
        if not record.name.startswith("securedesk"):
            continue  # the test client's own log line names the URL it asked for
        text = record.getMessage() + repr(getattr(record, "fields", ""))
        assert token not in text
        assert VISA not in text


# --- lookup ---------------------------------------------------------------------------------------------------------


async def test_known_and_unknown_addresses_get_byte_identical_answers(customer_web: CustomerWeb) -> None:
    await customer_web.case(email_address="jane@example.com")
    browser = customer_web.browser()
    await browser.get("/lookup")
    answers = []
    for address in ("jane@example.com", "nobody@example.com", "SD-BCDFGH"):
        start = await browser.post("/lookup", {"identifier": address})
        verify = await browser.get("/lookup/verify")
        wrong = await browser.post("/lookup/verify", {"code": "000000"})
        answers.append(
            [
                (r.status_code, sorted((k, v) for k, v in r.headers.items() if k != "x-request-id"), r.content)
                for r in (start, verify, wrong)
            ]
        )
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0][0] == 303
    assert answers[0][0][2] == b""
    assert len(await customer_web.codes_sent_to("jane@example.com")) == 1


async def test_rate_limited_answers_are_identical_too(customer_web: CustomerWeb) -> None:
    await customer_web.case(email_address="jane@example.com")
    browser = customer_web.browser()
    await browser.get("/lookup")
    limited = []
    for address in ("jane@example.com", "nobody@example.com"):
        for _ in range(3):
            assert (await browser.post("/lookup", {"identifier": address})).status_code == 303
        response = await browser.post("/lookup", {"identifier": address})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "900"
        limited.append(response.content)
    assert limited[0] == limited[1]


async def test_brute_force_locks_after_five_codes(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    browser = customer_web.browser()
    await browser.get("/lookup")
    await browser.post("/lookup", {"identifier": "jane@example.com"})
    code = (await customer_web.codes_sent_to("jane@example.com"))[-1]
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        response = await browser.post("/lookup/verify", {"code": wrong})
        assert response.status_code == 401
        assert f"Attempts left: {left}." in response.text
    assert (await browser.post("/lookup/verify", {"code": wrong})).status_code == 429
    locked = await browser.post("/lookup/verify", {"code": code})
    assert locked.status_code == 429
    assert "<h1>Too many wrong codes</h1>" in locked.text
    assert LOOKUP_COOKIE not in browser.client.cookies


async def test_a_code_from_another_browser_does_not_work(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    asker = customer_web.browser()
    await asker.get("/lookup")
    await asker.post("/lookup", {"identifier": "jane@example.com"})
    code = (await customer_web.codes_sent_to("jane@example.com"))[-1]
    thief = customer_web.browser()
    await thief.get("/lookup/verify")
    response = await thief.post("/lookup/verify", {"code": code})
    assert response.status_code == 410
    assert (await asker.post("/lookup/verify", {"code": code})).status_code == 303


async def test_the_session_shows_masked_items_and_takes_screened_messages(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    form = await form_path(customer_web, case_id=case.id)
    browser = customer_web.browser()
    await browser.get(form)
    await browser.post(form, {"card_number": "5555 5555 5555 4444"})
    await verified(customer_web, browser)
    page = await browser.get("/lookup/session")
    assert page.status_code == 200
    assert_protected_page(page)
    assert "<li>MASTERCARD •••• 4444 on file</li>" in page.text
    assert "5555" not in page.text
    response = await browser.post(
        f"/lookup/session/cases/{case.id}/messages", {"message": "My new card is 4111 1111 1111 1111, thanks"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/lookup/session?notice=message_sent&notice=message_masked"
    after = await browser.get(response.headers["location"])
    assert "For your safety, we removed a number from your message." in after.text
    stored = await customer_web.services.database.fetch_one(
        "SELECT body, sender_kind FROM messages WHERE case_id = ? AND sender_kind = 'customer'", (case.id,)
    )
    assert stored is not None
    assert stored["body"] == "My new card is [CARD •••• 1111], thanks"
    empty = await browser.post(f"/lookup/session/cases/{case.id}/messages", {"message": "  "})
    assert empty.status_code == 422
    assert "Write your message first." in empty.text


async def test_another_customers_case_is_not_found(customer_web: CustomerWeb) -> None:
    await customer_web.case(email_address="jane@example.com")
    theirs = await customer_web.case(email_address="max@example.com")
    browser = customer_web.browser()
    await verified(customer_web, browser)
    assert theirs.reference not in (await browser.get("/lookup/session")).text
    message = await browser.post(f"/lookup/session/cases/{theirs.id}/messages", {"message": "hello"})
    assert message.status_code == 404
    assert (await browser.get(f"/callback?case_id={theirs.id}")).status_code == 404
    callback = await browser.post("/callback", callback_fields(customer_web, case_id=theirs.id))
    assert callback.status_code == 404
    assert await customer_web.services.database.fetch_all("SELECT 1 FROM callbacks") == []
    assert (
        await customer_web.services.database.fetch_all("SELECT 1 FROM messages WHERE case_id = ?", (theirs.id,)) == []
    )


async def test_an_ended_session_sends_back_to_the_lookup(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    browser = customer_web.browser()
    await verified(customer_web, browser)
    customer_web.clock.advance(900)
    response = await browser.get("/lookup/session")
    assert (response.status_code, response.headers["location"]) == (303, "/lookup?ended=1")
    await verified(customer_web, browser)
    await browser.get("/lookup/session")
    assert (await browser.post("/lookup/logout")).status_code == 303
    assert (await browser.get("/lookup/session")).status_code == 303


# --- call-backs ------------------------------------------------------------------------------------------------------


async def test_callback_from_the_session_and_its_status(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    browser = customer_web.browser()
    await verified(customer_web, browser)
    page = await browser.get(f"/callback?case_id={case.id}")
    assert f'<option value="{case.id}" selected>{case.reference}</option>' in page.text
    response = await browser.post("/callback", callback_fields(customer_web, case_id=case.id))
    assert (response.status_code, response.headers["location"]) == (303, "/lookup/session?notice=callback_requested")
    session = await browser.get("/lookup/session?notice=callback_requested", headers={"Accept-Language": "fr"})
    assert "+33 6 •• •• •6 78" in session.text
    assert "Demandé" in session.text
    assert "Votre demande de rappel a bien été reçue." in session.text


async def test_callback_errors_do_not_echo_the_number(customer_web: CustomerWeb) -> None:
    browser = customer_web.browser()
    await browser.get("/callback")
    response = await browser.post("/callback", callback_fields(customer_web, phone="06 12 34", topic="secret topic"))
    assert response.status_code == 422
    assert "Ce numéro n&#39;est pas valide pour le pays choisi." not in response.text  # the page is in English
    assert "This is not a valid phone number for the country you chose." in response.text
    assert "06 12 34" not in response.text
    assert "secret topic" not in response.text
    assert f'value="{tomorrow(customer_web)}"' in response.text  # choices are kept


async def test_callback_flood_gets_429(customer_web: CustomerWeb) -> None:
    browser = customer_web.browser()
    await browser.get("/callback")
    for i in range(3):
        ok = await browser.post("/callback", callback_fields(customer_web, phone=f"06 12 34 56 7{i}"))
        assert ok.status_code == 200
        assert "We will call you" in ok.text or "Nous vous rappellerons" in ok.text
    flood = await browser.post("/callback", callback_fields(customer_web, phone="06 12 34 56 79"))
    assert flood.status_code == 429
    assert flood.headers["retry-after"] == "3600"
    assert "<h1>Please wait a moment</h1>" in flood.text


async def test_nudge_callback_link_binds_the_case(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    link = (await customer_web.desk()).callbacks.case_link(case.id, lang="sv")
    path = link.removeprefix("https://localhost:8443")
    browser = customer_web.browser()
    page = await browser.get(path)
    assert page.status_code == 200
    assert f"Gäller ärende {case.reference}." in page.text
    binding = path.split("case=", 1)[1].split("&", 1)[0]
    done = await browser.post("/callback?lang=sv", callback_fields(customer_web, case=binding))
    assert done.status_code == 200
    assert "Vi ringer dig" in done.text
    row = await customer_web.services.database.fetch_one("SELECT case_id, customer_id FROM callbacks")
    assert row is not None
    assert (row["case_id"], row["customer_id"]) == (case.id, case.customer_id)
    assert (await browser.get(path.replace("case=", "case=x"))).status_code == 404


# --- agents -----------------------------------------------------------------------------------------------------------


async def test_agent_works_a_callback_with_an_audited_step_up_reveal(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    customer = customer_web.browser()
    await customer.get("/callback")
    await customer.post("/callback", callback_fields(customer_web))
    agent = await customer_web.staff("agnes")
    queue = await agent.get("/agent/callbacks")
    assert queue.status_code == 200
    assert_protected_page(queue)
    assert "+33 6 •• •• •6 78" in queue.text
    assert "612345678" not in queue.text
    callback_id = re.search(r'action="/agent/callbacks/(cb_[0-9a-f]+)/claim"', queue.text).group(1)  # type: ignore[union-attr]
    assert (await agent.post(f"/agent/callbacks/{callback_id}/claim")).status_code == 303
    queue = await agent.get("/agent/callbacks")
    assert 'value="call-back"' in queue.text  # the reason is prefilled
    assert (await agent.client.get(f"/agent/callbacks/{callback_id}/reveal", headers=HTML)).status_code == 405
    customer_web.clock.advance(301)  # the login's second factor is no longer recent
    stale = await agent.post(f"/agent/callbacks/{callback_id}/reveal", {"reason": "call-back"})
    assert stale.status_code == 403
    assert "Confirm it is you" in stale.text
    assert "612345678" not in stale.text
    assert "callback.reveal" not in [a[0] for a in await customer_web.audit_actions()]
    step_up = await agent.post("/step-up", {"code": customer_web.next_code(agent), "return_to": "/agent/callbacks"})
    assert step_up.status_code == 303
    revealed = await agent.post(f"/agent/callbacks/{callback_id}/reveal", {"reason": "call-back"})
    assert revealed.status_code == 200
    assert_protected_page(revealed)
    assert '<strong id="revealed-number">+33 6 12 34 56 78</strong>' in revealed.text
    assert (await customer_web.audit_actions())[-1][:3] == ("callback.reveal", "agnes", "success")
    assert (await agent.post(f"/agent/callbacks/{callback_id}/outcome", {"outcome": "done"})).status_code == 303
    assert "No call-back requests in your queues." in (await agent.get("/agent/callbacks")).text
    assert case.reference  # the case was not involved: a standalone request goes to the general queue


async def test_callback_queue_for_other_roles_and_queues(customer_web: CustomerWeb) -> None:
    customer = customer_web.browser()
    await customer.get("/callback")
    await customer.post("/callback", callback_fields(customer_web))
    admin = await customer_web.staff("ada", Role.ADMIN, queues=())
    assert (await admin.get("/agent/callbacks")).status_code == 403
    billing = await customer_web.staff("bo", queues=("billing",))
    page = await billing.get("/agent/callbacks")
    assert "No call-back requests in your queues." in page.text
    row = await customer_web.services.database.fetch_one("SELECT id FROM callbacks")
    assert row is not None
    assert (await billing.post(f"/agent/callbacks/{row['id']}/claim")).status_code == 404
    anonymous = await customer_web.client().get("/agent/callbacks", headers=HTML)
    assert (anonymous.status_code, anonymous.headers["location"]) == (302, "/login")


async def test_agent_creates_a_form_link_and_sees_what_came_back(customer_web: CustomerWeb) -> None:
    case = await customer_web.case(lang="fr")
    other = await customer_web.case(queue="billing")
    agent = await customer_web.staff("agnes")
    page = await agent.get(f"/agent/cases/{case.id}/forms")
    assert page.status_code == 200
    created = await agent.post(f"/agent/cases/{case.id}/forms", {"kind": "card", "lang": "fr"})
    link = re.search(r'value="https://localhost:8443(/forms/[A-Za-z0-9_-]{43})"', created.text)
    assert link is not None
    customer = customer_web.browser()
    await customer.get(link.group(1))
    await customer.post(link.group(1), {"card_number": VISA})
    listing = await agent.get(f"/agent/cases/{case.id}/forms")
    assert "VISA •••• 1111 (submitted via form)" in listing.text
    assert link.group(1) not in listing.text  # the link is shown once, when created
    assert (await agent.get(f"/agent/cases/{other.id}/forms")).status_code == 404
    assert (await agent.get("/agent/cases/case_nope/forms")).status_code == 404
    assert (await agent.post(f"/agent/cases/{case.id}/forms", {"kind": "passport"})).status_code == 422
