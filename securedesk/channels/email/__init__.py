"""The email channel: SMTP ingress, MIME-aware screening, a durable outbox and a relay to the help desk."""

from securedesk.channels.email.gateway import EmailGateway, relay_from_settings
from securedesk.channels.email.ingress import EmailIngressHandler, SmtpIngress
from securedesk.channels.email.intake import EmailIntake, InboundEmail, IntakeOutcome
from securedesk.channels.email.mime import MimeDocument, MimeLimits, RebuiltEmail
from securedesk.channels.email.relay_worker import RelayWorker
from securedesk.channels.email.retry import RetrySchedule
from securedesk.channels.email.smtp_relay import SmtpRelay

__all__ = [
    "EmailGateway",
    "EmailIngressHandler",
    "EmailIntake",
    "InboundEmail",
    "IntakeOutcome",
    "MimeDocument",
    "MimeLimits",
    "RebuiltEmail",
    "RelayWorker",
    "RetrySchedule",
    "SmtpIngress",
    "SmtpRelay",
    "relay_from_settings",
]
