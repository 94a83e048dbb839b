"""Served-domain checks, the retry schedule, auto-reply loop protection, and webhook signatures."""

from __future__ import annotations

import email
import email.policy

import pytest

from securedesk.channels.email.autoreply import build_auto_reply, reply_blocker
from securedesk.channels.email.ingress import is_served
from securedesk.channels.outbox.retry import RetrySchedule
from securedesk.channels.outbox.webhook import sign, verify_signature
from securedesk.config import Settings
from securedesk.errors import ConfigError
from securedesk.sensitive import Sensitive

SERVED = ("support.securedesk.test", "billing@other.test")


@pytest.mark.parametrize(
    ("address", "served"),
    [
        ("support@support.securedesk.test", True),
        ("Support@SUPPORT.securedesk.test", True),
        ("billing@other.test", True),
        ("sales@other.test", False),
        ("victim@example.org", False),
        ("user%victim.org@support.securedesk.test", False),
        ("host!user@support.securedesk.test", False),
        ("@relay:user@support.securedesk.test", False),
        ("support.securedesk.test", False),
        ("x@evil-support.securedesk.test", False),
    ],
)
def test_served_addresses(address: str, served: bool) -> None:
    assert is_served(address, SERVED) is served


def test_backoff_doubles_up_to_the_maximum_then_gives_up() -> None:
    schedule = RetrySchedule(60.0, 3600.0, 5 * 86400.0)
    assert [schedule.delay_after(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert schedule.delay_after(500) == 3600
    assert not schedule.gives_up(queued_at=0.0, now=5 * 86400.0 - 1)
    assert schedule.gives_up(queued_at=0.0, now=5 * 86400.0)


@pytest.mark.parametrize(("initial", "maximum", "give_up"), [(0, 1, 1), (2, 1, 1), (1, 2, 0)])
def test_backoff_settings_are_checked(initial: float, maximum: float, give_up: float) -> None:
    with pytest.raises(ConfigError):
        RetrySchedule(initial, maximum, give_up)


def _headers(**fields: str) -> email.message.Message:
    msg = email.message.Message()
    for name, value in fields.items():
        msg[name.replace("_", "-")] = value
    return msg


@pytest.mark.parametrize(
    ("sender", "headers", "blocker"),
    [
        ("jane@example.com", {}, None),
        ("jane@example.com", {"Auto_Submitted": "no"}, None),
        ("", {}, "null or invalid sender (bounce)"),
        ("MAILER-DAEMON@example.com", {}, "sender is a mail robot"),
        ("owner-list@example.com", {}, "sender is a mail robot"),
        ("list-request@example.com", {}, "sender is a mail robot"),
        ("jane@example.com", {"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ("jane@example.com", {"List_Id": "<x.example.com>"}, "mailing list"),
        ("jane@example.com", {"Precedence": "bulk"}, "Precedence"),
        ("jane@example.com", {"X_Auto_Response_Suppress": "OOF, AutoReply"}, "X-Auto-Response-Suppress"),
    ],
)
def test_auto_reply_loop_protection(sender: str, headers: dict[str, str], blocker: str | None) -> None:
    assert reply_blocker(sender, _headers(**headers)) == blocker


@pytest.mark.parametrize("lang", ["en", "fr", "sv"])
def test_auto_reply_is_localized_and_quotes_nothing(lang: str) -> None:
    reply = build_auto_reply(
        Settings(),
        to="Jane@Example.com",
        lang=lang,
        nudge=None,
        blocked=False,
        entities={"CREDIT_CARD": 1},
        case_reference="SD-BCDFGH",
        in_reply_to="<orig@example.com>",
        message_id="<r@x>",
        now=1_800_000_000.0,
    )
    msg = email.message_from_bytes(reply.content, policy=email.policy.default)
    assert reply.reply_to == "jane@example.com"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Content-Language"] == lang
    assert msg["In-Reply-To"] == "<orig@example.com>"
    assert str(msg["Subject"]).startswith("[SD-BCDFGH] ")
    body = msg.get_content()
    assert "https://localhost:8443/form" in body
    first_words = {"en": "For your safety", "fr": "Pour votre sécurité", "sv": "För din säkerhet"}[lang]
    assert body.startswith(first_words)


def test_webhook_signature_binds_timestamp_and_body() -> None:
    secret = Sensitive("k" * 32)
    signature = sign(secret, "1800000000", b'{"a":1}')
    assert signature.startswith("sha256=")
    assert verify_signature(secret, timestamp="1800000000", body=b'{"a":1}', signature=signature, now=1_800_000_100)
    assert not verify_signature(secret, timestamp="1800000000", body=b'{"a":2}', signature=signature, now=1.8e9)
    assert not verify_signature(secret, timestamp="1800000001", body=b'{"a":1}', signature=signature, now=1.8e9)
    assert not verify_signature(secret, timestamp="1800000000", body=b'{"a":1}', signature=signature, now=1.8e9 + 301)
