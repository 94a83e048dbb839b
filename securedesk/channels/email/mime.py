"""Walk every part of an email, collect the text to screen, and re-serialize it as valid MIME with the screened text.

``MimeDocument.parse`` (CPU-bound: run it in a thread) parses with the standard library's ``email`` package
(``policy.default``, falling back to ``compat32`` when a header is too broken for it), walks every part recursively,
through ``message/rfc822``, decodes base64 / quoted-printable and the declared charset with safe fallbacks, and
collects ``segments``: free-text headers, display names, file names, text bodies, text attachments, HTML text and
attribute values. Parts that cannot be screened are listed in ``withheld``. ``rebuild`` writes the screened
segments back and replaces each withheld part by a short notice. What we screened is what we send: a text part is
passed on byte for byte only if it was unchanged and decoded cleanly, otherwise it is re-encoded from the text we
screened, as UTF-8.
"""

from __future__ import annotations

import base64
import codecs
import email
import email.header
import email.utils
import quopri
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import Message
from email.policy import EmailPolicy
from io import BytesIO
from typing import Final

from securedesk.channels.email.html_text import HtmlText
from securedesk.errors import InvalidInput, MimeTooComplex
from securedesk.policy import AttachmentHandling, AttachmentPolicy, attachment_class

#: Headers that carry the MIME structure and nothing a sender writes freely: passed on untouched (a filename
#: parameter is screened on its own, see ``_plan_filename``).
_STRUCTURAL_HEADERS: Final = frozenset(
    {
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-md5",
        "resent-date",
        "precedence",
        "auto-submitted",
        "x-auto-response-suppress",
        "x-securedesk-screened",
    }
)
#: Headers that carry identifiers, routing or signatures: kept as they are for threading and tracing, but screened,
#: since the sender (or any relay before us) chose their text; one holding a number is dropped, never rewritten
#: (a rewritten identifier or signature means nothing downstream).
_IDENTIFIER_HEADERS: Final = frozenset(
    {
        "message-id",
        "content-id",
        "received",
        "return-path",
        "dkim-signature",
        "domainkey-signature",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "received-spf",
        "references",
        "in-reply-to",
        "resent-message-id",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "list-post",
        "list-help",
        "list-subscribe",
        "list-owner",
        "list-archive",
    }
)
#: What a header's plan returns to have the header left out.
_DROP: Final = "\x00drop"
#: Headers holding addresses: display names and addresses are screened one by one.
_ADDRESS_HEADERS: Final = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "resent-from",
        "resent-to",
        "resent-cc",
        "resent-bcc",
        "resent-sender",
        "disposition-notification-to",
        "return-receipt-to",
        "delivered-to",
        "mail-followup-to",
        "mail-reply-to",
    }
)
#: message/* types whose payload is parsed as messages and screened (anything else under message/ is withheld).
_MESSAGE_TYPES: Final = frozenset(
    {"message/rfc822", "message/global", "message/delivery-status", "message/disposition-notification"}
)
#: File name extensions that make a generic ``application/octet-stream`` part text we can screen.
_TEXT_EXTENSIONS: Final = {
    "txt": "text/plain",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "ics": "text/calendar",
    "vcf": "text/vcard",
    "eml": "message/rfc822",
    "html": "text/html",
    "htm": "text/html",
    "xml": "application/xml",
    "md": "text/markdown",
    "log": "text/plain",
}
_CLEAN_TRANSFER_ENCODINGS: Final = frozenset({"", "7bit", "8bit", "binary", "quoted-printable", "base64"})
#: An address whose text had to be redacted: the original cannot be passed on, nor made into a valid address.
REDACTED_ADDRESS: Final = "redacted@invalid"
_ASCII_PROBE: Final = "0123456789 -.abcXYZ"


@dataclass(frozen=True)
class MimeLimits:
    """Bounds that keep hostile MIME from exhausting the gateway; beyond them the message gets 554 5.6.0."""

    max_depth: int = 10
    max_parts: int = 500
    max_header_fields: int = 1000


@dataclass
class WithheldPart:
    """An attachment that cannot be screened: withheld, or quarantined (sealed in the vault) by policy."""

    content_type: str
    size: int
    handling: AttachmentHandling
    filename_segment: int | None
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class RebuiltEmail:
    content: bytes  # the screened message, CRLF line endings
    changed: bool  # anything (header, text, part) differs from what arrived
    subject: str  # screened, decoded
    body_text: str  # screened text for the agent console: the plain body, else the HTML's text
    notices: tuple[str, ...]  # one per withheld or quarantined part, as written into the message
    dkim_removed: int
    message_id: str  # the original Message-ID, or a new one if it was missing or had to be redacted


Edit = Callable[[Sequence[str]], bool]


class MimeDocument:
    """A parsed email ready for screening: ``segments`` to screen, then ``rebuild(screened, ...)``."""

    def __init__(self, message: Message, limits: MimeLimits, attachments: AttachmentPolicy) -> None:
        self.message = message
        self.limits = limits
        self.attachments = attachments
        self.segments: list[str] = []
        self.withheld: list[WithheldPart] = []
        self.removed_embedded = 0  # data: URLs removed from HTML
        self._edits: list[tuple[Message, Edit]] = []
        self._withheld_parts: list[tuple[Message, WithheldPart]] = []
        self._parts = 0
        self._subject_segment: int | None = None
        self._message_id_segment: int | None = None
        self._body_plain: tuple[Message, int] | None = None
        self._body_html: Message | None = None
        self._roots: list[tuple[Message, list[Message]]] = []

    # --- parsing -------------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, raw: bytes, *, limits: MimeLimits, attachments: AttachmentPolicy) -> MimeDocument:
        """Parse and walk ``raw``; raise ``MimeTooComplex`` past the limits, ``InvalidInput`` if it cannot be read."""
        last_error: Exception | None = None
        for policy in (email_policy.default, email_policy.compat32):
            try:
                message = email.message_from_bytes(raw, policy=policy)
                document = cls(message, limits, attachments)
                document._walk(message, depth=0, root=True)
            except MimeTooComplex:
                raise
            except RecursionError:
                # The parser nests a frame per MIME level: thousands of levels overflow it. Too deep is permanent.
                raise MimeTooComplex(
                    f"The email nests deeper than {limits.max_depth} levels; it was refused."
                ) from None
            except (ValueError, TypeError, LookupError, AttributeError, IndexError, KeyError, UnicodeError) as exc:
                # policy.default parses headers strictly and can raise on hostile ones: try the lenient compat32.
                last_error = exc
                continue
            return document
        raise InvalidInput(
            "The email could not be parsed as MIME, even leniently; it was refused.",
            hint=f"parser error type: {type(last_error).__name__}",
        ) from last_error

    @property
    def original_message_id(self) -> str | None:
        """The Message-ID as it arrived (unfolded), if there was a usable one."""
        if self._message_id_segment is None:
            return None
        value = self.segments[self._message_id_segment]
        return value if value.startswith("<") and value.endswith(">") and "@" in value and len(value) <= 250 else None

    def _segment(self, text: str) -> int:
        self.segments.append(text)
        return len(self.segments) - 1

    def _walk(self, part: Message, *, depth: int, root: bool, members: list[Message] | None = None) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise MimeTooComplex(f"The email has more than {self.limits.max_parts} MIME parts; it was refused.")
        if depth > self.limits.max_depth:
            raise MimeTooComplex(f"The email nests deeper than {self.limits.max_depth} levels; it was refused.")
        if len(part.keys()) > self.limits.max_header_fields:
            raise MimeTooComplex(
                f"A part of the email has more than {self.limits.max_header_fields} header fields; it was refused."
            )
        if root or members is None:
            members = []
            self._roots.append((part, members))
        members.append(part)
        self._collect_headers(part, root=root)
        content_type = _effective_type(part)
        disposition = part.get_content_disposition()
        payload = part.get_payload()
        if content_type.startswith("message/"):
            handling = self.attachments.for_content_type(content_type)
            if content_type not in _MESSAGE_TYPES or handling is not AttachmentHandling.SCREEN:
                self._withhold(part, content_type, handling)
                return
            transfer = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
            if not isinstance(payload, list) or transfer not in ("", "7bit", "8bit", "binary"):
                self._embed_message(part)
            for child in part.get_payload():
                if isinstance(child, Message):
                    self._walk(child, depth=depth + 1, root=True)
            return
        if isinstance(payload, list):
            for attribute in ("preamble", "epilogue"):
                self._collect_free_text_attribute(part, attribute)
            for child in payload:
                if isinstance(child, Message):
                    self._walk(child, depth=depth + 1, root=False, members=members)
            return
        if content_type.startswith("multipart/"):
            content_type = "text/plain"  # a multipart without a usable boundary: its payload is plain text
        if content_type in ("text/plain", "text/html") and disposition != "attachment":
            self._collect_text(part, html=content_type == "text/html")
            return
        handling = self.attachments.for_content_type(content_type)
        if handling is AttachmentHandling.SCREEN and attachment_class(content_type) == "text":
            self._collect_text(part, html=content_type == "text/html")
        else:
            self._withhold(part, content_type, handling)

    def _embed_message(self, part: Message) -> None:
        """Make the part a real ``message/rfc822`` to walk into: a ``.eml`` sent as a leaf, or a message wrongly
        sent with base64 / quoted-printable (the parser took the encoded text for the message itself)."""
        payload = part.get_payload()
        if isinstance(payload, list):
            inner_raw = b"".join(serialize(child) for child in payload if isinstance(child, Message))
            body = inner_raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in inner_raw else inner_raw
            holder = email.message_from_bytes(
                b"Content-Transfer-Encoding: "
                + str(part.get("Content-Transfer-Encoding")).encode("ascii", "replace")
                + b"\r\n\r\n"
                + body,
                policy=email_policy.compat32,
            )
            decoded = holder.get_payload(decode=True)
        else:
            decoded = part.get_payload(decode=True)
        inner = email.message_from_bytes(decoded if isinstance(decoded, bytes) else b"", policy=part.policy)
        del part["Content-Transfer-Encoding"]
        if part.get_content_type() != "message/rfc822":
            part.set_type("message/rfc822")
        part.set_payload([inner])

    # --- headers -------------------------------------------------------------------------------------------

    def _collect_headers(self, part: Message, *, root: bool) -> None:
        items = list(part.raw_items())
        plans: list[tuple[str, str, Callable[[Sequence[str]], str | None]]] = []
        for name, raw_value in items:
            lower = name.lower()
            if lower == "message-id" and part is self.message and self._message_id_segment is None:
                # Kept for threading and idempotency, but screened too: a hostile sender controls it.
                self._message_id_segment = self._segment(" ".join(raw_value.split()))
                plans.append((name, raw_value, _unchanged))
            elif lower in _STRUCTURAL_HEADERS:
                plans.append((name, raw_value, _unchanged))
            elif lower in _IDENTIFIER_HEADERS:
                plans.append((name, raw_value, self._plan_identifier(self._segment(" ".join(raw_value.split())))))
            elif lower in _ADDRESS_HEADERS:
                plans.append((name, raw_value, self._plan_address_header(raw_value)))
            else:
                segment = self._segment(decode_header_text(raw_value))
                if root and lower == "subject" and self._subject_segment is None:
                    self._subject_segment = segment
                plans.append((name, raw_value, self._plan_free_text(segment)))
        filename_plan = self._plan_filename(part)

        def edit(screened: Sequence[str]) -> bool:
            rewritten = [(name, raw, plan(screened)) for name, raw, plan in plans]
            changed = filename_plan(screened)
            if any(new is not None for _, _, new in rewritten):
                for name in {name.lower() for name, _, _ in rewritten}:
                    del part[name]
                for name, raw, new in rewritten:
                    if new is not _DROP:
                        part.set_raw(name, raw if new is None else new)
                changed = True
            return changed

        self._edits.append((part, edit))

    def _plan_address_header(self, raw_value: str) -> Callable[[Sequence[str]], str | None]:
        pairs = email.utils.getaddresses([raw_value])
        if not pairs or any(pair == ("", "") for pair in pairs):
            return self._plan_free_text(self._segment(decode_header_text(raw_value)))
        slots = [(self._segment(decode_header_text(name)), self._segment(address)) for name, address in pairs]

        def addresses(screened: Sequence[str]) -> str | None:
            if all(screened[n] == self.segments[n] and screened[a] == self.segments[a] for n, a in slots):
                return None
            formatted = []
            for name_slot, address_slot in slots:
                address = screened[address_slot]
                if address != self.segments[address_slot]:
                    address = REDACTED_ADDRESS
                formatted.append(email.utils.formataddr((screened[name_slot], address), charset="utf-8"))
            return ",\r\n ".join(formatted)

        return addresses

    def _plan_identifier(self, segment: int) -> Callable[[Sequence[str]], str | None]:
        def identifier(screened: Sequence[str]) -> str | None:
            return None if screened[segment] == self.segments[segment] else _DROP

        return identifier

    def _plan_free_text(self, segment: int) -> Callable[[Sequence[str]], str | None]:
        def free(screened: Sequence[str]) -> str | None:
            if screened[segment] == self.segments[segment]:
                return None
            return encode_header_text(screened[segment])

        return free

    def _plan_filename(self, part: Message) -> Edit:
        targets: list[tuple[str, str, int]] = []
        for param, header in (("filename", "content-disposition"), ("name", "content-type")):
            value = part.get_param(param, header=header)
            if value is None or value == "":
                continue
            text = email.utils.collapse_rfc2231_value(value)
            targets.append((param, header, self._segment(decode_header_text(text))))

        def edit(screened: Sequence[str]) -> bool:
            changed = False
            for param, header, segment in targets:
                if screened[segment] != self.segments[segment]:
                    part.set_param(param, screened[segment], header=header, charset="utf-8")
                    changed = True
            return changed

        return edit

    def _collect_free_text_attribute(self, part: Message, attribute: str) -> None:
        value = getattr(part, attribute)
        if not value:
            return
        segment = self._segment(value)

        def edit(screened: Sequence[str]) -> bool:
            if screened[segment] == value:
                return False
            # Readers never show a preamble or epilogue: one that had to be redacted is simply replaced.
            setattr(part, attribute, "This is a multi-part message in MIME format." if attribute == "preamble" else "")
            return True

        self._edits.append((part, edit))

    # --- bodies --------------------------------------------------------------------------------------------

    def _collect_text(self, part: Message, *, html: bool) -> None:
        text, clean = decode_text_payload(part)
        if html:
            document = HtmlText(text)
            first = len(self.segments)
            self.segments.extend(document.segments)
            self.removed_embedded += document.removed_data_urls
            count = len(document.segments)
            if self._body_html is None and part.get_content_disposition() != "attachment":
                self._body_html = part

            def edit_html(screened: Sequence[str]) -> bool:
                rebuilt = document.rebuild(list(screened[first : first + count]))
                if rebuilt == text and clean:
                    return False
                set_text_payload(part, rebuilt)
                return rebuilt != text

            self._edits.append((part, edit_html))
            return
        segment = self._segment(text)
        if self._body_plain is None and part.get_content_disposition() != "attachment":
            self._body_plain = (part, segment)

        def edit_text(screened: Sequence[str]) -> bool:
            if screened[segment] == text and clean:
                return False
            set_text_payload(part, screened[segment])
            return screened[segment] != text

        self._edits.append((part, edit_text))

    def _withhold(
        self, part: Message, content_type: str, handling: AttachmentHandling = AttachmentHandling.WITHHOLD
    ) -> None:
        payload = _payload_bytes(part)
        filename = part.get_filename()
        filename_segment = None if not filename else self._segment(decode_header_text(filename))
        if handling is AttachmentHandling.SCREEN:
            handling = AttachmentHandling.WITHHOLD
        withheld = WithheldPart(content_type, len(payload), handling, filename_segment, payload)
        self.withheld.append(withheld)
        self._withheld_parts.append((part, withheld))

    # --- rebuilding ----------------------------------------------------------------------------------------

    def rebuild(
        self,
        screened: Sequence[str],
        *,
        entity_count: int,
        quarantine_refs: Mapping[int, str],
        authserv_id: str,
    ) -> RebuiltEmail:
        """Write the screened segments back; ``quarantine_refs`` maps ``withheld`` index → vault token."""
        if len(screened) != len(self.segments):
            raise ValueError("screened segments do not match the document")
        changed_parts: set[int] = set()
        for part, edit in self._edits:
            if edit(screened):
                changed_parts.add(id(part))
        notices: list[str] = []
        for index, (part, withheld) in enumerate(self._withheld_parts):
            notice = _withheld_notice(withheld, screened, quarantine_refs.get(index))
            notices.append(notice)
            _replace_with_notice(part, notice)
            changed_parts.add(id(part))
        if self.removed_embedded:
            notices.append(
                f"SecureDesk removed {self.removed_embedded} embedded data URL(s) from the HTML: "
                "they cannot be screened."
            )
        dkim_removed = 0
        changed = bool(changed_parts) or self.removed_embedded > 0
        for root, members in self._roots:
            if any(id(member) in changed_parts for member in members) or (root is self.message and changed):
                dkim_removed += len(root.get_all("DKIM-Signature") or [])
                del root["DKIM-Signature"]
        top = self.message
        message_id = self.original_message_id
        if message_id is None or screened[self._message_id_segment or 0] != message_id:
            message_id = f"<sd.{secrets.token_hex(16)}@{authserv_id}>"
            del top["Message-ID"]
            top.set_raw("Message-ID", message_id)
        _remove_spoofed_notes(top, authserv_id)
        withheld_count = len(self.withheld) + self.removed_embedded
        top.set_raw("X-SecureDesk-Screened", f"entities={entity_count}; withheld={withheld_count}")
        if changed:
            reason = "content screened and changed by the SecureDesk gateway"
            if dkim_removed:
                reason += f"; {dkim_removed} DKIM signature(s) that no longer verify removed"
            top.set_raw("Authentication-Results", f'{authserv_id}; x-securedesk=modified reason="{reason}"')
        subject = "" if self._subject_segment is None else screened[self._subject_segment]
        return RebuiltEmail(
            content=serialize(top),
            changed=changed,
            subject=" ".join(subject.split()),
            body_text=self._body_text(screened),
            notices=tuple(notices),
            dkim_removed=dkim_removed,
            message_id=message_id,
        )

    def _body_text(self, screened: Sequence[str]) -> str:
        if self._body_plain is not None:
            return screened[self._body_plain[1]].replace("\r\n", "\n")
        if self._body_html is not None:
            rebuilt, _ = decode_text_payload(self._body_html)
            return HtmlText(rebuilt).visible_text()
        return ""


# --- helpers -----------------------------------------------------------------------------------------------


def _unchanged(screened: Sequence[str]) -> str | None:
    return None


def _effective_type(part: Message) -> str:
    content_type = part.get_content_type()
    if content_type == "application/octet-stream":
        filename = part.get_filename() or ""
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return _TEXT_EXTENSIONS.get(extension, content_type)
    return content_type


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _ascii_compatible(charset: str) -> bool:
    try:
        return _ASCII_PROBE.encode(charset) == _ASCII_PROBE.encode("ascii")
    except (LookupError, UnicodeError):
        return False


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode with the declared charset; fall back to UTF-8, then Latin-1 (never fails). ``True`` if it was clean."""
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    if charset:
        try:
            return data.decode(charset), _ascii_compatible(charset)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), charset is None
    except UnicodeDecodeError:
        return data.decode("latin-1"), False


def decode_text_payload(part: Message) -> tuple[str, bool]:
    """The text of a leaf part and whether it decoded cleanly (known charset, known transfer encoding, no defects)."""
    transfer = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    data = _payload_bytes(part)
    try:
        charset = part.get_content_charset()
    except (ValueError, LookupError, UnicodeError):
        charset = None
    text, clean = decode_bytes(data, charset)
    defects = any(True for _ in getattr(part, "defects", ()))
    return text, clean and transfer in _CLEAN_TRANSFER_ENCODINGS and not defects


def decode_header_text(value: str) -> str:
    """A header value as text: unfolded, encoded words decoded (unknown charsets fall back safely), 8-bit repaired."""
    unfolded = " ".join(value.replace("\r", "").split("\n"))
    try:
        chunks = email.header.decode_header(unfolded)
    except (ValueError, email.errors.HeaderParseError):
        chunks = [(unfolded, None)]
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(_repair_surrogates(chunk))
        else:
            out.append(decode_bytes(chunk, charset)[0])
    return "".join(out)


def _repair_surrogates(text: str) -> str:
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)[0]


def encode_header_text(text: str) -> str:
    """A header value we write: plain if short ASCII, else RFC 2047 encoded words, folded under 78 characters."""
    text = " ".join(text.split())
    if text.isascii() and len(text) < 900:
        return text
    return email.header.Header(text, charset="utf-8", maxlinelen=76).encode(linesep="\r\n")


def set_text_payload(part: Message, text: str) -> None:
    """Replace a text part's payload with ``text`` as UTF-8 (quoted-printable, or base64 if it was base64)."""
    transfer = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    data = normalized.encode("utf-8", "surrogatepass")
    if transfer == "base64":
        encoded = base64.encodebytes(normalized.replace("\n", "\r\n").encode("utf-8", "surrogatepass")).decode()
    else:
        transfer = "quoted-printable"
        encoded = quopri.encodestring(data).decode("ascii")
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = transfer
    if part.get_content_maintype() == "multipart":
        # A multipart without a usable boundary was screened as plain text: say so, so readers show it as text.
        del part["Content-Type"]
        part["Content-Type"] = "text/plain"
    if part.get_content_maintype() == "text" or part.get("Content-Type") is None:
        part.set_param("charset", "utf-8")
    # CRLF in the payload itself: a generator writes some payloads (multipart without boundary) unchanged.
    part.set_payload(encoded.replace("\r\n", "\n").replace("\n", "\r\n"))


def _replace_with_notice(part: Message, notice: str) -> None:
    for name in (
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Content-ID",
        "Content-Description",
        "Content-Location",
        "Content-MD5",
    ):
        del part[name]
    part.set_payload(quopri.encodestring((notice + "\n").encode("utf-8")).decode("ascii").replace("\n", "\r\n"))
    part["Content-Type"] = 'text/plain; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part["Content-Disposition"] = "inline"


def _withheld_notice(withheld: WithheldPart, screened: Sequence[str], token: str | None) -> str:
    name = "" if withheld.filename_segment is None else f' "{screened[withheld.filename_segment]}"'
    size = f"{withheld.size / 1024:.0f} KB" if withheld.size >= 1024 else f"{withheld.size} bytes"
    what = f"an attachment{name} ({withheld.content_type}, {size})"
    if token is not None:
        return (
            f"SecureDesk quarantined {what}: it cannot be screened for card numbers or national IDs. "
            f"It is kept encrypted for compliance review under reference {token}."
        )
    return (
        f"SecureDesk withheld {what}: it cannot be screened for card numbers or national IDs. "
        "Ask the customer to use the secure form instead."
    )


def _remove_spoofed_notes(message: Message, authserv_id: str) -> None:
    """Drop headers only this gateway may write, so a sender cannot forge them (RFC 8601 §5)."""
    del message["X-SecureDesk-Screened"]
    kept = [
        value
        for value in message.get_all("Authentication-Results") or []
        if str(value).strip().split(";", 1)[0].strip().lower() != authserv_id.lower()
    ]
    del message["Authentication-Results"]
    for value in kept:
        message.set_raw("Authentication-Results", value)


def serialize(message: Message) -> bytes:
    """The message as bytes with CRLF line endings, unchanged headers kept exactly as they arrived."""
    policy = message.policy.clone(linesep="\r\n")
    if isinstance(policy, EmailPolicy):
        policy = policy.clone(refold_source="none")
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(message)
    return buffer.getvalue()
