"""One-time codes of the verified lookup, with a fixed clock: 6 digits, delivered through the outbox, stored as an
HMAC bound to the challenge (never the code, never a plain hash), 10 minutes, single use, 5 attempts then locked,
bound to the browser, issuance limited per identifier and per address, and the same treatment for unknown
identifiers (a decoy challenge that no code opens)."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from customer_support import CustomerWeb

from securedesk.clock import FixedClock
from securedesk.customer.lookup import (
    CodeLocked,
    CodeRejected,
    LookupService,
    NoOpenChallenge,
    new_code,
    normalize_identifier,
)
from securedesk.errors import RateLimited, ValidationFailed
from securedesk.sensitive import Sensitive

BROWSER = b"b" * 32
OTHER_BROWSER = b"o" * 32
IP = "203.0.113.9"


async def service(web: CustomerWeb) -> LookupService:
    return (await web.desk()).lookup


async def issue(
    web: CustomerWeb, identifier: str = "jane@example.com", *, browser: bytes = BROWSER, ip: str | None = IP
) -> str | None:
    """Start a challenge and run its delivery; the code sent (None when nothing was sent)."""
    before = len(await web.codes_sent_to("jane@example.com"))
    delivery = await (await service(web)).start(identifier, browser_key=browser, ip=ip, lang="en")
    await delivery()
    codes = await web.codes_sent_to("jane@example.com")
    return codes[-1] if len(codes) > before else None


def test_codes_are_six_digits_from_the_whole_range() -> None:
    codes = {new_code().reveal() for _ in range(3_000)}
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(codes) > 2_900  # ~4 collisions expected among 3000 draws of 10^6
    assert any(code.startswith("0") for code in codes)  # leading zeros are kept


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane@Example.COM", ("email", "jane@example.com")),
        ("  jane@example.com ", ("email", "jane@example.com")),
        ("sd-bcd234", ("reference", "SD-BCD234")),
        ("SD-BCD234", ("reference", "SD-BCD234")),
    ],
)
def test_identifiers(raw: str, expected: tuple[str, str]) -> None:
    assert normalize_identifier(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "identifier.required"),
        ("jane", "identifier.invalid"),
        ("SD-BCD23", "identifier.invalid"),
        ("a@b", "identifier.invalid"),
    ],
)
def test_malformed_identifiers(raw: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_identifier(raw)
    assert caught.value.errors == [("identifier", code)]


async def test_code_is_sent_by_email_and_stored_only_as_a_keyed_hash(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    row = await customer_web.services.database.fetch_one("SELECT * FROM lookup_challenges")
    assert row is not None
    stored = bytes(row["code_hash"])
    desk = await customer_web.desk()
    assert stored == desk.keys.mac("code", row["id"], code)
    for plain in (hashlib.sha256(code.encode()).digest(), hashlib.sha256((row["id"] + code).encode()).digest()):
        assert not hmac.compare_digest(stored, plain)
    for value in row:  # no column holds the code, in text or in bytes
        data = value if isinstance(value, bytes) else str(value).encode()
        assert code.encode() not in data
    assert bytes(row["identifier_key"]) == desk.keys.mac("identifier", "jane@example.com")


async def test_the_queued_code_mail_is_sealed_until_it_is_sent(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    row = await customer_web.services.database.fetch_one("SELECT sealed, content FROM outbox WHERE kind = 'autoreply'")
    assert row is not None
    assert row["sealed"] == 1
    assert code.encode() not in bytes(row["content"])
    path = customer_web.settings.database_path
    on_disk = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    assert f"code is {code}".encode() not in on_disk  # the mail's sentence (six digits alone occur by chance)
    assert await customer_web.codes_sent_to("jane@example.com") == [code]  # what the relay opens and sends


async def test_right_code_opens_a_session_once(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    lookup = await service(customer_web)
    created = await lookup.verify(code, browser_key=BROWSER, ip=IP)
    assert created.session.customer_id == case.customer_id
    assert created.session.expires_at == customer_web.clock.now() + 900
    assert await lookup.session(created.token, browser_key=BROWSER) == created.session
    with pytest.raises(NoOpenChallenge):  # single use
        await lookup.verify(code, browser_key=BROWSER, ip=IP)
    actions = [a[0] for a in await customer_web.audit_actions()]
    assert actions[-2:] == ["lookup.code_issued", "lookup.verified"]


async def test_code_expires_after_ten_minutes(customer_web: CustomerWeb, clock: FixedClock) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    clock.advance(600)
    with pytest.raises(NoOpenChallenge):
        await (await service(customer_web)).verify(code, browser_key=BROWSER, ip=IP)


async def test_code_still_works_just_before_it_expires(customer_web: CustomerWeb, clock: FixedClock) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    clock.advance(599.9)
    await (await service(customer_web)).verify(code, browser_key=BROWSER, ip=IP)


async def test_five_wrong_codes_lock_the_challenge_even_for_the_right_code(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lookup = await service(customer_web)
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRejected) as caught:
            await lookup.verify(wrong, browser_key=BROWSER, ip=IP)
        assert caught.value.attempts_left == left
    with pytest.raises(CodeLocked):
        await lookup.verify(wrong, browser_key=BROWSER, ip=IP)
    with pytest.raises(CodeLocked):
        await lookup.verify(code, browser_key=BROWSER, ip=IP)
    row = await customer_web.services.database.fetch_one("SELECT attempts, used_at FROM lookup_challenges")
    assert row is not None
    assert (row["attempts"], row["used_at"]) == (5, None)
    actions = [a[:3] for a in await customer_web.audit_actions() if a[0].startswith("lookup.")]
    assert actions[-1] == ("lookup.locked", "customer", "denied")
    assert [a[0] for a in actions].count("lookup.code_failed") == 4


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
async def test_malformed_codes_count_as_attempts(customer_web: CustomerWeb, garbage: str) -> None:
    await customer_web.case()
    await issue(customer_web)
    with pytest.raises(CodeRejected) as caught:
        await (await service(customer_web)).verify(garbage, browser_key=BROWSER, ip=IP)
    assert caught.value.attempts_left == 4


async def test_spaces_in_the_code_are_forgiven(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    await (await service(customer_web)).verify(f" {code[:3]} {code[3:]} ", browser_key=BROWSER, ip=IP)


async def test_code_works_only_in_the_browser_that_asked(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    lookup = await service(customer_web)
    with pytest.raises(NoOpenChallenge):
        await lookup.verify(code, browser_key=OTHER_BROWSER, ip=IP)
    created = await lookup.verify(code, browser_key=BROWSER, ip=IP)
    assert await lookup.session(created.token, browser_key=OTHER_BROWSER) is None


async def test_a_new_code_replaces_the_old_one(customer_web: CustomerWeb) -> None:
    await customer_web.case()
    first = await issue(customer_web)
    second = await issue(customer_web)
    assert first is not None
    assert second is not None
    lookup = await service(customer_web)
    if first != second:
        with pytest.raises(CodeRejected):
            await lookup.verify(first, browser_key=BROWSER, ip=IP)
    await lookup.verify(second, browser_key=BROWSER, ip=IP)


async def test_case_reference_sends_the_code_to_the_cases_customer(customer_web: CustomerWeb) -> None:
    case = await customer_web.case()
    code = await issue(customer_web, case.reference.lower())
    assert code is not None
    created = await (await service(customer_web)).verify(code, browser_key=BROWSER, ip=IP)
    assert created.session.customer_id == case.customer_id


@pytest.mark.parametrize("identifier", ["nobody@example.com", "SD-BCDFGH"])
async def test_unknown_identifiers_get_a_decoy_that_no_code_opens(customer_web: CustomerWeb, identifier: str) -> None:
    await customer_web.case()  # jane exists; the identifier names nobody
    assert await issue(customer_web, identifier) is None
    row = await customer_web.services.database.fetch_one("SELECT customer_id, attempts FROM lookup_challenges")
    assert row is not None
    assert row["customer_id"] is None
    outbox = await customer_web.services.database.fetch_all("SELECT 1 FROM outbox")
    assert outbox == []
    lookup = await service(customer_web)
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRejected) as caught:
            await lookup.verify("000000", browser_key=BROWSER, ip=IP)
        assert caught.value.attempts_left == left
    with pytest.raises(CodeLocked):
        await lookup.verify("000000", browser_key=BROWSER, ip=IP)
    issued = [a for a in await customer_web.audit_actions() if a[0] == "lookup.code_issued"]
    assert len(issued) == 1


async def test_a_case_without_an_email_address_is_a_decoy(customer_web: CustomerWeb) -> None:
    case = await customer_web.case(email_address=None)
    assert await issue(customer_web, case.reference) is None


async def test_issuance_is_limited_per_identifier_known_or_not(customer_web: CustomerWeb, clock: FixedClock) -> None:
    await customer_web.case()
    lookup = await service(customer_web)
    for identifier in ("jane@example.com", "nobody@example.com"):
        for i in range(3):
            await lookup.start(identifier, browser_key=BROWSER, ip=f"198.51.100.{i}", lang="en")
            clock.advance(60)
        with pytest.raises(RateLimited) as caught:
            await lookup.start(identifier.upper(), browser_key=BROWSER, ip="198.51.100.99", lang="en")
        assert caught.value.retry_after == 900 - 180
    clock.advance(900 - 180)
    await lookup.start("jane@example.com", browser_key=BROWSER, ip="198.51.100.7", lang="en")


async def test_issuance_is_limited_per_address(customer_web: CustomerWeb, clock: FixedClock) -> None:
    lookup = await service(customer_web)
    for i in range(10):
        await lookup.start(f"person{i}@example.com", browser_key=BROWSER, ip=IP, lang="en")
    with pytest.raises(RateLimited) as caught:
        await lookup.start("someone.else@example.com", browser_key=BROWSER, ip=IP, lang="en")
    assert caught.value.retry_after == 900
    await lookup.start("someone.else@example.com", browser_key=BROWSER, ip="203.0.113.10", lang="en")


async def test_sessions_last_fifteen_minutes_and_end_on_logout(customer_web: CustomerWeb, clock: FixedClock) -> None:
    await customer_web.case()
    code = await issue(customer_web)
    assert code is not None
    lookup = await service(customer_web)
    created = await lookup.verify(code, browser_key=BROWSER, ip=IP)
    clock.advance(899)
    assert await lookup.session(created.token, browser_key=BROWSER) is not None
    clock.advance(1)
    assert await lookup.session(created.token, browser_key=BROWSER) is None
    code = await issue(customer_web)
    assert code is not None
    again = await lookup.verify(code, browser_key=BROWSER, ip=IP)
    assert await lookup.end(again.token)
    assert await lookup.session(again.token, browser_key=BROWSER) is None
    assert await lookup.session(Sensitive("x" * 43), browser_key=BROWSER) is None
