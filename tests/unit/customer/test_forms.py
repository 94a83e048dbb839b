"""Protected forms with a fixed clock: an unguessable one-time link (stored as a keyed hash, never the case id),
24-hour expiry, validation with the recognizers, the value sealed in the vault for the case with source "form", a
system note and an audit event in one go, the link burned — and all undone if the note or the event fail."""

from __future__ import annotations

import hashlib

import pytest
from customer_support import VISA, CustomerWeb

from securedesk.clock import FixedClock
from securedesk.customer.forms import FormService
from securedesk.errors import AuditError, InvalidInput, LinkGone, NotFound, ValidationFailed


async def forms(web: CustomerWeb) -> FormService:
    return (await web.desk()).forms


def token_of(url: str) -> str:
    return url.rsplit("/forms/", 1)[1]


async def test_link_is_unguessable_and_stored_hashed(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    link = await (await forms(customer_web)).create_request(case_id=case.id, kind="card", created_by="agnes", lang="fr")
    token = token_of(link.url)
    assert link.url == f"https://localhost:8443/forms/{token}"
    assert len(token) == 43  # 256 bits
    assert case.id not in link.url
    assert case.reference not in link.url
    assert link.expires_at == clock.now() + 86_400
    assert "forms/" + token not in repr(link)
    row = await customer_web.services.database.fetch_one("SELECT * FROM form_requests")
    assert row is not None
    assert token not in str(tuple(row))
    assert row["token_hash"] == (await customer_web.desk()).keys.mac("form-token", token).hex()
    assert row["token_hash"] != hashlib.sha256(token.encode()).hexdigest()
    events = await customer_web.audit_actions()
    assert events[-1][:2] == ("form.create", "agnes")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kind": "passport"}, InvalidInput),
        ({"lang": "de"}, InvalidInput),
        ({"ttl_seconds": 60}, InvalidInput),
        ({"ttl_seconds": 8 * 86_400}, InvalidInput),
        ({"created_by": " "}, InvalidInput),
        ({"case_id": "case_nope"}, NotFound),
    ],
)
async def test_create_request_refuses(
    customer_web: CustomerWeb, changes: dict[str, object], error: type[Exception]
) -> None:
    case = await customer_web.case()
    arguments: dict[str, object] = {"case_id": case.id, "kind": "card", "created_by": "agnes", "lang": "en", **changes}
    with pytest.raises(error):
        await (await forms(customer_web)).create_request(**arguments)  # type: ignore[arg-type]


async def test_submission_is_sealed_noted_audited_and_burns_the_link(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind="card", created_by="agnes", lang="en")).url)
    opened = await service.open(token)
    assert (opened.case_reference, opened.kind) == (case.reference, "card")

    receipt = await service.submit(
        token, {"card_number": "4111 1111 1111 1111", "cvv": "739184"}, origin_ip="192.0.2.1"
    )

    assert receipt.secret.mask == "VISA •••• 1111"
    assert receipt.discarded_card_verification
    db = customer_web.services.database
    secret = await db.fetch_one("SELECT kind, brand, last4, case_id, customer_id, source, expires_at FROM secrets")
    assert secret is not None
    assert tuple(secret)[:6] == ("CREDIT_CARD", "VISA", "1111", case.id, case.customer_id, "form")
    assert secret["expires_at"] == customer_web.clock.now() + 14 * 86_400  # the policy's CREDIT_CARD retention
    opened_value = await customer_web.services.vault.open(
        receipt.secret.token, actor="test", reason="check", audit=_no_audit
    )
    assert opened_value.reveal() == VISA
    message = await db.fetch_one(
        "SELECT direction, sender_kind, body, meta FROM messages WHERE case_id = ?", (case.id,)
    )
    assert message is not None
    assert (message["direction"], message["sender_kind"]) == ("internal", "system")
    assert message["body"] == (
        "The customer submitted a payment card through the protected form: VISA •••• 1111. A card verification "
        "code sent with it was discarded unread."
    )
    event = (await customer_web.audit_actions())[-1]
    assert event[:3] == ("form.submit", "customer", "success")
    assert receipt.secret.token in event[3]
    with pytest.raises(LinkGone):
        await service.open(token)
    with pytest.raises(LinkGone):
        await service.submit(token, {"card_number": VISA})
    views = await service.for_case(case.id)
    assert [(v.state, v.submitted) for v in views] == [("used", "VISA •••• 1111 (submitted via form)")]
    dump = b"".join(path.read_bytes() for path in customer_web.settings.database_path.parent.glob("securedesk.db*"))
    assert VISA.encode() not in dump
    assert b"4111 1111 1111 1111" not in dump
    assert b"739184" not in dump  # what came in a card verification field was never kept


async def _no_audit(*, token: str, kind: str, actor: str, reason: str) -> None:
    return None


@pytest.mark.parametrize(
    ("kind", "fields", "entity", "mask"),
    [
        ("national_id", {"id_type": "us_ssn", "national_id": "536-22-1847"}, "US_SSN", "US_SSN •••• 1847"),
        ("national_id", {"id_type": "fr_nir", "national_id": "1 84 12 75 108 045 28"}, "FR_NIR", "FR_NIR •••• 4528"),
        (
            "national_id",
            {"id_type": "se_personnummer", "national_id": "19811218-9876"},
            "SE_PERSONNUMMER",
            "SE_PERSONNUMMER •••• 9876",
        ),
        ("iban", {"iban": "FR76 3000 6000 0112 3456 7890 189"}, "IBAN_CODE", "IBAN_CODE •••• 0189"),
    ],
)
async def test_other_kinds(
    customer_web: CustomerWeb, kind: str, fields: dict[str, str], entity: str, mask: str
) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind=kind, created_by="agnes", lang="en")).url)
    receipt = await service.submit(token, fields)
    assert (receipt.secret.kind, receipt.secret.mask) == (entity, mask)


async def test_invalid_values_keep_the_link_usable(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind="card", created_by="agnes", lang="en")).url)
    with pytest.raises(ValidationFailed) as caught:
        await service.submit(token, {"card_number": "4111 1111 1111 1112"})
    assert caught.value.errors == [("card_number", "card.checksum")]
    with pytest.raises(ValidationFailed):  # a form for a card does not take an IBAN
        await service.submit(token, {"iban": "FR76 3000 6000 0112 3456 7890 189"})
    assert (await service.submit(token, {"card_number": VISA})).secret.last4 == "1111"


async def test_link_expires_after_24_hours(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind="card", created_by="agnes", lang="en")).url)
    clock.advance(86_399)
    await service.open(token)
    clock.advance(1)
    with pytest.raises(LinkGone):
        await service.open(token)
    with pytest.raises(LinkGone):
        await service.submit(token, {"card_number": VISA})
    assert [v.state for v in await service.for_case(case.id)] == ["expired"]


@pytest.mark.parametrize("tampered", ["", "x", "../../etc/passwd", "A" * 43, "A" * 44])
async def test_unknown_or_tampered_tokens_are_not_found(customer_web: CustomerWeb, tampered: str) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind="card", created_by="agnes", lang="en")).url)
    with pytest.raises(NotFound) as caught:
        await service.open(tampered)
    assert not isinstance(caught.value, LinkGone)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(NotFound):
        await service.open(flipped)


async def test_a_failed_audit_write_shreds_the_value_and_keeps_the_link(
    customer_web: CustomerWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await customer_web.case()
    service = await forms(customer_web)
    token = token_of((await service.create_request(case_id=case.id, kind="card", created_by="agnes", lang="en")).url)

    async def refuse(*args: object, **kwargs: object) -> None:
        raise AuditError("the audit log is unavailable")

    monkeypatch.setattr(customer_web.services.audit, "record_in", refuse)
    with pytest.raises(AuditError):
        await service.submit(token, {"card_number": VISA})
    db = customer_web.services.database
    assert await db.fetch_all("SELECT 1 FROM secrets") == []
    assert await db.fetch_all("SELECT 1 FROM messages") == []
    monkeypatch.undo()
    assert (await service.submit(token, {"card_number": VISA})).secret.last4 == "1111"


async def test_values_never_reach_an_error_message() -> None:
    error = ValidationFailed([("card_number", "card.checksum")])
    assert str(error) == "Invalid form fields: card_number=card.checksum."
