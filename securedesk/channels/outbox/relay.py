"""The ``Relay`` seam: how a screened message leaves SecureDesk for the help desk (SMTP today, a webhook, an API).

A relay raises ``DeliveryError`` for a failure worth retrying and ``DeliveryRefused`` for a permanent one; its
error messages carry reply codes and error classes only, never message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    """A screened message ready to leave: envelope and RFC 5322 bytes (CRLF line endings)."""

    message_id: str
    mail_from: str  # "" is the null sender
    rcpt_to: tuple[str, ...]
    content: bytes = field(repr=False)
    kind: str = "inbound"  # "inbound" (customer → help desk) | "autoreply" (SecureDesk → customer)
    case_id: str | None = None


class Relay(Protocol):
    #: A short name for logs and metrics: "smtp", "webhook".
    name: str

    async def deliver(self, message: OutboundMessage) -> None:
        """Hand the message over; return only once the other side has taken responsibility for it."""
        ...
