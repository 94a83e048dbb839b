"""The optional upstream relay of chat: each delivered (redacted) chat message, and each later retraction, is queued in
the durable outbox as a JSON envelope, in the same transaction that stores the message; the outbox's relay worker
POSTs it to ``Settings.webhook_url`` with the HMAC-SHA256 signature of ``securedesk.channels.outbox.webhook`` and
retries it with backoff.

Envelope of a message (``type`` ``chat.message``)::

    {"type": "chat.message", "message_id": "msg_…", "case_id": "case_…", "case_reference": "SD-…",
     "direction": "inbound" | "outbound", "sender": "customer" | "agent", "agent": "alice" | null,
     "lang": "en" | "fr" | "sv", "text": "<redacted text>", "entities": {"CREDIT_CARD": 1},
     "vaulted": [{"token": "tok_…", "kind": "IBAN_CODE", "mask": "IBAN_CODE •••• 7466"}], "sent_at": "<RFC 3339>"}

and of a retraction (``chat.replace``: an earlier message held part of a number completed later; replace its text)::

    {"type": "chat.replace", "message_id": "msg_…", "case_id": "case_…", "case_reference": "SD-…",
     "text": "<the message with its fragment masked>", "replaced_at": "<RFC 3339>"}
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final

import aiosqlite

from securedesk.clock import Clock, utc_iso
from securedesk.storage.outbox import OutboxEntry, OutboxRepository, new_outbox_id
from securedesk.vault import SecretRef

OUTBOX_KIND: Final = "chat"


def message_envelope(
    *,
    message_id: str,
    case_id: str,
    case_reference: str,
    direction: str,
    sender: str,
    agent: str | None,
    lang: str,
    text: str,
    entities: Mapping[str, int],
    vaulted: Sequence[SecretRef],
    sent_at: float,
) -> dict[str, Any]:
    return {
        "type": "chat.message",
        "message_id": message_id,
        "case_id": case_id,
        "case_reference": case_reference,
        "direction": direction,
        "sender": sender,
        "agent": agent,
        "lang": lang,
        "text": text,
        "entities": dict(entities),
        "vaulted": [{"token": ref.token, "kind": ref.kind, "mask": ref.mask} for ref in vaulted],
        "sent_at": utc_iso(sent_at),
    }


def replace_envelope(
    *, message_id: str, case_id: str, case_reference: str, text: str, replaced_at: float
) -> dict[str, Any]:
    return {
        "type": "chat.replace",
        "message_id": message_id,
        "case_id": case_id,
        "case_reference": case_reference,
        "text": text,
        "replaced_at": utc_iso(replaced_at),
    }


class ChatRelayQueue:
    """Queues chat envelopes in the outbox (kind ``chat``) inside the caller's transaction."""

    def __init__(self, outbox: OutboxRepository, clock: Clock) -> None:
        self._outbox = outbox
        self._clock = clock

    async def enqueue(self, conn: aiosqlite.Connection, envelope: Mapping[str, Any], *, case_id: str) -> None:
        now = self._clock.now()
        # One outbox row per event: a message, and each later replacement of it, get their own idempotency key.
        suffix = "" if envelope["type"] == "chat.message" else f"#replace-{secrets.token_hex(6)}"
        await self._outbox.enqueue(
            conn,
            OutboxEntry(
                id=new_outbox_id(),
                message_id=f"{envelope['message_id']}{suffix}",
                kind=OUTBOX_KIND,
                case_id=case_id,
                mail_from="",
                rcpt_to=(),
                content=json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(),
                state="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            ),
        )
