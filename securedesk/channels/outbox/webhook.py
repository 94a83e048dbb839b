"""The webhook relay: screened content POSTed as JSON to the help desk, signed with HMAC-SHA256.

The signature covers the timestamp and the exact body: ``X-SecureDesk-Signature: sha256=<hex of
HMAC-SHA256(secret, timestamp + "." + body)>`` with ``X-SecureDesk-Timestamp: <unix seconds>``; receivers check it
with ``verify_signature`` (constant-time, with a freshness window against replays). Any channel can post its own
JSON with ``post``; ``deliver`` wraps a screened email in an envelope (``email_envelope``).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

import httpx

from securedesk.channels.outbox.relay import OutboundMessage
from securedesk.clock import Clock
from securedesk.errors import ConfigError, DeliveryError, DeliveryRefused
from securedesk.sensitive import Sensitive

TIMESTAMP_HEADER: Final = "X-SecureDesk-Timestamp"
SIGNATURE_HEADER: Final = "X-SecureDesk-Signature"
#: 4xx answers that still deserve a retry (timeout, rate limit); other 4xx mean the request itself is refused.
_RETRYABLE_4XX: Final = frozenset({408, 409, 425, 429})
#: Outbox entries of this kind hold a chat envelope (JSON) instead of an email.
CHAT_KIND: Final = "chat"


def sign(secret: Sensitive, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.reveal().encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: Sensitive, *, timestamp: str, body: bytes, signature: str, now: float, tolerance_seconds: float = 300
) -> bool:
    """Whether ``signature`` is ours for this body and the timestamp is within ``tolerance_seconds`` of ``now``."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance_seconds
    except ValueError:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature) and fresh


def email_envelope(message: OutboundMessage) -> dict[str, Any]:
    """The JSON envelope of a screened email: routing data, the main headers, and the message itself (base64)."""
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    headers = {name: str(parsed.get(name, "")) for name in ("From", "To", "Cc", "Subject", "Date")}
    return {
        "type": "email",
        "kind": message.kind,
        "message_id": message.message_id,
        "case_id": message.case_id,
        "envelope": {"mail_from": message.mail_from, "rcpt_to": list(message.rcpt_to)},
        "headers": headers,
        "screened": str(parsed.get("X-SecureDesk-Screened", "")),
        "raw_base64": base64.b64encode(message.content).decode("ascii"),
    }


class WebhookRelay:
    """POSTs signed JSON to ``url``; 2xx is delivered, other 4xx refused for good, 5xx and network errors retried."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: Sensitive | None,
        *,
        clock: Clock,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ConfigError("webhook_url must be an https:// URL (plain http only to loopback, for tests).")
        if secret is None or len(secret) < 16:
            raise ConfigError(
                "webhook_secret must be set (16 characters or more) when webhook_url is set.",
                hint="generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            )
        self._url = url
        self._secret = secret
        self._clock = clock
        self._timeout = timeout_seconds
        self._client = client

    async def deliver(self, message: OutboundMessage) -> None:
        if message.kind == CHAT_KIND:  # already a JSON envelope (securedesk/channels/chat/relay.py): post it as is
            await self.post(json.loads(message.content))
            return
        await self.post(email_envelope(message))

    async def post(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        timestamp = str(int(self._clock.now()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            if self._client is not None:
                response = await self._client.post(self._url, content=body, headers=headers, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                    response = await client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            raise DeliveryRefused(f"webhook: HTTP {status}")
        raise DeliveryError(f"webhook: HTTP {status}")
