"""Conversation tokens: what the server issued reads back; anything altered, expired or signed with another key does
not; a KEK rotation keeps the conversations of the older version."""

from __future__ import annotations

import pytest

from securedesk.channels.chat.conversation_token import ConversationTokens, new_conversation_id
from securedesk.clock import FixedClock
from securedesk.errors import ConfigError
from securedesk.vault import Keyring

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(1, 33))


def tokens(clock: FixedClock, *keys: bytes, lifetime: int = 3_600) -> ConversationTokens:
    ring = Keyring({index: key for index, key in enumerate(keys, start=1)}, source="test")
    return ConversationTokens.from_keyring(ring, clock=clock, lifetime_seconds=lifetime)


def test_an_issued_token_reads_back_until_it_expires(clock: FixedClock) -> None:
    issuer = tokens(clock, KEY_1)
    conversation = new_conversation_id()
    token = issuer.issue(conversation)

    assert token.startswith(f"{conversation}.{int(clock.now()) + 3_600}.1.")
    assert issuer.read(token) == conversation
    clock.advance(3_599)
    assert issuer.read(token) == conversation
    clock.advance(1)
    assert issuer.read(token) is None


def tampered(token: str) -> list[str]:
    conversation, expires, version, mac = token.split(".")
    other = new_conversation_id()
    return [
        f"{other}.{expires}.{version}.{mac}",  # another conversation
        f"{conversation}.{int(expires) + 1}.{version}.{mac}",  # a later expiry
        f"{conversation}.{expires}.{version}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # a changed MAC
        f"{conversation}.{expires}.2.{mac}",  # a version the keyring does not hold
        f"{conversation}.{expires}.{version}",  # no MAC
        f"{conversation}.{expires}.{version}.{mac}.x",
        "",
        "case_x.1.1.abc",
        f"{conversation}.-5.{version}.{mac}",
        token + "A" * 200,
    ]


def test_altered_tokens_are_refused(clock: FixedClock) -> None:
    issuer = tokens(clock, KEY_1)
    token = issuer.issue(new_conversation_id())

    assert [issuer.read(bad) for bad in tampered(token)] == [None] * 10
    assert issuer.read(None) is None


def test_a_token_of_another_installation_is_refused(clock: FixedClock) -> None:
    token = tokens(clock, KEY_2).issue(new_conversation_id())
    assert tokens(clock, KEY_1).read(token) is None


def test_a_rotation_keeps_older_conversations_and_signs_with_the_newest_key(clock: FixedClock) -> None:
    conversation = new_conversation_id()
    old = tokens(clock, KEY_1).issue(conversation)
    rotated = tokens(clock, KEY_1, KEY_2)

    assert rotated.read(old) == conversation
    assert rotated.issue(conversation).split(".")[2] == "2"
    assert tokens(clock, KEY_2).read(old) is None  # version 1 destroyed: its conversations end


@pytest.mark.parametrize("bad", ["", "case_123", "conv_" + "0" * 24, "case_" + "0" * 24 + ".x"])
def test_only_conversation_ids_are_signed(clock: FixedClock, bad: str) -> None:
    with pytest.raises(ConfigError):
        tokens(clock, KEY_1).issue(bad)
