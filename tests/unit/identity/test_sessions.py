"""Sessions: fresh ids at login, idle and absolute expiry to the second, logout, disable, CSRF, step-up."""

from __future__ import annotations

from typing import Any

import pytest

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuthenticationFailed, PermissionDenied, StepUpRequired
from securedesk.identity import (
    SESSION_COOKIE,
    STEP_UP_SECONDS,
    Identity,
    NewSession,
    Role,
    SessionsEnded,
)
from securedesk.identity.totp import code_at
from securedesk.storage.database import Database
from securedesk.storage.staff import SqliteStaffRepository


async def login(identity: Identity, clock: FixedClock, who: Any, **kwargs: Any) -> NewSession:
    clock.advance(30)  # a new TOTP step for every login
    return await identity.authenticator.login(who.member.name, who.password, code_at(who.secret, clock.now()), **kwargs)


def test_cookie_recommendations() -> None:
    assert SESSION_COOKIE.name == "__Host-securedesk"
    assert (SESSION_COOKIE.secure, SESSION_COOKIE.httponly, SESSION_COOKIE.samesite, SESSION_COOKIE.path) == (
        True,
        True,
        "strict",
        "/",
    )
    assert SESSION_COOKIE.domain is None
    assert SESSION_COOKIE.max_age is None


async def test_login_always_issues_a_new_id_and_ends_the_presented_one(
    identity: Identity, clock: FixedClock, enrol: Any, db: Database, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    first = await login(identity, clock, alice)
    second = await login(identity, clock, alice, replaces=first.token)
    assert second.token != first.token
    assert second.session.key != first.session.key
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(first.token)
    assert (await identity.sessions.authenticate(second.token)).principal.name == "alice"
    # A client-chosen id is never adopted: it simply does not exist.
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate("attacker-chosen-session-id")
    stored = [r["id_hash"] for r in await db.fetch_all("SELECT id_hash FROM staff_sessions")]
    assert stored == [second.session.key]
    assert second.token.reveal() not in stored
    assert ("session.end", "alice", "success", "replaced at login") in await audit_rows()


async def test_idle_timeout_is_exact_to_the_second(
    identity: Identity, clock: FixedClock, enrol: Any, settings: Settings, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    new = await login(identity, clock, alice)
    assert settings.session_idle_seconds == 900
    clock.advance(899)
    touched = await identity.sessions.authenticate(new.token)  # activity restarts the idle clock
    assert touched.last_seen_at == clock.now()
    clock.advance(899)
    await identity.sessions.authenticate(new.token)
    clock.advance(900)
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(new.token)
    assert ("session.end", "alice", "success", "idle timeout") in await audit_rows()


async def test_absolute_limit_is_exact_to_the_second(
    identity: Identity, clock: FixedClock, enrol: Any, settings: Settings, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    new = await login(identity, clock, alice)
    start = new.session.created_at
    assert settings.session_absolute_seconds == 43_200
    while clock.now() + 800 < start + 43_199:
        clock.advance(800)
        await identity.sessions.authenticate(new.token)
    clock.set(start + 43_199)
    session = await identity.sessions.authenticate(new.token)
    assert session.absolute_expires_at == start + 43_200
    clock.set(start + 43_200)
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(new.token)
    assert ("session.end", "alice", "success", "absolute timeout") in await audit_rows()


async def test_logout_ends_the_session_server_side(
    identity: Identity, clock: FixedClock, enrol: Any, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    new = await login(identity, clock, alice)
    other = await login(identity, clock, alice)
    ended: list[SessionsEnded] = []

    async def listener(event: SessionsEnded) -> None:
        ended.append(event)

    identity.listeners.add(listener)
    assert await identity.sessions.end(new.token) is True
    assert await identity.sessions.end(new.token) is False
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(new.token)
    assert (await identity.sessions.authenticate(other.token)).principal.name == "alice"
    assert ended == [SessionsEnded(alice.member.id, (new.session.key,), "logout")]
    assert (await audit_rows())[-1] == ("session.end", "alice", "success", "logout")


async def test_disabling_a_user_ends_all_their_sessions_and_tells_listeners(
    identity: Identity, clock: FixedClock, enrol: Any, operator: Any, audit_rows: Any
) -> None:
    alice = await enrol("alice")
    bob = await enrol("bob")
    sessions = [await login(identity, clock, alice) for _ in range(3)]
    bobs = await login(identity, clock, bob)
    ended: list[SessionsEnded] = []

    async def listener(event: SessionsEnded) -> None:
        ended.append(event)

    async def broken_listener(event: SessionsEnded) -> None:
        raise RuntimeError("a listener bug must not stop the others")

    identity.listeners.add(broken_listener)
    identity.listeners.add(listener)
    await identity.accounts.disable("alice", actor=operator)
    for new in sessions:
        with pytest.raises(AuthenticationFailed):
            await identity.sessions.authenticate(new.token)
    assert (await identity.sessions.authenticate(bobs.token)).principal.name == "bob"
    assert ended == [
        SessionsEnded(alice.member.id, tuple(s.session.key for s in sessions), "account disabled")  # oldest first
    ]
    rows = await audit_rows()
    assert rows.count(("session.end", "alice", "success", "account disabled")) == 3
    assert ("user.disable", "cli:test", "success", None) in rows


async def test_role_changes_apply_to_live_sessions(
    identity: Identity, clock: FixedClock, enrol: Any, operator: Any
) -> None:
    alice = await enrol("alice", queues=("general",))
    await enrol("root", Role.ADMIN)
    new = await login(identity, clock, alice)
    await identity.accounts.set_role("alice", Role.COMPLIANCE, actor=operator)
    assert (await identity.sessions.authenticate(new.token)).principal.role is Role.COMPLIANCE
    await identity.accounts.set_queues("alice", ["billing", "vip"], actor=operator)
    assert (await identity.sessions.authenticate(new.token)).principal.queues == frozenset({"billing", "vip"})


async def test_csrf_token_is_per_session_and_checked(identity: Identity, clock: FixedClock, enrol: Any) -> None:
    alice = await enrol("alice")
    one = await login(identity, clock, alice)
    two = await login(identity, clock, alice)
    session = await identity.sessions.authenticate(one.token)
    assert session.csrf_token == one.session.csrf_token
    assert len(session.csrf_token) >= 43
    assert session.csrf_token != two.session.csrf_token
    assert session.csrf_token != one.token.reveal()
    identity.sessions.check_csrf(session, session.csrf_token)
    for bad in (None, "", two.session.csrf_token, session.csrf_token[:-1], session.csrf_token + "x", "é" * 43):
        with pytest.raises(PermissionDenied):
            identity.sessions.check_csrf(session, bad)


async def test_step_up_window_and_refresh(identity: Identity, clock: FixedClock, enrol: Any, audit_rows: Any) -> None:
    alice = await enrol("alice")
    new = await login(identity, clock, alice)
    assert STEP_UP_SECONDS == 300
    clock.advance(299)
    session = await identity.sessions.authenticate(new.token)
    identity.sessions.require_recent_mfa(session)
    clock.advance(1)
    with pytest.raises(StepUpRequired):
        identity.sessions.require_recent_mfa(session)
    code = code_at(alice.secret, clock.now())
    refreshed = await identity.authenticator.step_up(session, code)
    assert refreshed.mfa_at == clock.now()
    identity.sessions.require_recent_mfa(refreshed)
    reloaded = await identity.sessions.authenticate(new.token)
    assert reloaded.mfa_at == clock.now()
    with pytest.raises(AuthenticationFailed):  # the same code again: replay
        await identity.authenticator.step_up(session, code)
    clock.advance(60)
    with pytest.raises(StepUpRequired):
        identity.sessions.require_recent_mfa(reloaded, within=60)
    actions = [(r[0], r[2]) for r in await audit_rows()]
    assert actions[-2:] == [("auth.step_up", "success"), ("auth.step_up", "failure")]


async def test_purge_ends_expired_sessions(identity: Identity, clock: FixedClock, enrol: Any, db: Database) -> None:
    alice = await enrol("alice")
    old = await login(identity, clock, alice)
    clock.advance(600)
    fresh = await login(identity, clock, alice)
    clock.advance(300)  # old: idle 930 s; fresh: idle 330 s
    assert await identity.sessions.purge_expired() == 1
    keys = [r["id_hash"] for r in await db.fetch_all("SELECT id_hash FROM staff_sessions")]
    assert keys == [fresh.session.key]
    assert old.session.key not in keys


async def test_a_disabled_account_cannot_use_a_session_left_in_the_table(
    identity: Identity, clock: FixedClock, enrol: Any, db: Database
) -> None:
    alice = await enrol("alice")
    new = await login(identity, clock, alice)
    repo = SqliteStaffRepository(db)
    async with repo.transaction() as conn:  # as if the session row had survived (e.g. restored from a backup)
        await repo.set_disabled(conn, alice.member.id, now=clock.now())
    with pytest.raises(AuthenticationFailed):
        await identity.sessions.authenticate(new.token)
