"""SMTP ingress on aiosmtpd: who may send to whom, how much, and which reply each outcome gets.

``EmailIngressHandler`` is the aiosmtpd handler (``handle_RCPT``, ``handle_DATA``, ``handle_exception``);
``SmtpIngress`` is the background service that listens on ``smtp_host:smtp_port``. Rules: only recipients in
``served_domains`` (a domain, or a full address) are accepted — 550 5.7.1 otherwise, no open relay; at most
``smtp_max_recipients`` per message (452 4.5.3); SIZE is advertised and a larger ``MAIL FROM SIZE=`` or body gets
552 before/without queueing; lines over 1000 octets get 500; only CRLF.CRLF ends DATA (aiosmtpd ≥ 1.4.6) and a
lone-dot line with a bare LF, or a bare CR, inside the data (SMTP smuggling payloads) gets 554; STARTTLS with the
server certificate, required before MAIL when ``smtp_require_starttls``. Any internal fault replies ``451 4.3.0``
without a word of internal text; 5xx is kept for permanent, sender-caused problems.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from typing import Any, Final

from aiosmtpd.smtp import SMTP, Envelope, Session

from securedesk.channels.email.intake import EmailIntake, InboundEmail
from securedesk.config import Settings
from securedesk.errors import ConfigError, RelayDenied, SecureDeskError, SmtpSmuggling, TooManyRecipients
from securedesk.metrics import Metrics

log = logging.getLogger(__name__)

TEMPORARY_FAILURE: Final = "451 4.3.0 Temporary failure, please try again later"
#: SMTP smuggling payloads: a lone-dot line ended, or preceded, by a bare LF — what a downstream that accepts bare
#: line ends would take for the end of DATA, reading the rest as new commands — and any bare CR (never legitimate
#: in mail). aiosmtpd's dot-unstuffing turns "CRLF . LF" into "CRLF LF" and "CRLF . CR" into "CRLF CR", so those
#: two are matched too. Only CRLF.CRLF ends DATA (aiosmtpd >= 1.4.6); a dot-stuffed ".." line arrives as
#: "CRLF . CRLF" and is legitimate. Messages written with bare LF line ends throughout are accepted.
_SMUGGLING: Final = re.compile(rb"\r(?!\n)|(?<!\r)\n\.(?:\r\n|\n)|\r\n\.?\n|\A\.\n")
_RELAY_HACKS: Final = re.compile(r"[%!@:]")  # user%other@served, user!host@served, source routes


def smtp_reply(error: SecureDeskError) -> str:
    code, text = error.smtp_reply
    return f"{code} {text}"


def is_served(address: str, served: tuple[str, ...]) -> bool:
    """Whether ``address`` is one we accept mail for: its domain, or the address itself, is in ``served``."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _RELAY_HACKS.search(local.strip('"')):
        return False
    wanted = {entry.lower().rstrip(".") for entry in served}
    return domain.lower().rstrip(".") in wanted or address.lower() in wanted


class EmailIngressHandler:
    """The aiosmtpd handler: recipient policy, then screening and durable queueing of each message."""

    def __init__(self, intake: EmailIntake, settings: Settings) -> None:
        self._intake = intake
        self._served = settings.served_domains
        self._max_recipients = settings.smtp_max_recipients

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return smtp_reply(TooManyRecipients("too many recipients"))
        if not is_served(address, self._served):
            log.info("relay attempt refused (recipient outside the served domains)")
            return smtp_reply(RelayDenied("recipient not served"))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content
        if not isinstance(content, bytes):
            return TEMPORARY_FAILURE
        if _SMUGGLING.search(content):
            log.info("message refused: lone dot line with a bare CR or LF in DATA (SMTP smuggling)")
            return smtp_reply(SmtpSmuggling("smuggling payload"))
        mail_from = envelope.mail_from or ""
        inbound = InboundEmail(
            mail_from="" if mail_from == "<>" else mail_from, rcpt_to=tuple(envelope.rcpt_tos), content=content
        )
        try:
            outcome = await self._intake.accept(inbound)
        except SecureDeskError as exc:
            log.info("message not accepted: %s", type(exc).__name__)
            return smtp_reply(exc)
        return outcome.reply

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default answer is "500 Error: (Type) text": never echo internal text, never a 5xx for our fault.
        log.error("SMTP session fault: %s", type(error).__name__, exc_info=error)
        return TEMPORARY_FAILURE


class GatewaySMTP(SMTP):
    """aiosmtpd's protocol with our ident, and every reply counted by class (2xx/4xx/5xx) in the metrics."""

    line_length_limit = 1001  # RFC 5321 §4.5.3.1.6: 1000 octets with CRLF, plus one for dot-stuffing

    def __init__(self, handler: Any, *, metrics: Metrics | None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._metrics = metrics

    async def push(self, status: Any) -> None:
        if self._metrics is not None:
            text = status if isinstance(status, str) else bytes(status).decode("ascii", "replace")
            if text[:3].isdigit():
                self._metrics.record_smtp_reply(int(text[:3]))
        await super().push(status)


def server_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context from the server certificate; ``None`` if there is none and STARTTLS is not required."""
    cert, key = settings.tls_cert_path, settings.tls_key_path
    if not (cert.is_file() and key.is_file()):
        if settings.smtp_require_starttls:
            raise ConfigError(
                f"smtp_require_starttls is on but the server certificate {cert} or key {key} is missing.",
                hint="run `securedesk init` to create the development certificates, or set tls_cert/tls_key",
            )
        log.warning("no server certificate at %s: SMTP STARTTLS is not offered", cert)
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class SmtpIngress:
    """The listening SMTP server as a background service (``start``/``stop``)."""

    name = "smtp-ingress"

    def __init__(self, handler: EmailIngressHandler, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self._handler = handler
        self._settings = settings
        self._metrics = metrics
        self._tls = server_tls_context(settings)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when ``smtp_port`` is 0)."""
        if self._server is None or not self._server.sockets:
            return self._settings.smtp_port
        return int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> GatewaySMTP:
        settings = self._settings
        return GatewaySMTP(
            self._handler,
            metrics=self._metrics,
            data_size_limit=settings.smtp_max_message_bytes,
            hostname=settings.smtp_hostname,
            ident="SecureDesk ESMTP",
            tls_context=self._tls,
            require_starttls=settings.smtp_require_starttls,
            timeout=settings.smtp_timeout_seconds,
            enable_SMTPUTF8=False,
            decode_data=False,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._protocol, host=self._settings.smtp_host, port=self._settings.smtp_port
            )
        except OSError as exc:
            raise ConfigError(
                f"Cannot listen for SMTP on {self._settings.smtp_host}:{self._settings.smtp_port}: {exc.strerror}.",
                hint="choose another smtp_port or stop what is using it",
            ) from exc
        log.info("SMTP ingress listening on %s:%d", self._settings.smtp_host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
