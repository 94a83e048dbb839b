"""The SMTP relay: hand a screened message to the downstream (help desk) SMTP server with aiosmtplib.

STARTTLS is used whenever the downstream offers it (``downstream_smtp_starttls``), verified against the system CAs
and SecureDesk's own CA. A 5xx reply is a permanent refusal (``DeliveryRefused``); 4xx replies, timeouts and
connection errors are retried (``DeliveryError``). Errors carry the reply code and enhanced status only.
"""

from __future__ import annotations

import re
import ssl
from typing import Final

import aiosmtplib

from securedesk.channels.outbox.relay import OutboundMessage
from securedesk.config import Settings
from securedesk.errors import ConfigError, DeliveryError, DeliveryRefused

_ENHANCED_STATUS: Final = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})")


def _reply_summary(code: int, message: str) -> str:
    enhanced = _ENHANCED_STATUS.match(message)
    return f"smtp {code}" + (f" {enhanced.group(1)}" if enhanced else "")


def downstream_tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.ca_cert_path.is_file():
        context.load_verify_locations(cafile=str(settings.ca_cert_path))
    return context


class SmtpRelay:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        if settings.downstream_smtp_host is None:
            raise ConfigError("downstream_smtp_host is not set: the SMTP relay has nowhere to deliver.")
        self._host = settings.downstream_smtp_host
        self._port = settings.downstream_smtp_port
        self._starttls = settings.downstream_smtp_starttls
        self._username = settings.downstream_smtp_username
        self._password = settings.downstream_smtp_password
        self._timeout = settings.relay_timeout_seconds
        self._local_hostname = settings.smtp_hostname
        self._tls_context = downstream_tls_context(settings) if self._starttls else None

    async def deliver(self, message: OutboundMessage) -> None:
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
            start_tls=None if self._starttls else False,  # None: STARTTLS when the server offers it
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
            if self._username is not None and self._password is not None:
                await client.login(self._username, self._password.reveal())
            # Accepted for at least one recipient counts as delivered: a resend would duplicate it for the others.
            await client.sendmail(message.mail_from, list(message.rcpt_to), message.content)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [recipient.code for recipient in exc.recipients]
            summary = ", ".join(_reply_summary(r.code, r.message) for r in exc.recipients)
            if codes and all(code >= 500 for code in codes):
                raise DeliveryRefused(f"downstream refused every recipient: {summary}") from exc
            raise DeliveryError(f"downstream deferred the recipients: {summary}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            summary = _reply_summary(exc.code, exc.message)
            if exc.code >= 500:
                raise DeliveryRefused(f"downstream refused the message: {summary}") from exc
            raise DeliveryError(f"downstream deferred the message: {summary}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"downstream unreachable: {type(exc).__name__}") from exc
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()
