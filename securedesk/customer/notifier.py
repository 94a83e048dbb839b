"""How one-time codes reach customers: the ``Notifier`` seam, and ``EmailNotifier``, which queues a localized email
in the durable outbox for the relay worker to deliver (SMS or another channel can implement the same seam).

The code is in the outbox row only until the relay hands it over (the row's content is then emptied, and
``secure_delete`` overwrites the freed pages); it is valid for minutes, once, and only in the browser that asked for
it, so a copy read from the database cannot be used on its own.
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol

from securedesk import messages
from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.errors import InvalidInput
from securedesk.identity import FieldCipher
from securedesk.sensitive import Sensitive
from securedesk.storage.outbox import SEALED_COLUMN, SEALED_TABLE, OutboxEntry, OutboxRepository, new_outbox_id


class Notifier(Protocol):
    """Delivers a one-time code to the address the customer is known by."""

    async def send_code(self, *, to: str, code: Sensitive, lang: str, valid_minutes: int) -> None:
        """Hand the code over for delivery (durably queued when this returns); raise to report that it was not."""
        ...


class EmailNotifier:
    """Queues the code email in the outbox (kind ``autoreply``: from SecureDesk to a customer, null sender, no
    auto-reply counting) and wakes the relay worker when one is given."""

    def __init__(
        self,
        settings: Settings,
        outbox: OutboxRepository,
        clock: Clock,
        *,
        wake: Callable[[], None] | None = None,
        cipher: FieldCipher | None = None,
    ) -> None:
        """``cipher``: seals the queued mail (it carries the code until it is sent); without one it is queued in
        clear (tests of the message itself only)."""
        self._cipher = cipher
        self._settings = settings
        self._outbox = outbox
        self._clock = clock
        self._wake = wake

    def build(self, *, to: str, code: Sensitive, lang: str, valid_minutes: int, message_id: str) -> bytes:
        """The RFC 5322 message (CRLF line endings) in ``lang``."""
        if "\r" in to or "\n" in to or "@" not in to:
            raise InvalidInput("A code can only be sent to a single email address.")
        lang = lang if lang in messages.LANGUAGES else "en"
        body = messages.render("lookup.code", lang, code=code.reveal(), minutes=str(valid_minutes))
        mail = EmailMessage()
        mail["From"] = self._settings.helpdesk_address
        mail["To"] = to
        mail["Subject"] = messages.render("lookup.code_subject", lang)
        mail["Date"] = email.utils.formatdate(self._clock.now(), usegmt=True)
        mail["Message-ID"] = message_id
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(body + "\n", charset="utf-8", cte="quoted-printable")
        mail["Content-Language"] = lang  # after set_content, which drops every Content-* header set before it
        return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))

    async def send_code(self, *, to: str, code: Sensitive, lang: str, valid_minutes: int) -> None:
        message_id = f"<sd.code.{secrets.token_hex(16)}@{self._settings.smtp_hostname}>"
        content = self.build(to=to, code=code, lang=lang, valid_minutes=valid_minutes, message_id=message_id)
        now = self._clock.now()
        entry_id = new_outbox_id()
        sealed = self._cipher is not None
        if self._cipher is not None:
            content = self._cipher.encrypt_field(content, table=SEALED_TABLE, row_id=entry_id, column=SEALED_COLUMN)
        async with self._outbox.transaction() as conn:
            await self._outbox.enqueue(
                conn,
                OutboxEntry(
                    id=entry_id,
                    message_id=message_id,
                    kind="autoreply",
                    case_id=None,
                    mail_from="",
                    rcpt_to=(to,),
                    content=content,
                    state="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    sealed=sealed,
                ),
            )
        if self._wake is not None:
            self._wake()
