"""Login: password + TOTP, identical refusals, lockout exactness, TOTP replay and the concurrent double-submit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from securedesk.audit import AuditLog
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuditError, AuthenticationFailed
from securedesk.identity import (
    LOCKOUT_SECONDS,
    LOCKOUT_THRESHOLD,
    Argon2Parameters,
    Identity,
    PasswordHasher,
    Role,
)
from securedesk.identity.login import LOGIN_FAILED_MESSAGE
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database

WRONG = Sensitive("not the right password at all")


def wrong_code(secret: Sensitive, now: float) -> Sensitive:
    """A well-formed code that matches none of the accepted steps."""
    valid = {code_at(secret, now, offset=k).reveal() for k in (-1, 0, 1)}
    return Sensitive(next(c for c in ("000000", "111111", "222222", "333333") if c not in valid))


async def test_login_with_password_and_code_starts_a_session(
    identity: Identity, clock: FixedClock, enrol: Any, audit_rows: Any
) -> None:
    alice = await enrol("alice", queues=("general",))
    new = await identity.authenticator.login(
        "Alice", alice.password, code_at(alice.secret, clock.now()), origin_ip="192.0.2.7"
    )
    assert new.session.principal.name == "alice"
    assert new.session.principal.role is Role.AGENT
    assert new.session.principal.queues == frozenset({"general"})
    assert new.session.mfa_at == clock.now()
    assert len(new.token.reveal()) >= 43  # 256 bits, base64url
    assert (await identity.sessions.authenticate(new.token)).key == new.session.key
    assert (await audit_rows())[-1] == ("auth.login", "alice", "success", None)


async def _refusal(identity: Identity, name: str, password: Sensitive, code: Sensitive) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        await identity.authenticator.login(name, password, code)
    return caught.value


async def test_every_refusal_is_the_same_error(
    identity: Identity, clock: FixedClock, enrol: Any, audit_rows: Any, operator: Any
) -> None:
    alice = await enrol("alice")
    bob = await enrol("bob")
    carol = await enrol("carol")
    await identity.accounts.add("dave", Role.AGENT, actor=operator)  # pending: never enrolled
    await identity.accounts.disable("bob", actor=operator)
    for _ in range(LOCKOUT_THRESHOLD):
        await _refusal(identity, "carol", WRONG, code_at(carol.secret, clock.now()))
    good_code = code_at(alice.secret, clock.now())
    cases = {
        "unknown account": ("mallory", alice.password, good_code),
        "malformed name": ("x" * 500, alice.password, good_code),
        "wrong password": ("alice", WRONG, good_code),
        "wrong code": ("alice", alice.password, wrong_code(alice.secret, clock.now())),
        "disabled": ("bob", bob.password, code_at(bob.secret, clock.now())),
        "not enrolled": ("dave", alice.password, good_code),
        "locked": ("carol", carol.password, code_at(carol.secret, clock.now())),
    }
    errors = {label: await _refusal(identity, *args) for label, args in cases.items()}
    seen = {(type(e), str(e), e.message, e.hint, e.http_status, e.public_message) for e in errors.values()}
    assert seen == {
        (AuthenticationFailed, LOGIN_FAILED_MESSAGE, LOGIN_FAILED_MESSAGE, None, 401, "Invalid credentials.")
    }
    reasons = [row[3] for row in await audit_rows() if row[0] == "auth.login_failed"][-len(cases) :]
    assert reasons == [
        "unknown account",
        "unknown account",
        "wrong password",
        "wrong code",
        "account disabled",
        "account not enrolled",
        "account locked",
    ]


async def test_every_attempt_costs_one_argon2_verification(
    identity: Identity, clock: FixedClock, enrol: Any, hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await enrol("alice")
    calls: list[str] = []
    real = hasher._verify_blocking

    def counting(password_hash: str, normalized: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, normalized)

    monkeypatch.setattr(hasher, "_verify_blocking", counting)
    await _refusal(identity, "nobody", alice.password, code_at(alice.secret, clock.now()))
    await _refusal(identity, "alice", WRONG, code_at(alice.secret, clock.now()))
    await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    assert len(calls) == 3
    assert calls[0].startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # the dummy hash has the real parameters


async def test_lockout_on_the_tenth_failure_for_exactly_thirty_minutes(
    identity: Identity, clock: FixedClock, enrol: Any, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    for _ in range(LOCKOUT_THRESHOLD - 1):
        await _refusal(identity, "alice", WRONG, code_at(alice.secret, clock.now()))
    clock.advance(30)
    await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))  # 9: not locked
    for _ in range(LOCKOUT_THRESHOLD):  # the success reset the count: 10 more are needed
        await _refusal(identity, "alice", WRONG, code_at(alice.secret, clock.now()))
    assert [r[0] for r in await audit_rows()].count("auth.lockout") == 1
    locked_at = clock.now()
    clock.set(locked_at + LOCKOUT_SECONDS - 1)
    await _refusal(identity, "alice", alice.password, code_at(alice.secret, clock.now()))  # right, but locked
    clock.set(locked_at + LOCKOUT_SECONDS)
    new = await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    assert new.session.principal.name == "alice"
    assert [r[0] for r in await audit_rows()].count("auth.lockout") == 1  # attempts while locked do not count


async def test_a_code_is_accepted_once(identity: Identity, clock: FixedClock, enrol: Any) -> None:
    alice = await enrol("alice")
    code = code_at(alice.secret, clock.now())
    await identity.authenticator.login("alice", alice.password, code)
    await _refusal(identity, "alice", alice.password, code)
    clock.advance(29)  # same step... (clock started on a step boundary + 30)
    await _refusal(identity, "alice", alice.password, code_at(alice.secret, clock.now()))
    clock.advance(1)  # next step: a new code
    await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))


async def test_an_older_step_is_refused_after_a_newer_one(identity: Identity, clock: FixedClock, enrol: Any) -> None:
    alice = await enrol("alice")
    await identity.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now(), offset=1))
    await _refusal(identity, "alice", alice.password, code_at(alice.secret, clock.now()))


async def test_two_concurrent_submissions_of_one_code_give_exactly_one_session(
    identity: Identity, clock: FixedClock, enrol: Any, db: Database
) -> None:
    alice = await enrol("alice")
    code = code_at(alice.secret, clock.now())
    results = await asyncio.gather(
        identity.authenticator.login("alice", alice.password, code),
        identity.authenticator.login("alice", alice.password, code),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AuthenticationFailed", "NewSession"]
    row = await db.fetch_one("SELECT count(*) FROM staff_sessions")
    assert row is not None
    assert row[0] == 1


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
async def test_login_accepts_one_step_either_side(
    identity: Identity, clock: FixedClock, enrol: Any, offset: int, accepted: bool
) -> None:
    alice = await enrol("alice")
    clock.advance(90)  # keep offset -2 after the enrolment step
    code = code_at(alice.secret, clock.now(), offset=offset)
    if accepted:
        await identity.authenticator.login("alice", alice.password, code)
    else:
        await _refusal(identity, "alice", alice.password, code)


async def test_hash_is_upgraded_at_login_when_parameters_change(
    settings: Settings, db: Database, audit: AuditLog, cipher: Any, clock: FixedClock, enrol: Any, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    before = await db.fetch_one("SELECT password_hash FROM staff WHERE name = 'alice'")
    assert before is not None
    assert before[0].startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    stronger = PasswordHasher(Argon2Parameters("stronger", time_cost=2, memory_kib=2048, parallelism=1))
    upgraded = Identity.build(settings, db=db, audit=audit, cipher=cipher, clock=clock, hasher=stronger)
    await upgraded.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    after = await db.fetch_one("SELECT password_hash FROM staff WHERE name = 'alice'")
    assert after is not None
    assert after[0].startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert (await audit_rows())[-1] == ("auth.login", "alice", "success", "password rehashed")
    clock.advance(30)
    await upgraded.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    again = await db.fetch_one("SELECT password_hash FROM staff WHERE name = 'alice'")
    assert again is not None
    assert again[0] == after[0]


class FailingAudit:
    """An audit log whose disk is gone: every write fails."""

    def __init__(self) -> None:
        self.attempts = 0

    async def record(self, **fields: Any) -> None:
        self.attempts += 1
        raise AuditError("The audit event could not be written.")

    async def record_in(self, conn: Any, **fields: Any) -> None:
        self.attempts += 1
        raise AuditError("The audit event could not be written.")


async def test_no_audit_event_no_login(
    settings: Settings, db: Database, cipher: Any, clock: FixedClock, hasher: PasswordHasher, enrol: Any
) -> None:
    alice = await enrol("alice")
    broken = Identity.build(settings, db=db, audit=FailingAudit(), cipher=cipher, clock=clock, hasher=hasher)
    with pytest.raises(AuditError):
        await broken.authenticator.login("alice", alice.password, code_at(alice.secret, clock.now()))
    with pytest.raises(AuditError):  # wrong credentials: the same error, so a broken log reveals nothing
        await broken.authenticator.login("alice", WRONG, code_at(alice.secret, clock.now()))
    row = await db.fetch_one("SELECT count(*) FROM staff_sessions")
    assert row is not None
    assert row[0] == 0


async def test_failures_still_count_when_the_audit_log_is_broken(
    settings: Settings,
    db: Database,
    cipher: Any,
    clock: FixedClock,
    hasher: PasswordHasher,
    enrol: Any,
    identity: Identity,
) -> None:
    alice = await enrol("alice")
    broken = Identity.build(settings, db=db, audit=FailingAudit(), cipher=cipher, clock=clock, hasher=hasher)
    for _ in range(LOCKOUT_THRESHOLD):
        with pytest.raises(AuditError):
            await broken.authenticator.login("alice", WRONG, code_at(alice.secret, clock.now()))
    row = await db.fetch_one("SELECT locked_until FROM staff WHERE name = 'alice'")
    assert row is not None
    assert row[0] == clock.now() + LOCKOUT_SECONDS
    await _refusal(identity, "alice", alice.password, code_at(alice.secret, clock.now()))


async def test_a_totp_secret_moved_to_another_row_does_not_open(
    identity: Identity, clock: FixedClock, enrol: Any, db: Database
) -> None:
    alice = await enrol("alice")
    bob = await enrol("bob", password="another long passphrase here")
    async with db.transaction() as conn:  # someone with write access gives bob alice's (encrypted) secret
        await conn.execute(
            "UPDATE staff SET totp_secret = (SELECT totp_secret FROM staff WHERE name = 'alice') WHERE name = 'bob'"
        )
    await _refusal(identity, "bob", bob.password, code_at(alice.secret, clock.now()))
    await _refusal(identity, "bob", bob.password, code_at(bob.secret, clock.now()))
