"""``FragmentHolder``: held messages leave in order — when their time is up, when the conversation moves on, or masked
when a later message completes the number."""

from __future__ import annotations

import pytest

from securedesk.channels.chat import FragmentHolder
from securedesk.errors import ConfigError


def ids(released: list) -> list[str]:  # type: ignore[type-arg]
    return [held.message_id for held in released]


def holder_with(*message_ids: str, start: float = 100.0, step: float = 0.5) -> FragmentHolder[str]:
    holder: FragmentHolder[str] = FragmentHolder(2.0)
    for index, message_id in enumerate(message_ids):
        holder.hold(message_id, f"item-{message_id}", f"text-{message_id}", now=start + index * step)
    return holder


@pytest.mark.parametrize(
    ("now", "released", "left"),
    [
        (101.9, [], ["m1", "m2", "m3"]),
        (102.0, ["m1"], ["m2", "m3"]),
        (102.5, ["m1", "m2"], ["m3"]),
        (103.0, ["m1", "m2", "m3"], []),
        (500.0, ["m1", "m2", "m3"], []),
    ],
)
def test_release_due_is_by_deadline_in_order(now: float, released: list[str], left: list[str]) -> None:
    holder = holder_with("m1", "m2", "m3")

    assert ids(holder.release_due(now)) == released
    assert [held.message_id for held in holder] == left
    deadlines = {"m1": 102.0, "m2": 102.5, "m3": 103.0}
    assert holder.next_deadline() == (deadlines[left[0]] if left else None)


@pytest.mark.parametrize(
    ("pending", "released"),
    [
        ((), ["m1", "m2", "m3"]),
        (("m1", "m2", "m3"), []),
        (("m2", "m3"), ["m1"]),
        (("m3",), ["m1", "m2"]),
        # m2 can no longer be joined: it leaves, and m1 before it (order is kept), although m1 is still pending.
        (("m1", "m3"), ["m1", "m2"]),
    ],
)
def test_release_unless_keeps_only_what_can_still_be_joined(pending: tuple[str, ...], released: list[str]) -> None:
    holder = holder_with("m1", "m2", "m3")

    assert ids(holder.release_unless(pending)) == released
    assert len(holder) == 3 - len(released)


def test_replace_masks_a_held_message_and_reports_it() -> None:
    holder = holder_with("m1", "m2")

    assert holder.replace("m1", "my card is [CARD ••••]") is True
    assert holder.replace("gone", "x") is False
    first, second = holder.release_all()

    assert (first.message_id, first.text, first.retracted, first.item) == (
        "m1",
        "my card is [CARD ••••]",
        True,
        "item-m1",
    )
    assert (second.text, second.retracted) == ("text-m2", False)
    assert len(holder) == 0


def test_a_message_is_held_once_and_the_hold_cannot_be_negative() -> None:
    holder = holder_with("m1")
    with pytest.raises(ValueError, match="already held"):
        holder.hold("m1", "again", "again", now=0.0)
    with pytest.raises(ConfigError):
        FragmentHolder(-1.0)
    assert "m1" in holder
    assert "m2" not in holder
