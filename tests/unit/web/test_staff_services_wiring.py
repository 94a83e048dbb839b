"""``open_services`` wiring: the audit log screens reasons with the real detector, the policy is loaded (and refused
when invalid) and reloaded by SIGHUP with ``policy.load`` events, readiness sees audit failures, and the periodic
services (session purge, vault purge, audit verification and checkpoint) do their work."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from staff_support import FAST, OPERATOR, PASSWORD

from securedesk.audit.reasons import ReasonScreen
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import AuditError, PolicyError
from securedesk.gateway.services import Services, open_services
from securedesk.identity import Actor, PasswordHasher, Role
from securedesk.identity.totp import code_at
from securedesk.metrics import Metrics
from securedesk.sensitive import Sensitive
from securedesk.server import (
    PeriodicService,
    audit_checkpoint_service,
    session_purge_service,
    vault_purge_service,
)
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, SealRequest

PROJECT_POLICY = Path(__file__).resolve().parents[3] / "policies" / "default.toml"
BLOCK_AUDIT = (
    "CREATE TRIGGER test_block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"
)


@pytest.fixture
def wired_settings(settings: Settings, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    shutil.copyfile(PROJECT_POLICY, policy)
    LocalKeyFile(settings.key_dir).add_version()
    return settings.replace(policy_path=policy)


@pytest.fixture
async def services(wired_settings: Settings, clock: FixedClock) -> AsyncIterator[Services]:
    async with open_services(
        wired_settings, clock=clock, metrics=Metrics(process_metrics=False), hasher=PasswordHasher(FAST)
    ) as opened:
        yield opened


async def _events(db: Database, action: str) -> list[tuple[str, str, str, str | None]]:
    rows = await db.fetch_all(
        "SELECT actor, outcome, target, reason FROM audit_events WHERE action = ? ORDER BY seq", (action,)
    )
    return [(r["actor"], r["outcome"], r["target"], r["reason"]) for r in rows]


async def test_audit_reasons_pass_the_real_detector(services: Services) -> None:
    event = await services.audit.record(
        actor="agnes",
        role="agent",
        action="secret.reveal",
        target="tok_x",
        channel="web",
        reason="caller read out 4111 1111 1111 1111, SSN 536-22-1234 and IBAN FR14 2004 1010 0505 0001 3M02 606",
    )

    assert event.reason == ("caller read out [CARD •••• 1111], SSN [SSN •••• 1234] and IBAN [IBAN •••• 2606]")
    assert services.reasons.ready


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer read out 4111 1111 1111 1111 on the phone", "customer read out [CARD •••• 1111] on the phone"),
        ("vérifié le NIR 1 84 12 75 108 045 28", "vérifié le NIR [FR_NIR •••• 4528]"),
        ("personnumret 811218-9876 stämmer", "personnumret [PERSONNUMMER •••• 9876] stämmer"),
        ("refund of 120 EUR for order 12345", "refund of 120 EUR for order 12345"),
        ("no digits at all", "no digits at all"),
    ],
)
def test_reason_screen_masks_in_every_language(text: str, expected: str) -> None:
    assert ReasonScreen()(text) == expected


def test_reason_screen_builds_no_detector_for_text_without_digits() -> None:
    screen = ReasonScreen()

    assert screen("wrong password") == "wrong password"
    assert not screen.ready


async def test_the_policy_load_at_start_is_audited(services: Services) -> None:
    policy = services.policy.current

    assert await _events(services.database, "policy.load") == [
        ("system", "success", f"policy:{policy.name};sha256={policy.digest}", "loaded at start-up")
    ]


async def test_an_invalid_policy_refuses_the_start_with_one_line(wired_settings: Settings, clock: FixedClock) -> None:
    wired_settings.policy_path.write_text("[policy]\nname = 'x'\nformat = 2\n", encoding="utf-8")

    with pytest.raises(PolicyError) as raised:
        async with open_services(wired_settings, clock=clock, metrics=Metrics(process_metrics=False)):
            pass  # pragma: no cover - never reached

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Policy {wired_settings.policy_path} is invalid (")
    assert "securedesk policy check" in message


async def test_sighup_reloads_the_policy_and_an_invalid_file_keeps_the_old_one(
    services: Services, wired_settings: Settings
) -> None:
    path = wired_settings.policy_path
    first = services.policy.current
    path.write_text(path.read_text(encoding="utf-8").replace('name = "default"', 'name = "v2"', 1), encoding="utf-8")

    await services.run_hooks(services.reload_hooks, kind="reload")
    second = services.policy.current
    path.write_text("not = [valid", encoding="utf-8")
    await services.run_hooks(services.reload_hooks, kind="reload")

    assert second.name == "v2"
    assert services.policy.current is second
    events = await _events(services.database, "policy.load")
    assert [(actor, outcome) for actor, outcome, _, _ in events] == [
        ("system", "success"),
        ("system:sighup", "success"),
        ("system:sighup", "failure"),
    ]
    assert events[1][2] == f"policy:v2;sha256={second.digest};previous={first.digest}"
    assert events[2][3] is not None
    assert events[2][3].startswith("reload refused, the policy in force is kept: Policy ")


async def test_a_reload_whose_event_cannot_be_written_changes_nothing(
    services: Services, wired_settings: Settings
) -> None:
    path = wired_settings.policy_path
    before = services.policy.current
    path.write_text(path.read_text(encoding="utf-8").replace('name = "default"', 'name = "v2"', 1), encoding="utf-8")
    async with services.database.transaction() as conn:
        await conn.execute(BLOCK_AUDIT)

    with pytest.raises(AuditError):
        await services.policy_loader.reload(Actor("ada", "admin", channel="web"))

    assert services.policy.current is before


async def test_readiness_fails_after_an_audit_write_failed(services: Services) -> None:
    assert (await services.check_readiness())["audit"] is True
    async with services.database.transaction() as conn:
        await conn.execute(BLOCK_AUDIT)
    with pytest.raises(AuditError):
        await services.audit.record(actor="x", role="agent", action="case.view")

    assert (await services.check_readiness())["audit"] is False
    assert (await services.check_readiness())["audit"] is True  # no new failure since the last probe


# --- periodic services -------------------------------------------------------------------------------------------


async def test_a_periodic_service_keeps_running_after_a_failure_and_stops_cleanly() -> None:
    calls: list[str] = []
    third = asyncio.Event()

    async def work() -> None:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        if len(calls) == 3:
            third.set()

    service = PeriodicService("test", 0.01, work)
    await service.start()
    await asyncio.wait_for(third.wait(), 10)
    await service.stop()
    runs = service.runs
    await asyncio.sleep(0.05)

    assert runs >= 3
    assert service.runs == runs  # stopped: no more runs
    assert calls[:3] == ["run", "run", "run"]


async def test_vault_purge_shreds_expired_secrets_and_is_audited(services: Services, clock: FixedClock) -> None:
    await services.vault.seal_many(
        [
            SealRequest("CREDIT_CARD", Sensitive("4111111111111111"), "test", retention_days=1),
            SealRequest("CREDIT_CARD", Sensitive("5555555555554444"), "test", retention_days=30),
        ]
    )
    clock.advance(2 * 86_400)
    service = vault_purge_service(services)

    await service.run_once()

    assert await _events(services.database, "vault.purge") == [("system", "success", "secrets=1", None)]
    remaining = await services.database.fetch_one("SELECT COUNT(*) AS n FROM secrets")
    assert remaining is not None
    assert remaining["n"] == 1


async def test_session_purge_ends_expired_sessions(services: Services, clock: FixedClock) -> None:
    identity = services.identity
    link = await identity.accounts.add("agnes", Role.AGENT, actor=OPERATOR)
    token = link.url.reveal().rsplit("/", 1)[1]
    challenge = await identity.enrolment.begin(token)
    await identity.enrolment.complete(token, Sensitive(PASSWORD), code_at(challenge.secret, clock.now()))
    clock.advance(30)
    await identity.authenticator.login("agnes", Sensitive(PASSWORD), code_at(challenge.secret, clock.now()))
    clock.advance(services.settings.session_idle_seconds)
    service = session_purge_service(services)

    await service.run_once()

    assert [(a, o, r) for a, o, _, r in await _events(services.database, "session.end")] == [
        ("agnes", "success", "idle timeout")
    ]


async def test_audit_service_verifies_then_stores_a_checkpoint(services: Services) -> None:
    service = audit_checkpoint_service(services)

    await service.run_once()

    last = services.chain_check.last
    assert last is not None
    assert last.result is not None
    assert last.result.ok
    assert last.started_by == "system"
    checkpoints = await services.database.fetch_all("SELECT sequence FROM audit_checkpoints")
    assert len(checkpoints) == 1


async def test_audit_service_never_signs_a_tampered_chain(services: Services) -> None:
    await services.audit.record(actor="agnes", role="agent", action="case.view", target="case:1")
    async with services.database.transaction() as conn:
        for (name,) in await (await conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")).fetchall():
            await conn.execute(f'DROP TRIGGER "{name}"')
        await conn.execute("UPDATE audit_events SET target = 'case:2' WHERE target = 'case:1'")
    service = audit_checkpoint_service(services)

    await service.run_once()

    last = services.chain_check.last
    assert last is not None
    assert last.result is not None
    assert not last.result.ok
    assert await services.database.fetch_all("SELECT sequence FROM audit_checkpoints") == []
