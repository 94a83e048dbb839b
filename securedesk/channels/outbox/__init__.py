"""The durable outbox's way out, shared by every channel: the ``Relay`` seam (SMTP to the help desk, the signed
webhook), the ``RelayWorker`` that delivers due entries with retries (``RetrySchedule``), and the webhook relay.
Email queues relayed mail and auto-replies here, chat its webhook envelopes, the customer paths their code mails."""

from securedesk.channels.outbox.relay import OutboundMessage, Relay
from securedesk.channels.outbox.retry import RetrySchedule
from securedesk.channels.outbox.webhook import WebhookRelay
from securedesk.channels.outbox.worker import RelayWorker

__all__ = ["OutboundMessage", "Relay", "RelayWorker", "RetrySchedule", "WebhookRelay"]
