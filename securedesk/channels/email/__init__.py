"""The email channel: SMTP ingress, MIME-aware screening, and the SMTP relay to the help desk (the outbox and its
relay worker, which chat's webhook relay shares, are ``securedesk.channels.outbox``)."""

from securedesk.channels.email.gateway import EmailGateway, relay_from_settings
from securedesk.channels.email.ingress import EmailIngressHandler, SmtpIngress
from securedesk.channels.email.intake import EmailIntake, InboundEmail, IntakeOutcome
from securedesk.channels.email.mime import MimeDocument, MimeLimits, RebuiltEmail
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
    "SmtpIngress",
    "SmtpRelay",
    "relay_from_settings",
]
