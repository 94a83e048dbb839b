"""Search bytes for a canary in every encoding it could hide in: as typed, digits only, base64, quoted-printable,
RFC 2047 words, HTML character references — in the raw bytes and in the fully decoded message."""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import html
import quopri
import re

_SEPARATORS = re.compile(r"[\s\-.\u00a0]+")


def _b64_cores(value: bytes) -> list[bytes]:
    """Base64 of ``value`` at each of the three alignments, without the characters its neighbours influence."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value)
        skip = (shift * 4 + 2) // 3
        core = encoded[skip + 1 : -4]
        if len(core) >= 8:
            cores.append(core)
    return cores


def decoded_text(raw: bytes, depth: int = 0) -> str:
    """Every header (RFC 2047 decoded) and every part's decoded payload (decoded payloads are parsed as messages
    again, for attached .eml files), HTML references resolved and tags removed."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    out: list[str] = []
    for part in message.walk():
        for _, value in part.items():
            try:
                out.append(str(email.header.make_header(email.header.decode_header(value))))
            except (LookupError, UnicodeError, email.errors.HeaderParseError):
                out.append(str(value))
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            if depth < 3:
                out.append(decoded_text(payload, depth + 1))
            charset = part.get_content_charset() or "utf-8"
            try:
                out.append(payload.decode(charset, "replace"))
            except LookupError:
                out.append(payload.decode("latin-1"))
    text = html.unescape("\n".join(out))
    return text + "\n" + re.sub(r"<[^>]*>", "", text)


def find_leaks(output: bytes, canaries: tuple[str, ...]) -> list[str]:
    """Names of the encodings in which a canary still appears in ``output`` (empty: no leak)."""
    found: list[str] = []
    flat = output.replace(b"\r\n", b"").replace(b"\n", b"")
    unsoftened = output.replace(b"=\r\n", b"").replace(b"=\n", b"")
    decoded = decoded_text(output)
    decoded_compact = _SEPARATORS.sub("", decoded)
    for canary in canaries:
        digits = re.sub(r"\D", "", canary)
        forms = {
            "plain": canary.encode(),
            "digits": digits.encode(),
            "quoted-printable": quopri.encodestring(canary.encode()).rstrip(b"=\n"),
            "rfc2047-q": canary.replace(" ", "_").encode(),
        }
        for name, form in forms.items():
            if form and (form in output or form in unsoftened):
                found.append(f"{canary}: {name}")
        for core in _b64_cores(canary.encode()) + _b64_cores(digits.encode()):
            if core in flat:
                found.append(f"{canary}: base64")
        if canary in decoded or digits in decoded_compact:
            found.append(f"{canary}: decoded")
    return found
