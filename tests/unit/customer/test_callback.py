"""Call-back requests with a fixed clock: validation, the number sealed as a vault field blob with a keyed index and
a mask, rate limits per browser, per number and per address (toll pumping), the topic screened, signed case links,
and the agents' side: queues, claim, an audited reveal (the event before the number), outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from customer_support import CustomerWeb

from securedesk.clock import FixedClock
from securedesk.customer.callback import CallbackContext, CallbackForm, CallbackService
from securedesk.errors import (
    AuditError,
    InvalidInput,
    NotFound,
    ObjectNotVisible,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from securedesk.identity import Principal, Role
from securedesk.vault import KeyRotation

SESSION = b"s" * 32
AGENT = Principal(staff_id="stf_agnes", name="agnes", role=Role.AGENT, queues=frozenset({"general"}))
OTHER_AGENT = Principal(staff_id="stf_bo", name="bo", role=Role.AGENT, queues=frozenset({"general"}))
BILLING_AGENT = Principal(staff_id="stf_cy", name="cy", role=Role.AGENT, queues=frozenset({"billing"}))
ADMIN = Principal(staff_id="stf_ad", name="ad", role=Role.ADMIN, queues=frozenset({"general"}))


def tomorrow(clock: FixedClock) -> str:
    return datetime.fromtimestamp(clock.now() + 86_400, tz=UTC).strftime("%Y-%m-%d")


def form(clock: FixedClock, **changes: str) -> CallbackForm:
    values = {
        "phone": "06 12 34 56 78",
        "phone_region": "FR",
        "date": tomorrow(clock),
        "start": "10:00",
        "end": "12:00",
        "time_zone": "Europe/Paris",
        "lang": "fr",
        "topic": "",
    }
    values.update(changes)
    return CallbackForm(**values)


async def service(web: CustomerWeb) -> CallbackService:
    return (await web.desk()).callbacks


async def test_request_is_stored_encrypted_with_index_and_mask(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, "203.0.113.9", case_id=case.id))
    assert receipt.phone_mask == "+33 6 •• •• •6 78"
    assert receipt.case_reference == case.reference
    assert receipt.reference.startswith("CB-")
    row = await customer_web.services.database.fetch_one("SELECT * FROM callbacks")
    assert row is not None
    assert (row["case_id"], row["customer_id"], row["queue"], row["status"], row["lang"]) == (
        case.id,
        case.customer_id,
        "general",
        "requested",
        "fr",
    )
    for value in row:
        data = value if isinstance(value, bytes) else str(value).encode()
        for plain in (b"+33612345678", b"0612345678", b"612345678"):
            assert plain not in data
    keys = (await customer_web.desk()).keys
    assert bytes(row["phone_index"]) == keys.mac("phone", "+33612345678")
    assert (
        customer_web.services.vault.decrypt_field(
            bytes(row["phone"]), table="callbacks", row_id=row["id"], column="phone"
        )
        == b"+33612345678"
    )
    assert row["window_start"] == datetime.fromisoformat(f"{tomorrow(clock)}T09:00:00+00:00").timestamp()
    event = (await customer_web.audit_actions())[-1]
    assert event[:3] == ("callback.request", "customer", "success")


async def test_every_invalid_field_is_reported(customer_web: CustomerWeb, clock: FixedClock) -> None:
    callbacks = await service(customer_web)
    with pytest.raises(ValidationFailed) as caught:
        await callbacks.request(
            form(clock, phone="12", date="2020-01-01", lang="de", topic="x" * 501), CallbackContext(SESSION, None)
        )
    assert caught.value.errors == [
        ("phone", "phone.invalid"),
        ("date", "window.past"),
        ("lang", "lang.invalid"),
        ("topic", "topic.too_long"),
    ]
    assert await customer_web.services.database.fetch_all("SELECT 1 FROM callbacks") == []


async def test_topic_is_screened(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    callbacks = await service(customer_web)
    await callbacks.request(
        form(clock, topic="ma carte 4111 1111 1111 1111 ne marche plus"),
        CallbackContext(SESSION, None, case_id=case.id),
    )
    row = await customer_web.services.database.fetch_one("SELECT topic FROM callbacks")
    assert row is not None
    assert "4111" not in row["topic"]
    assert row["topic"] == "ma carte [CARD •••• 1111] ne marche plus"


async def test_limited_per_browser_session(customer_web: CustomerWeb, clock: FixedClock) -> None:
    callbacks = await service(customer_web)
    numbers = ("06 12 34 56 78", "06 12 34 56 79", "06 12 34 56 80", "06 12 34 56 81")
    for number in numbers[:3]:
        await callbacks.request(form(clock, phone=number), CallbackContext(SESSION, None))
        clock.advance(10)
    with pytest.raises(RateLimited) as caught:
        await callbacks.request(form(clock, phone=numbers[3]), CallbackContext(SESSION, None))
    assert caught.value.retry_after == 3_600 - 30
    await callbacks.request(form(clock, phone=numbers[3]), CallbackContext(b"t" * 32, None))


async def test_limited_per_number_across_sessions(customer_web: CustomerWeb, clock: FixedClock) -> None:
    callbacks = await service(customer_web)
    for i in range(3):
        await callbacks.request(
            form(clock, phone="+33 6 12 34 56 78", phone_region="INTL"),
            CallbackContext(bytes([i]) * 32, f"198.51.100.{i}"),
        )
    with pytest.raises(RateLimited) as caught:  # the same number written another way is the same number
        await callbacks.request(form(clock, phone="06.12.34.56.78"), CallbackContext(b"z" * 32, "198.51.100.9"))
    assert caught.value.retry_after == 86_400


async def test_limited_per_address(customer_web: CustomerWeb, clock: FixedClock) -> None:
    callbacks = await service(customer_web)
    for i in range(10):
        await callbacks.request(
            form(clock, phone=f"06 12 34 56 {10 + i}"), CallbackContext(bytes([i]) * 32, "192.0.2.5")
        )
    with pytest.raises(RateLimited):
        await callbacks.request(form(clock, phone="06 12 34 56 99"), CallbackContext(b"y" * 32, "192.0.2.5"))


async def test_signed_case_links(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    callbacks = await service(customer_web)
    link = callbacks.case_link(case.id, lang="sv")
    assert link.startswith("https://localhost:8443/callback?case=")
    assert link.endswith("&lang=sv")
    binding = link.split("case=", 1)[1].split("&", 1)[0]
    assert case.id not in binding
    assert callbacks.read_case_binding(binding) == case.id
    assert (await callbacks.bound_case(binding)) == case
    payload, mac = binding.split(".")
    for tampered in (payload + "." + mac[:-2] + "AA", payload[:-2] + "AA." + mac, binding + "x", "", "a.b.c"):
        assert callbacks.read_case_binding(tampered) is None
    clock.advance(7 * 86_400)
    assert callbacks.read_case_binding(binding) is None


async def test_agents_claim_reveal_and_finish(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case()
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, None, case_id=case.id))
    queue = await callbacks.queue(AGENT)
    assert [(i.reference, i.phone_mask, i.status, i.mine) for i in queue] == [
        (receipt.reference, "+33 6 •• •• •6 78", "requested", False)
    ]
    with pytest.raises(PermissionDenied):  # claim first
        await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip=None)

    await callbacks.claim(receipt.id, AGENT, origin_ip="198.51.100.20")
    with pytest.raises(PermissionDenied):
        await callbacks.claim(receipt.id, OTHER_AGENT, origin_ip=None)
    with pytest.raises(PermissionDenied):
        await callbacks.reveal(receipt.id, OTHER_AGENT, reason="call-back", origin_ip=None)
    with pytest.raises(InvalidInput):
        await callbacks.reveal(receipt.id, AGENT, reason="  ", origin_ip=None)

    number = await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip="198.51.100.20")
    assert number.reveal() == "+33612345678"
    assert callbacks.display(number) == "+33 6 12 34 56 78"
    event = (await customer_web.audit_actions())[-1]
    assert event[:3] == ("callback.reveal", "agnes", "success")
    assert event[3] == f"callback:{receipt.id};case:{case.id}"

    await callbacks.finish(receipt.id, AGENT, outcome="no_answer", origin_ip=None)
    item = await callbacks.get(receipt.id, AGENT)
    assert (item.status, item.claimed_by, item.attempts) == ("no_answer", None, 1)
    await callbacks.claim(receipt.id, OTHER_AGENT, origin_ip=None)
    with pytest.raises(PermissionDenied):
        await callbacks.finish(receipt.id, AGENT, outcome="done", origin_ip=None)
    await callbacks.finish(
        receipt.id, OTHER_AGENT, outcome="rescheduled", origin_ip=None, new_window=(tomorrow(clock), "15:00", "16:00")
    )
    item = await callbacks.get(receipt.id, AGENT)
    assert (item.status, item.window.describe()) == ("rescheduled", f"{tomorrow(clock)} 15:00–16:00 (Europe/Paris)")
    await callbacks.claim(receipt.id, AGENT, origin_ip=None)
    await callbacks.finish(receipt.id, AGENT, outcome="done", origin_ip=None)
    assert await callbacks.queue(AGENT) == []
    assert [i.status for i in await callbacks.queue(AGENT, include_done=True)] == ["done"]
    actions = [a[0] for a in await customer_web.audit_actions() if a[0].startswith("callback.")]
    assert actions == [
        "callback.request",
        "callback.claim",
        "callback.reveal",
        "callback.no_answer",
        "callback.claim",
        "callback.rescheduled",
        "callback.claim",
        "callback.done",
    ]


async def test_other_queues_and_roles_see_nothing(customer_web: CustomerWeb, clock: FixedClock) -> None:
    case = await customer_web.case(queue="general")
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, None, case_id=case.id))
    assert await callbacks.queue(BILLING_AGENT) == []
    with pytest.raises(ObjectNotVisible):
        await callbacks.claim(receipt.id, BILLING_AGENT, origin_ip=None)
    with pytest.raises(NotFound):
        await callbacks.get("cb_nope", AGENT)
    with pytest.raises(PermissionDenied):
        await callbacks.queue(ADMIN)


async def test_reveal_fails_closed_when_the_audit_log_fails(
    customer_web: CustomerWeb, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, None))
    await callbacks.claim(receipt.id, AGENT, origin_ip=None)

    async def refuse(**kwargs: object) -> None:
        raise AuditError("the audit log is unavailable")

    monkeypatch.setattr(customer_web.services.audit, "record", refuse)
    with pytest.raises(AuditError):
        await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip=None)


async def test_reveals_are_limited_per_agent(customer_web: CustomerWeb, clock: FixedClock) -> None:
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, None))
    await callbacks.claim(receipt.id, AGENT, origin_ip=None)
    for _ in range(30):
        await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip=None)
    with pytest.raises(RateLimited):
        await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip=None)


async def test_untouched_requests_are_forgotten_after_the_retention(
    customer_web: CustomerWeb, clock: FixedClock
) -> None:
    callbacks = await service(customer_web)
    old = await callbacks.request(form(clock), CallbackContext(SESSION, None))
    clock.advance(29 * 86_400)
    kept = await callbacks.request(form(clock, phone="06 12 34 56 79"), CallbackContext(b"k" * 32, None))
    clock.advance(86_400)
    assert await callbacks.purge() == 1
    rows = await customer_web.services.database.fetch_all("SELECT id FROM callbacks")
    assert [row["id"] for row in rows] == [kept.id]
    assert old.id != kept.id


async def test_key_rotation_rewraps_the_numbers_and_the_customer_key(
    customer_web: CustomerWeb, clock: FixedClock
) -> None:
    callbacks = await service(customer_web)
    receipt = await callbacks.request(form(clock), CallbackContext(SESSION, None))
    vault = customer_web.services.vault
    result = await KeyRotation(vault).rotate()
    assert result.target == 2
    assert result.field_blobs >= 2  # the call-back's number and the customer key (and nothing left behind)
    status = {s.version: s.field_blobs for s in await KeyRotation(vault).status()}
    assert status[1] == 0
    await callbacks.claim(receipt.id, AGENT, origin_ip=None)
    number = await callbacks.reveal(receipt.id, AGENT, reason="call-back", origin_ip=None)
    assert number.reveal() == "+33612345678"
