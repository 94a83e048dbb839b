"""The email ``Notifier`` (a localized code email queued in the outbox for the relay) and the nudge links a case's
customer gets (a fresh protected-form link of the right kind, a signed call-back link)."""

from __future__ import annotations

import email
import email.policy

import pytest
from customer_support import CustomerWeb

from securedesk.customer.notifier import EmailNotifier
from securedesk.screening import LinkRequest
from securedesk.sensitive import Sensitive
from securedesk.storage.outbox import SqliteOutboxRepository


@pytest.mark.parametrize(
    ("lang", "subject", "line"),
    [
        ("en", "Your SecureDesk verification code", "Your verification code is 042917."),
        ("fr", "Votre code de vérification SecureDesk", "Votre code de vérification est 042917."),
        ("sv", "Din verifieringskod från SecureDesk", "Din verifieringskod är 042917."),
    ],
)
async def test_code_email_is_queued_in_the_outbox(
    customer_web: CustomerWeb, lang: str, subject: str, line: str
) -> None:
    woken: list[bool] = []
    notifier = EmailNotifier(
        customer_web.settings,
        SqliteOutboxRepository(customer_web.services.database),
        customer_web.clock,
        wake=lambda: woken.append(True),
    )
    await notifier.send_code(to="jane@example.com", code=Sensitive("042917"), lang=lang, valid_minutes=10)
    row = await customer_web.services.database.fetch_one("SELECT * FROM outbox")
    assert row is not None
    assert (row["kind"], row["mail_from"], row["rcpt_to"], row["state"], row["reply_key"]) == (
        "autoreply",
        "",
        '["jane@example.com"]',
        "pending",
        None,
    )
    message = email.message_from_bytes(bytes(row["content"]), policy=email.policy.default)
    assert message["Subject"] == subject
    assert message["To"] == "jane@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == lang
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines()[0] == line
    assert woken == [True]


async def test_code_email_refuses_header_injection(customer_web: CustomerWeb) -> None:
    notifier = EmailNotifier(
        customer_web.settings, SqliteOutboxRepository(customer_web.services.database), customer_web.clock
    )
    with pytest.raises(Exception, match="single email address"):
        await notifier.send_code(
            to="jane@example.com\r\nBcc: x@evil.example", code=Sensitive("042917"), lang="en", valid_minutes=10
        )


@pytest.mark.parametrize(
    ("entities", "kind"),
    [(("CREDIT_CARD",), "card"), (("FR_NIR",), "national_id"), (("IBAN_CODE", "CREDIT_CARD"), "iban")],
)
async def test_nudge_links_for_a_case(customer_web: CustomerWeb, entities: tuple[str, ...], kind: str) -> None:
    case = await customer_web.case()
    desk = await customer_web.desk()
    links = await desk.links(LinkRequest("chat", "fr", case.id, case.customer_id, entities))
    assert links.form_url.startswith("https://localhost:8443/forms/")
    assert links.lookup_url == "https://localhost:8443/lookup"
    assert links.callback_url.startswith("https://localhost:8443/callback?case=")
    assert links.callback_url.endswith("&lang=fr")
    opened = await desk.forms.open(links.form_url.rsplit("/", 1)[1])
    assert (opened.kind, opened.lang, opened.case_id) == (kind, "fr", case.id)
    event = (await customer_web.audit_actions())[-1]
    assert event[:2] == ("form.create", "system:nudge")


async def test_nudge_links_without_a_case_are_the_generic_pages(customer_web: CustomerWeb) -> None:
    links = await (await customer_web.desk()).links(LinkRequest("email", "en", None, None, ("CREDIT_CARD",)))
    assert (links.form_url, links.lookup_url, links.callback_url) == (
        "https://localhost:8443/forms",
        "https://localhost:8443/lookup",
        "https://localhost:8443/callback",
    )
    assert await customer_web.services.database.fetch_all("SELECT 1 FROM form_requests") == []
