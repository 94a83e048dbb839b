"""How defaults, channel, entity and entity-channel tables combine into the rule of every entity on every channel."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.errors import PolicyError
from securedesk.policy import CHANNELS, ENTITY_TYPES, Action, Rule, attachment_class, load_policy

WritePolicy = Callable[..., Path]

DEFAULT_RULE = Rule(
    action=Action.REDACT, threshold=0.5, retention_days=30, reveal_roles=frozenset({"compliance"}), nudge=True
)
# For each action, a defaults action that differs from it, so an override is visible.
OTHER_ACTION = {Action.REDACT: "block", Action.VAULT: "redact", Action.BLOCK: "allow", Action.ALLOW: "vault"}


def _header(level: str, entity: str, channel: str) -> str:
    return {
        "channel": f"[channels.{channel}]",
        "entity": f"[entities.{entity}]",
        "entity_channel": f"[entities.{entity}.channels.{channel}]",
    }[level]


@pytest.mark.parametrize("level", ["channel", "entity", "entity_channel"])
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("action", list(Action))
def test_override_matrix(write_policy: WritePolicy, minimal: str, action: Action, channel: str, level: str) -> None:
    base = OTHER_ACTION[action]
    entity = "SE_PERSONNUMMER"
    path = write_policy(
        minimal.replace('action = "redact"', f'action = "{base}"')
        + f'\n{_header(level, entity, channel)}\naction = "{action.value}"\n'
    )
    policy = load_policy(path)
    for each_entity in ENTITY_TYPES:
        for each_channel in CHANNELS:
            overridden = {
                "channel": each_channel == channel,
                "entity": each_entity == entity,
                "entity_channel": each_entity == entity and each_channel == channel,
            }[level]
            expected = action if overridden else Action(base)
            assert policy.rule(each_entity, each_channel).action is expected, (each_entity, each_channel)
    assert policy.rule_count == len(ENTITY_TYPES) * len(CHANNELS) == 25


def test_minimal_policy_gives_defaults_everywhere(write_policy: WritePolicy, minimal: str) -> None:
    policy = load_policy(write_policy(minimal))
    assert all(policy.rule(e, c) == DEFAULT_RULE for e in ENTITY_TYPES for c in CHANNELS)
    assert policy.name == "p"  # no [policy] name: the file's stem
    assert policy.email.auto_reply is False
    assert policy.allow_values == {}


def test_more_specific_level_wins_key_by_key(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(
        minimal
        + """
        [channels.chat]
        action = "block"
        threshold = 0.9
        nudge = false

        [entities.CREDIT_CARD]
        action = "vault"
        retention_days = 7

        [entities.CREDIT_CARD.channels.chat]
        reveal_roles = ["agent", "admin"]
        """
    )
    policy = load_policy(path)
    # chat sets action/threshold/nudge; the entity's action beats the channel's; entity-channel adds the roles.
    assert policy.rule("CREDIT_CARD", "chat") == Rule(
        action=Action.VAULT,
        threshold=0.9,
        retention_days=7,
        reveal_roles=frozenset({"agent", "admin"}),
        nudge=False,
    )
    assert policy.rule("CREDIT_CARD", "email") == Rule(
        action=Action.VAULT, threshold=0.5, retention_days=7, reveal_roles=frozenset({"compliance"}), nudge=True
    )
    assert policy.rule("US_SSN", "chat") == Rule(
        action=Action.BLOCK, threshold=0.9, retention_days=30, reveal_roles=frozenset({"compliance"}), nudge=False
    )
    assert policy.rule("US_SSN", "form") == DEFAULT_RULE
    assert policy.rules_for("chat")["CREDIT_CARD"].action is Action.VAULT
    assert policy.rule("CREDIT_CARD", "chat").may_reveal("agent")
    assert not policy.rule("CREDIT_CARD", "chat").may_reveal("compliance")


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("1", 1.0), ("0.75", 0.75), ("1.0", 1.0)])
def test_threshold_bounds_are_inclusive_and_integers_accepted(
    write_policy: WritePolicy, minimal: str, value: str, expected: float
) -> None:
    policy = load_policy(write_policy(minimal.replace("threshold = 0.5", f"threshold = {value}")))
    assert policy.rule("IBAN_CODE", "webhook").threshold == expected


def test_empty_reveal_roles_means_nobody(write_policy: WritePolicy, minimal: str) -> None:
    policy = load_policy(write_policy(minimal.replace('["compliance"]', "[]")))
    rule = policy.rule("FR_NIR", "form")
    assert rule.reveal_roles == frozenset()
    assert not any(rule.may_reveal(role) for role in ("agent", "compliance", "admin"))


def test_unknown_entity_or_channel_at_runtime_is_refused(write_policy: WritePolicy, minimal: str) -> None:
    policy = load_policy(write_policy(minimal))
    with pytest.raises(PolicyError, match="No rule for entity type 'PASSPORT' on channel 'chat'"):
        policy.rule("PASSPORT", "chat")
    with pytest.raises(PolicyError, match="on channel 'sms'"):
        policy.rule("CREDIT_CARD", "sms")


def test_digest_is_sha256_of_the_file_bytes(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(minimal)
    assert load_policy(path).digest == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(minimal + "# a comment changes the digest\n", encoding="utf-8")
    assert load_policy(path).digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_policy_section_and_email(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(
        """
        [policy]
        name = "sandbox"
        format = 1
        description = "test"
        """
        + minimal
        + """
        [email]
        auto_reply = true
        [email.attachments]
        text = "screen"
        image = "quarantine"
        """
    )
    policy = load_policy(path)
    assert policy.name == "sandbox"
    assert policy.email.auto_reply is True
    attachments = policy.email.attachments
    assert attachments.for_class("text").value == "screen"
    assert attachments.for_class("image").value == "quarantine"
    assert attachments.for_class("archive").value == "withhold"  # not listed: withheld
    assert attachments.for_content_type("text/plain; charset=utf-8").value == "screen"
    assert attachments.for_content_type("image/jpeg").value == "quarantine"
    assert attachments.for_content_type("application/pdf").value == "withhold"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", "text"),
        ("TEXT/HTML; charset=utf-8", "text"),
        ("text/csv", "text"),
        ("message/rfc822", "text"),
        ("application/json", "text"),
        ("text/rtf", "document"),
        ("application/pdf", "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"),
        ("application/vnd.oasis.opendocument.spreadsheet", "document"),
        ("application/msword", "document"),
        ("image/png", "image"),
        ("image/heic", "image"),
        ("application/zip", "archive"),
        ("application/x-7z-compressed", "archive"),
        ("application/octet-stream", "other"),
        ("audio/mpeg", "other"),
        ("", "other"),
    ],
)
def test_attachment_classes(content_type: str, expected: str) -> None:
    assert attachment_class(content_type) == expected


@pytest.mark.parametrize("name", ["default.toml", "strict.toml"])
def test_shipped_policies_load(name: str) -> None:
    path = Path(__file__).resolve().parents[3] / "policies" / name
    policy = load_policy(path)
    assert policy.rule_count == 25
    assert policy.email.attachments.for_class("text").value == "screen"


def test_shipped_policies_say_what_the_docs_say() -> None:
    root = Path(__file__).resolve().parents[3] / "policies"
    default = load_policy(root / "default.toml")
    strict = load_policy(root / "strict.toml")
    for channel in ("chat", "email"):
        assert default.rule("CREDIT_CARD", channel).action is Action.REDACT
        assert default.rule("CREDIT_CARD", channel).nudge is True
        assert strict.rule("CREDIT_CARD", channel).action is Action.BLOCK
        assert strict.rule("US_SSN", channel).action is Action.BLOCK
    assert default.rule("CREDIT_CARD", "form").action is Action.VAULT
    assert default.rule("IBAN_CODE", "chat").action is Action.VAULT
    assert default.rule("IBAN_CODE", "webhook").action is Action.REDACT
    # strict keeps vaulted values for a shorter time than default, everywhere.
    for entity in ENTITY_TYPES:
        assert strict.rule(entity, "form").retention_days < default.rule(entity, "form").retention_days
