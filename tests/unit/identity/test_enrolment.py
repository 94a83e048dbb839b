"""Enrolment links: one-time, 24 h, stored hashed; TOTP secret shown as URI and SVG, stored only encrypted."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from securedesk.audit import AuditLog
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuthenticationFailed, PasswordRejected
from securedesk.identity import ENROLMENT_SECONDS, Identity, Role, ensure_first_admin
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database

PASSWORD = Sensitive("a long and unusual passphrase")


def token_of(url: Sensitive) -> str:
    return url.reveal().rsplit("/enrol/", 1)[1]


async def test_add_prints_a_one_time_link_stored_only_as_a_hash(
    identity: Identity, settings: Settings, operator: Any, db: Database
) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator, queues=["general"])
    assert link.url.reveal().startswith(f"{settings.public_base_url}/enrol/")
    token = token_of(link.url)
    assert len(token) >= 43  # 256 random bits, base64url
    rows = await db.fetch_all("SELECT token_hash, expires_at, created_at FROM staff_enrolments")
    assert [r["token_hash"] for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert rows[0]["expires_at"] - rows[0]["created_at"] == ENROLMENT_SECONDS == 86_400
    assert link.member.status == "pending"
    assert link.member.queues == ("general",)
    assert repr(link.url) == "Sensitive('••••')"


async def test_begin_shows_the_secret_as_uri_and_svg_and_again_on_reload(identity: Identity, operator: Any) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    first = await identity.enrolment.begin(token_of(link.url))
    again = await identity.enrolment.begin(token_of(link.url))
    assert first.secret == again.secret
    assert len(first.secret.reveal()) == 32  # base32 of 160 bits
    uri = urlsplit(first.otpauth_uri.reveal())
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/SecureDesk:alice")
    assert parse_qs(uri.query) == {"secret": [first.secret.reveal()], "issuer": ["SecureDesk"]}
    svg = first.qr_svg.reveal()
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<path" in svg
    assert first.secret.reveal() not in svg  # the QR code carries it as modules, not as text
    assert (first.account_name, first.role) == ("alice", Role.AGENT)


async def test_complete_activates_once_and_records_the_enrolment(
    identity: Identity, clock: FixedClock, operator: Any, audit_rows: Any
) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    challenge = await identity.enrolment.begin(token_of(link.url))
    member = await identity.enrolment.complete(token_of(link.url), PASSWORD, code_at(challenge.secret, clock.now()))
    assert member.status == "active"
    assert member.enrolled_at == clock.now()
    assert (await audit_rows())[-1] == ("auth.mfa_enrolled", "alice", "success", None)
    for attempt in (
        identity.enrolment.begin(token_of(link.url)),
        identity.enrolment.complete(token_of(link.url), PASSWORD, code_at(challenge.secret, clock.now())),
    ):
        with pytest.raises(AuthenticationFailed, match="not valid, was already used, or has expired"):
            await attempt
    clock.advance(30)
    new = await identity.authenticator.login("alice", PASSWORD, code_at(challenge.secret, clock.now()))
    assert new.session.principal.name == "alice"


async def test_the_enrolment_code_cannot_be_replayed_at_login(
    identity: Identity, clock: FixedClock, operator: Any
) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    challenge = await identity.enrolment.begin(token_of(link.url))
    code = code_at(challenge.secret, clock.now())
    await identity.enrolment.complete(token_of(link.url), PASSWORD, code)
    with pytest.raises(AuthenticationFailed):
        await identity.authenticator.login("alice", PASSWORD, code)


@pytest.mark.parametrize(("age", "valid"), [(ENROLMENT_SECONDS - 1, True), (ENROLMENT_SECONDS, False)])
async def test_links_expire_after_24_hours(
    identity: Identity, clock: FixedClock, operator: Any, age: int, valid: bool
) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    clock.advance(age)
    if valid:
        await identity.enrolment.begin(token_of(link.url))
    else:
        with pytest.raises(AuthenticationFailed):
            await identity.enrolment.begin(token_of(link.url))


async def test_unknown_and_malformed_links_fail_alike(identity: Identity, operator: Any) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    token = token_of(link.url)
    messages = set()
    for bad in ("", token[:-1], token + "A", "x" * 10_000, "../../etc/passwd", "\udcff"):
        with pytest.raises(AuthenticationFailed) as caught:
            await identity.enrolment.begin(bad)
        messages.add(str(caught.value))
    assert len(messages) == 1


async def test_a_refused_password_or_code_does_not_use_up_the_link(
    identity: Identity, clock: FixedClock, operator: Any
) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    token = token_of(link.url)
    challenge = await identity.enrolment.begin(token)
    with pytest.raises(PasswordRejected):
        await identity.enrolment.complete(token, Sensitive("short"), code_at(challenge.secret, clock.now()))
    with pytest.raises(AuthenticationFailed, match="authenticator code is not right"):
        await identity.enrolment.complete(token, PASSWORD, code_at(challenge.secret, clock.now(), offset=5))
    member = await identity.enrolment.complete(token, PASSWORD, code_at(challenge.secret, clock.now()))
    assert member.status == "active"


async def test_complete_needs_begin_first(identity: Identity, clock: FixedClock, operator: Any) -> None:
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator)
    with pytest.raises(AuthenticationFailed):
        await identity.enrolment.complete(token_of(link.url), PASSWORD, Sensitive("123456"))


async def test_reissue_resets_credentials_and_ends_sessions(
    identity: Identity, clock: FixedClock, enrol: Any, operator: Any
) -> None:
    alice = await enrol("alice")
    new = await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    link = await identity.accounts.reissue_enrolment("alice", actor=operator)
    assert link.member.status == "pending"
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(new.token)
    clock.advance(30)
    with pytest.raises(AuthenticationFailed):
        await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    challenge = await identity.enrolment.begin(token_of(link.url))
    assert challenge.secret != alice.secret
    await identity.enrolment.complete(token_of(link.url), PASSWORD, code_at(challenge.secret, clock.now()))


async def test_ensure_first_admin_creates_it_once(
    settings: Settings, db: Database, audit: AuditLog, clock: FixedClock, operator: Any, identity: Identity
) -> None:
    url = await ensure_first_admin(settings, db=db, audit=audit, actor=operator, clock=clock)
    assert url is not None
    assert url.startswith(f"{settings.public_base_url}/enrol/")
    assert await ensure_first_admin(settings, db=db, audit=audit, actor=operator, clock=clock) is None
    admin = await identity.accounts.get("admin")
    assert (admin.role, admin.status) == (Role.ADMIN, "pending")
    challenge = await identity.enrolment.begin(url.rsplit("/", 1)[1])
    assert challenge.role is Role.ADMIN
