"""The automatic reply to a customer whose email carried a number we removed (or was refused), with loop protection.

RFC 3834: never answer automatic mail (``Auto-Submitted``), bounces (null sender, MAILER-DAEMON), mailing lists
(``List-Id``, ``Precedence: bulk/list/junk``) or anyone who asked not to get one; at most one reply per sender per
hour (counted in the outbox, so it holds across restarts). The reply is sent from the null sender with
``Auto-Submitted: auto-replied`` and never quotes the original, not even its subject.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage, Message
from typing import Final

from securedesk import messages
from securedesk.config import Settings

ONE_HOUR: Final = 3600.0
_ROBOT_LOCAL_PARTS: Final = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")
_BULK_PRECEDENCE: Final = frozenset({"bulk", "list", "junk", "auto_reply"})
_LIST_HEADERS: Final = ("List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Subscribe", "Mailing-List")


@dataclass(frozen=True)
class AutoReply:
    reply_to: str  # the customer address, lower case (also the once-an-hour key)
    message_id: str
    content: bytes


def reply_blocker(mail_from: str, headers: Message) -> str | None:
    """Why this message must not get an automatic reply, or ``None`` if it may (RFC 3834 §2)."""
    if not mail_from or "@" not in mail_from:
        return "null or invalid sender (bounce)"
    local = mail_from.rsplit("@", 1)[0].lower()
    if local in _ROBOT_LOCAL_PARTS or local.startswith("owner-") or local.endswith("-request"):
        return "sender is a mail robot"
    auto_submitted = str(headers.get("Auto-Submitted", "no") or "no").split(";", 1)[0].strip().lower()
    if auto_submitted != "no":
        return "Auto-Submitted"
    if any(headers.get(name) is not None for name in _LIST_HEADERS):
        return "mailing list"
    if str(headers.get("Precedence", "") or "").strip().lower() in _BULK_PRECEDENCE:
        return "Precedence"
    suppress = str(headers.get("X-Auto-Response-Suppress", "") or "").lower()
    if any(token.strip() in ("all", "autoreply", "oof") for token in suppress.split(",")):
        return "X-Auto-Response-Suppress"
    return None


def build_auto_reply(
    settings: Settings,
    *,
    to: str,
    lang: str,
    nudge: str | None,
    blocked: bool,
    entities: Mapping[str, int],
    case_reference: str,
    in_reply_to: str | None,
    message_id: str,
    now: float,
) -> AutoReply:
    """The reply: localized text from ``securedesk.messages`` (or the Screener's nudge) and the case reference."""
    lang = lang if lang in messages.LANGUAGES else "en"
    base = settings.public_base_url.rstrip("/")
    links = {"form_url": f"{base}/form", "lookup_url": f"{base}/lookup", "callback_url": f"{base}/callback"}
    if blocked:
        found = [entity for entity, count in entities.items() if count > 0] or ["CREDIT_CARD"]
        body = messages.render("block.refused", lang, contents=messages.describe_entities(found, lang), **links)
        subject = messages.render("block.subject", lang)
    else:
        body = nudge or messages.render("nudge.removed", lang, **links)
        subject = messages.render("nudge.subject", lang)
    reply = EmailMessage()
    reply["From"] = settings.helpdesk_address
    reply["To"] = to
    reply["Subject"] = f"[{case_reference}] {subject}"
    reply["Date"] = email.utils.formatdate(now, usegmt=True)
    reply["Message-ID"] = message_id
    if in_reply_to:
        reply["In-Reply-To"] = in_reply_to
        reply["References"] = in_reply_to
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content(body + "\n", charset="utf-8", cte="quoted-printable")
    reply["Content-Language"] = lang  # after set_content, which drops every Content-* header already set
    content = reply.as_bytes(policy=reply.policy.clone(linesep="\r\n"))
    return AutoReply(reply_to=to.lower(), message_id=message_id, content=content)
