"""Policy applied by the Screener: every action on every channel, nudges, thresholds, allow-lists, conflicts."""

from __future__ import annotations

import itertools

import pytest
from screening_support import MakeCase, MakeScreener, WritePolicy, audit_rows, secret_count, uniform_policy

from securedesk import messages
from securedesk.detection import Detector
from securedesk.metrics import Metrics
from securedesk.policy import CHANNELS, Action
from securedesk.screening import Decision, strictest
from securedesk.storage.database import Database

TEXT = "Hi, my card is 4111 1111 1111 1111 and my SSN is 123-45-6789."
REDACTED = "Hi, my card is [CARD •••• 1111] and my SSN is [SSN •••• 6789]."
LINKS = {
    "form_url": "https://desk.example/forms",
    "lookup_url": "https://desk.example/lookup",
    "callback_url": "https://desk.example/callback",
}
NUDGE_EN = messages.render("nudge.removed", "en", **LINKS)
BLOCK_EN = messages.render(
    "block.refused", "en", contents="a payment card number and a US Social Security number", **LINKS
)


@pytest.mark.parametrize(
    ("action", "channel"), list(itertools.product(("redact", "vault", "block", "allow"), CHANNELS))
)
async def test_every_action_on_every_channel(
    action: str,
    channel: str,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    make_case: MakeCase,
    db: Database,
) -> None:
    screener = make_screener(write_policy(uniform_policy(action)))
    case_id = await make_case("case_1")

    screened = await screener.screen(TEXT, channel=channel, lang="en", case_id=case_id, sender="c@example.com")

    rows = await audit_rows(db)
    assert screened.lang == "en"
    assert screened.held_reason is None
    if action == "allow":
        assert (screened.decision, screened.text, dict(screened.entities)) == (Decision.DELIVER, TEXT, {})
        assert (screened.secrets, screened.nudge, rows) == ((), None, [])
        return
    assert screened.text == REDACTED
    assert dict(screened.entities) == {"CREDIT_CARD": 1, "US_SSN": 1}
    assert len(rows) == 1
    assert (rows[0]["actor"], rows[0]["role"], rows[0]["channel"], rows[0]["target"]) == (
        "screening",
        "system",
        channel,
        case_id,
    )
    if action == "block":
        assert screened.decision is Decision.BLOCK
        assert not screened.delivered
        assert screened.nudge == screened.block_notice == BLOCK_EN
        assert screened.secrets == ()
        assert await secret_count(db) == 0
        assert (rows[0]["action"], rows[0]["outcome"]) == ("screening.block", "denied")
        assert rows[0]["reason"] == "decision=block; CREDIT_CARD=1 US_SSN=1; actions=block"
        return
    assert screened.decision is Decision.DELIVER_WITH_NUDGE
    assert screened.nudge == NUDGE_EN
    assert screened.block_notice is None
    assert (rows[0]["action"], rows[0]["outcome"]) == ("screening.redact", "success")
    if action == "redact":
        assert screened.secrets == ()
        assert await secret_count(db) == 0
        assert rows[0]["reason"] == "decision=deliver_with_nudge; CREDIT_CARD=1 US_SSN=1; actions=redact"
    else:
        assert [(ref.kind, ref.brand, ref.last4) for ref in screened.secrets] == [
            ("CREDIT_CARD", "VISA", "1111"),
            ("US_SSN", None, "6789"),
        ]
        assert await secret_count(db) == 2
        assert rows[0]["reason"] == (
            "decision=deliver_with_nudge; CREDIT_CARD=1 US_SSN=1; actions=vault; vaulted=2 new=2"
        )


@pytest.mark.parametrize("action", ["redact", "vault"])
async def test_without_nudge_the_decision_is_deliver(
    action: str, make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase
) -> None:
    screener = make_screener(write_policy(uniform_policy(action, nudge=False)))

    screened = await screener.screen(TEXT, channel="chat", lang="en", case_id=await make_case("c"), sender=None)

    assert (screened.decision, screened.text, screened.nudge) == (Decision.DELIVER, REDACTED, None)


async def test_text_without_sensitive_data_is_delivered_unchanged_and_not_audited(
    make_screener: MakeScreener, db: Database
) -> None:
    text = "Hello, my order 12345 has not arrived. Call me on +46 70 123 45 67."
    screened = await make_screener().screen(text, channel="email", lang=None, case_id=None, sender=None)

    assert (screened.decision, screened.text, dict(screened.entities), screened.secrets) == (
        Decision.DELIVER,
        text,
        {},
        (),
    )
    assert await audit_rows(db) == []


async def test_the_shipped_default_policy_per_channel(make_screener: MakeScreener, make_case: MakeCase) -> None:
    """default.toml: chat, email and the screening API redact with a nudge, the form vaults silently, the help desk
    redacts IBANs."""
    screener = make_screener()
    case_id = await make_case("case_1")
    text = "Card 4111 1111 1111 1111 and IBAN GB82 WEST 1234 5698 7654 32"
    masked = "Card [CARD •••• 1111] and IBAN [IBAN •••• 5432]"
    outcomes = {}
    for channel in CHANNELS:
        screened = await screener.screen(text, channel=channel, lang="en", case_id=case_id, sender=None)
        outcomes[channel] = (screened.decision, screened.text, [ref.kind for ref in screened.secrets])
    assert outcomes == {
        "chat": (Decision.DELIVER_WITH_NUDGE, masked, ["IBAN_CODE"]),
        "email": (Decision.DELIVER_WITH_NUDGE, masked, ["IBAN_CODE"]),
        "form": (Decision.DELIVER, masked, ["CREDIT_CARD", "IBAN_CODE"]),
        "webhook": (Decision.DELIVER, masked, []),
        "api": (Decision.DELIVER_WITH_NUDGE, masked, ["IBAN_CODE"]),
    }


@pytest.mark.parametrize(
    ("card", "ssn", "decision", "kinds"),
    [
        ("vault", "block", Decision.BLOCK, []),  # block wins: nothing is sealed for a refused message
        ("block", "redact", Decision.BLOCK, []),
        ("redact", "vault", Decision.DELIVER_WITH_NUDGE, ["US_SSN"]),
        ("allow", "vault", Decision.DELIVER_WITH_NUDGE, ["US_SSN"]),
        ("allow", "redact", Decision.DELIVER_WITH_NUDGE, []),
    ],
)
async def test_the_strictest_action_decides_the_message(
    card: str,
    ssn: str,
    decision: Decision,
    kinds: list[str],
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    make_case: MakeCase,
    db: Database,
) -> None:
    policy = uniform_policy(
        "redact", extra=f'[entities.CREDIT_CARD]\naction = "{card}"\n[entities.US_SSN]\naction = "{ssn}"\n'
    )
    screener = make_screener(write_policy(policy))

    screened = await screener.screen(TEXT, channel="chat", lang="en", case_id=await make_case("c"), sender=None)

    assert screened.decision is decision
    assert [ref.kind for ref in screened.secrets] == kinds
    assert await secret_count(db) == len(kinds)
    expected_text = REDACTED if card != "allow" else "Hi, my card is 4111 1111 1111 1111 and my SSN is [SSN •••• 6789]."
    assert screened.text == expected_text


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((), Action.ALLOW),
        ((Action.ALLOW,), Action.ALLOW),
        ((Action.REDACT, Action.ALLOW), Action.REDACT),
        ((Action.REDACT, Action.VAULT), Action.VAULT),
        ((Action.VAULT, Action.BLOCK, Action.REDACT), Action.BLOCK),
        ((Action.BLOCK, Action.ALLOW), Action.BLOCK),
    ],
)
def test_strictest_orders_block_vault_redact_allow(actions: tuple[Action, ...], expected: Action) -> None:
    for permutation in itertools.permutations(actions):
        assert strictest(permutation) is expected


@pytest.mark.parametrize("text", ["Call me back about 8112189876 please", "number 123-45-6789"])
@pytest.mark.parametrize(("offset", "masked"), [(0.05, False), (0.0, True), (-0.05, True)])
async def test_thresholds(
    text: str,
    offset: float,
    masked: bool,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    detector: Detector,
) -> None:
    """A finding counts when its score reaches the rule's threshold (inclusive), whatever the score is."""
    (finding,) = detector.analyze(text, "en", min_score=0.0)
    threshold = round(finding.score + offset, 4)
    screener = make_screener(write_policy(uniform_policy("redact", threshold=threshold)))

    screened = await screener.screen(text, channel="chat", lang="en", case_id=None, sender=None)

    assert (screened.text != text) is masked
    assert (screened.decision is Decision.DELIVER_WITH_NUDGE) is masked


@pytest.mark.parametrize(
    ("entity", "listed", "text", "expected"),
    [
        # Separators, case and the 12-digit personnummer form do not matter: values are compared normalized.
        (
            "CREDIT_CARD",
            "4111 1111 1111 1111",
            "sandbox card 4111-1111-1111-1111, real card 5555 5555 5555 4444",
            "sandbox card 4111-1111-1111-1111, real card [CARD •••• 4444]",
        ),
        (
            "IBAN_CODE",
            "SE45 5000 0000 0583 9825 7466",
            "Pay to SE4550000000058398257466 please",
            "Pay to SE4550000000058398257466 please",
        ),
        (
            "SE_PERSONNUMMER",
            "19811218-9876",
            "Mitt personnummer är 811218-9876",
            "Mitt personnummer är 811218-9876",
        ),
    ],
)
async def test_allow_listed_values_stay_in_the_text(
    entity: str,
    listed: str,
    text: str,
    expected: str,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    db: Database,
) -> None:
    policy = uniform_policy("vault", extra=f'[entities.{entity}]\nallow_values = ["{listed}"]\n')
    screener = make_screener(write_policy(policy))

    screened = await screener.screen(text, channel="chat", lang=None, case_id=None, sender=None)

    assert screened.text == expected
    masked = expected != text
    assert screened.decision is (Decision.DELIVER_WITH_NUDGE if masked else Decision.DELIVER)
    assert await secret_count(db) == (1 if masked else 0)


async def test_a_policy_reload_applies_to_the_next_message(
    make_screener: MakeScreener, write_policy: WritePolicy, tmp_path: object
) -> None:
    holder = write_policy(uniform_policy("redact"))
    screener = make_screener(holder)
    assert (await screener.screen(TEXT, channel="chat", lang="en", case_id=None, sender=None)).decision is (
        Decision.DELIVER_WITH_NUDGE
    )

    holder.current.source.write_text(uniform_policy("block"), encoding="utf-8")
    await holder.reload()

    assert (await screener.screen(TEXT, channel="chat", lang="en", case_id=None, sender=None)).decision is (
        Decision.BLOCK
    )


@pytest.mark.parametrize("channel", ["sms", "", "Chat"])
async def test_an_unknown_channel_is_a_caller_error(channel: str, make_screener: MakeScreener) -> None:
    from securedesk.errors import InvalidInput

    with pytest.raises(InvalidInput, match="Unknown channel"):
        await make_screener().screen(TEXT, channel=channel, lang="en", case_id=None, sender=None)


async def test_metrics_count_messages_entity_types_decisions_and_latency(
    make_screener: MakeScreener, metrics: Metrics
) -> None:
    screener = make_screener()
    await screener.screen(TEXT, channel="chat", lang="en", case_id=None, sender=None)
    await screener.screen("Hello there", channel="chat", lang="en", case_id=None, sender=None)
    await screener.screen("no digits, no language given", channel="email", lang=None, case_id=None, sender=None)

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert sample("securedesk_messages_screened_total", channel="chat") == 2
    assert sample("securedesk_messages_screened_total", channel="email") == 1
    assert sample("securedesk_entities_detected_total", channel="chat", entity_type="CREDIT_CARD") == 1
    assert sample("securedesk_entities_detected_total", channel="chat", entity_type="US_SSN") == 1
    assert sample("securedesk_screening_decisions_total", channel="chat", decision="deliver_with_nudge") == 1
    assert sample("securedesk_screening_decisions_total", channel="chat", decision="deliver") == 1
    assert sample("securedesk_screening_duration_seconds_count", channel="chat") == 2
    assert screener.screened == 3
    assert screener.holds == 0
    assert "4111" not in metrics.render().decode()
