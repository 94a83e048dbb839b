"""Chat through the Screener: numbers typed across messages are masked in the message that completes them, the
earlier messages holding parts are retracted (with their masked text), and the policy applies to them as usual."""

from __future__ import annotations

import pytest
from screening_support import (
    FailingDetector,
    MakeCase,
    MakeScreener,
    WritePolicy,
    audit_rows,
    secret_count,
    uniform_policy,
)

from securedesk import messages
from securedesk.clock import FixedClock
from securedesk.detection import Detector
from securedesk.screening import ChatScreened, Decision, HoldReason, Retraction, Screener
from securedesk.storage.database import Database

BASE = {
    "form_url": "https://desk.example/forms",
    "lookup_url": "https://desk.example/lookup",
    "callback_url": "https://desk.example/callback",
}


async def chat(
    screener: Screener, *texts: str, conversation: str = "conv", case_id: str | None = None, lang: str | None = None
) -> list[ChatScreened]:
    return [
        await screener.screen_chat(conversation, f"m{index}", text, lang=lang, case_id=case_id, sender="customer")
        for index, text in enumerate(texts, start=1)
    ]


def delivered_view(results: list[ChatScreened], texts: tuple[str, ...]) -> str:
    """What the agent ends up seeing: each message's delivered text, replaced where a retraction came later."""
    shown = {f"m{i}": r.text for i, r in enumerate(results, start=1)}
    for result in results:
        for replacement in result.replacements:
            shown[replacement.message_id] = replacement.text
    return " ".join(shown[f"m{i}"] for i in range(1, len(texts) + 1))


async def test_two_fragments(make_screener: MakeScreener, detector: Detector, db: Database) -> None:
    texts = ("my card is 4111 1111", "1111 1111 thanks")
    first, second = await chat(make_screener(), *texts)

    assert (first.decision, first.text, first.retract, first.hold_fragment) == (
        Decision.DELIVER,
        "my card is 4111 1111",
        (),
        True,
    )
    assert second.decision is Decision.DELIVER_WITH_NUDGE
    assert second.text == "[CARD •••• 1111] thanks"
    assert dict(second.screened.entities) == {"CREDIT_CARD": 1}
    assert second.retract == ("m1",)
    assert second.replacements == (Retraction("m1", "my card is [CARD ••••]"),)
    assert second.hold_fragment is False
    assert second.screened.nudge == messages.render("nudge.removed", "en", **BASE)
    rows = await audit_rows(db)
    assert [(r["action"], r["reason"]) for r in rows] == [
        ("screening.redact", "decision=deliver_with_nudge; CREDIT_CARD=1; actions=redact; cross_message=1")
    ]
    # What the agent sees in the end holds no number the policy removes.
    assert detector.analyze(delivered_view([first, second], texts), "en", min_score=0.5) == []


async def test_three_fragments(make_screener: MakeScreener, detector: Detector) -> None:
    texts = ("4111", "1111 1111", "1111")
    results = await chat(make_screener(), *texts)

    assert [r.retract for r in results] == [(), (), ("m1", "m2")]
    assert [r.hold_fragment for r in results] == [True, True, False]
    assert results[2].text == "[CARD •••• 1111]"
    assert results[2].replacements == (Retraction("m1", "[CARD ••••]"), Retraction("m2", "[CARD ••••]"))
    assert detector.analyze(delivered_view(results, texts), "en", min_score=0.5) == []


async def test_four_fragments_in_french(make_screener: MakeScreener, detector: Detector) -> None:
    texts = ("Bonjour, ma carte bancaire est 5555", "5555", "5555", "4444 merci beaucoup")
    results = await chat(make_screener(), *texts)

    last = results[3]
    assert last.retract == ("m1", "m2", "m3")
    assert last.text == "[CARD •••• 4444] merci beaucoup"
    assert last.replacements[0] == Retraction("m1", "Bonjour, ma carte bancaire est [CARD ••••]")
    assert last.screened.lang == "fr"
    assert last.screened.nudge == messages.render("nudge.removed", "fr", **BASE)
    assert detector.analyze(delivered_view(results, texts), "fr", min_score=0.5) == []


async def test_a_swedish_personnummer_in_two_messages(make_screener: MakeScreener) -> None:
    _, second = await chat(make_screener(), "Mitt personnummer är 811218", "9876 tack")

    assert second.text == "[PERSONNUMMER •••• 9876] tack"
    assert second.replacements == (Retraction("m1", "Mitt personnummer är [PERSONNUMMER ••••]"),)
    assert second.screened.lang == "sv"


@pytest.mark.parametrize(
    "texts",
    [
        ("Order 1234 5678 shipped?", "9012 3456"),
        ("my order is 4111 1111", "and my ticket 1111 1111"),
        ("Call me on 070 123 45 67", "or 070 765 43 21"),
        ("Room 4111 1111", "1111 1112"),
    ],
)
async def test_unrelated_numbers_are_delivered_as_they_are(
    texts: tuple[str, ...], make_screener: MakeScreener, db: Database
) -> None:
    results = await chat(make_screener(), *texts)

    assert [(r.decision, r.text, r.retract) for r in results] == [(Decision.DELIVER, t, ()) for t in texts]
    assert await audit_rows(db) == []


@pytest.mark.parametrize(("seconds", "joined"), [(119.0, True), (121.0, False)])
async def test_the_window_is_measured_on_the_injected_clock(
    seconds: float, joined: bool, make_screener: MakeScreener, clock: FixedClock
) -> None:
    screener = make_screener()
    await screener.screen_chat("conv", "m1", "4111 1111", lang="en", case_id=None, sender=None)
    clock.advance(seconds)

    second = await screener.screen_chat("conv", "m2", "1111 1111", lang="en", case_id=None, sender=None)

    assert (second.retract == ("m1",)) is joined
    assert second.text == ("[CARD •••• 1111]" if joined else "1111 1111")


async def test_conversations_do_not_mix(make_screener: MakeScreener) -> None:
    screener = make_screener()
    await screener.screen_chat("alice", "a1", "4111 1111", lang="en", case_id=None, sender=None)

    other = await screener.screen_chat("bob", "b1", "1111 1111", lang="en", case_id=None, sender=None)

    assert (other.text, other.retract) == ("1111 1111", ())


async def test_a_split_card_is_blocked_when_the_policy_blocks(
    make_screener: MakeScreener, write_policy: WritePolicy, db: Database
) -> None:
    screener = make_screener(write_policy(uniform_policy("block")))
    first, second = await chat(screener, "card 4111 1111", "1111 1111")

    assert first.decision is Decision.DELIVER
    assert second.decision is Decision.BLOCK
    assert second.retract == ("m1",)
    assert second.screened.block_notice == messages.render(
        "block.refused", "en", contents="a payment card number", **BASE
    )
    assert [r["action"] for r in await audit_rows(db)] == ["screening.block"]
    # Nothing of a blocked message can join the next one.
    third = await screener.screen_chat("conv", "m3", "1111", lang="en", case_id=None, sender=None)
    assert third.retract == ()


async def test_a_split_card_is_vaulted_once_per_case(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    screener = make_screener(write_policy(uniform_policy("vault")))
    case_id = await make_case("case_1")
    _, second = await chat(screener, "card 4111 1111", "1111 1111", case_id=case_id)
    whole = await screener.screen_chat(
        "conv", "m3", "again: 4111 1111 1111 1111", lang="en", case_id=case_id, sender=None
    )

    assert [(ref.kind, ref.last4) for ref in second.screened.secrets] == [("CREDIT_CARD", "1111")]
    assert whole.screened.secrets == second.screened.secrets
    assert await secret_count(db) == 1


async def test_a_held_message_leaves_the_conversation_as_it_was(
    make_screener: MakeScreener, detector: Detector, db: Database
) -> None:
    failing = FailingDetector(detector)
    screener = make_screener(None, failing)
    await screener.screen_chat("conv", "m1", "4111 1111", lang="en", case_id=None, sender=None)
    failing._error = RuntimeError("boom")
    held = await screener.screen_chat("conv", "m2", "1111 1111", lang="en", case_id=None, sender=None)
    failing._error = None

    again = await screener.screen_chat("conv", "m3", "1111 1111", lang="en", case_id=None, sender=None)

    assert (held.decision, held.text, held.screened.held_reason, held.hold_fragment) == (
        Decision.HOLD,
        "",
        HoldReason.DETECTION_FAILED,
        False,
    )
    assert (again.text, again.retract) == ("[CARD •••• 1111]", ("m1",))
    assert screener.holds == 1


async def test_a_chat_message_needs_its_ids(make_screener: MakeScreener) -> None:
    from securedesk.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await make_screener().screen_chat("", "m1", "hello", lang="en", case_id=None, sender=None)


async def test_chat_messages_with_a_whole_number_still_join_nothing_extra(make_screener: MakeScreener) -> None:
    first, second = await chat(make_screener(), "card 4111 1111 1111 1111", "1234")

    assert (first.text, first.hold_fragment) == ("card [CARD •••• 1111]", False)
    assert (second.text, second.retract) == ("1234", ())
