"""PolicyHolder: reload parses fully then swaps one reference; an invalid file or a refused change keeps the old."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.errors import AuditError, PolicyError
from securedesk.policy import Action, Policy, PolicyHolder

WritePolicy = Callable[..., Path]


async def test_reload_swaps_to_the_new_policy(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    holder = PolicyHolder.load(path)
    first = holder.current
    assert first.rule("CREDIT_CARD", "chat").action is Action.REDACT
    path.write_text(minimal.replace('"redact"', '"block"'), encoding="utf-8")
    second = await holder.reload()
    assert holder.current is second
    assert second.rule("CREDIT_CARD", "chat").action is Action.BLOCK
    assert second.digest != first.digest
    # The old object is untouched: anyone still holding it sees a consistent policy.
    assert first.rule("CREDIT_CARD", "chat").action is Action.REDACT


async def test_reload_from_another_path(write_policy: WritePolicy, minimal: str) -> None:
    holder = PolicyHolder.load(write_policy(minimal, "a.toml"))
    other = write_policy(minimal.replace('"redact"', '"vault"'), "b.toml")
    new = await holder.reload(other)
    assert new.source == other
    assert holder.current.rule("IBAN_CODE", "form").action is Action.VAULT


async def test_invalid_reload_keeps_the_old_policy(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    holder = PolicyHolder.load(path)
    old = holder.current
    path.write_text(minimal.replace('"redact"', '"mask"') + "[channels.sms]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        await holder.reload()
    assert len(caught.value.problems) == 2
    assert holder.current is old
    path.write_text("not toml = = =\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        await holder.reload()
    path.unlink()
    with pytest.raises(PolicyError):
        await holder.reload()
    assert holder.current is old


async def test_on_change_runs_before_the_swap_with_old_and_new(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    seen: list[tuple[Policy, Policy, Policy]] = []

    async def record(old: Policy, new: Policy) -> None:
        seen.append((old, new, holder.current))

    holder = PolicyHolder.load(path, on_change=record)
    original = holder.current
    path.write_text(minimal.replace("0.5", "0.8"), encoding="utf-8")
    new = await holder.reload()
    ((old_arg, new_arg, current_during_hook),) = seen
    assert old_arg is original
    assert new_arg is new
    assert current_during_hook is original  # not yet swapped while the hook (the audit write) runs
    assert holder.current is new


async def test_a_refused_change_keeps_the_old_policy(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)

    async def audit_down(old: Policy, new: Policy) -> None:
        raise AuditError("audit log unavailable")

    holder = PolicyHolder.load(path, on_change=audit_down)
    old = holder.current
    path.write_text(minimal.replace('"redact"', '"allow"'), encoding="utf-8")
    with pytest.raises(AuditError):
        await holder.reload()
    assert holder.current is old


async def test_on_change_not_called_for_an_invalid_file(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    calls: list[Policy] = []

    async def record(old: Policy, new: Policy) -> None:
        calls.append(new)

    holder = PolicyHolder.load(path, on_change=record)
    path.write_text("[defaults]\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        await holder.reload()
    assert calls == []


async def test_concurrent_reloads_are_serialized(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    active = 0
    overlaps = 0

    async def slow_hook(old: Policy, new: Policy) -> None:
        nonlocal active, overlaps
        active += 1
        overlaps += active > 1
        await asyncio.sleep(0.01)
        active -= 1

    holder = PolicyHolder.load(path, on_change=slow_hook)
    results = await asyncio.gather(*(holder.reload() for _ in range(5)))
    assert overlaps == 0
    assert holder.current is results[-1]
