"""A corpus of emails generated here (never real mail): every MIME shape the gateway must screen, and hostile ones.

Each ``Sample`` names its raw bytes, the canaries it carries, the masks the screened output must show, and the
``X-SecureDesk-Screened`` header it must get (or the error it must be refused with).
"""

from __future__ import annotations

import base64
import io
import quopri
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from securedesk.errors import SecureDeskError

VISA = "4111 1111 1111 1111"
VISA_DIGITS = "4111111111111111"
MC = "5555-5555-5555-4444"
AMEX = "378282246310005"
SSN = "536-22-1847"
FR_NIR = "1 84 12 75 108 045 28"
SE_PNR = "811218-9876"
SE_IBAN = "SE45 5000 0000 0583 9825 7466"
CANARIES = (
    VISA,
    VISA_DIGITS,
    MC,
    AMEX,
    SSN,
    FR_NIR,
    "184127510804528",
    SE_PNR,
    "8112189876",
    SE_IBAN,
    "SE4550000000058398257466",
)
MASK_VISA = "[CARD •••• 1111]"
MASK_MC = "[CARD •••• 4444]"
MASK_AMEX = "[CARD •••• 0005]"
MASK_SSN = "[SSN •••• 1847]"
MASK_NIR = "[FR_NIR •••• 4528]"
MASK_PNR = "[PERSONNUMMER •••• 9876]"
MASK_IBAN = "[IBAN •••• 7466]"
CVV_REMOVED = "[CVV removed]"
EXPIRY_REMOVED = "[EXPIRY removed]"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + VISA_DIGITS.encode() + b"\x00" * 20
PDF = b"%PDF-1.4\n1 0 obj << /Length 44 >> stream\nBT (Card " + VISA.encode() + b") Tj ET\nendstream endobj\n%%EOF\n"


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes
    masks: tuple[str, ...] = ()
    screened_header: str | None = None
    error: type[SecureDeskError] | None = None
    extra_checks: tuple[Callable[[bytes], None], ...] = field(default=())


def _headers(msg: EmailMessage | MIMEMultipart | MIMEText, subject: str = "Help with my account") -> None:
    msg["From"] = "Jane Customer <jane@example.com>"
    msg["To"] = "support@support.securedesk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<corpus-sample@example.com>"
    msg["Date"] = "Mon, 04 Jan 2027 10:00:00 +0000"


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _simple(body: str, *, charset: str = "utf-8", cte: str | None = None, subtype: str = "plain") -> bytes:
    msg = EmailMessage()
    _headers(msg)
    msg.set_content(body, subtype=subtype, charset=charset, cte=cte)
    return msg.as_bytes()


def _raw(text: str) -> bytes:
    return _crlf(text.encode("latin-1"))


def _b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode("ascii")


def _with_attachment(data: bytes, maintype: str, subtype: str, filename: str) -> bytes:
    msg = EmailMessage()
    _headers(msg)
    msg.set_content("Please see the attachment.\n")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def _forwarded(inner_body: str, *, depth: int = 1) -> bytes:
    inner = EmailMessage()
    inner["From"] = "Card Holder <holder@example.org>"
    inner["To"] = "jane@example.com"
    inner["Subject"] = f"my card is {MC}"
    inner.set_content(inner_body)
    for level in range(depth - 1):
        wrapper = EmailMessage()
        wrapper["Subject"] = f"Fwd level {level}"
        wrapper.set_content("forwarding\n")
        wrapper.add_attachment(inner)
        inner = wrapper
    outer = EmailMessage()
    _headers(outer, "Fwd: card")
    outer.set_content("See the forwarded message below.\n")
    outer.add_attachment(inner)
    return outer.as_bytes()


def _zip_with_card() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("card.txt", f"card {VISA}\n")
    return buffer.getvalue()


def _deep(levels: int) -> bytes:
    lines = ["From: a@example.com", "To: support@support.securedesk.test", "Subject: deep", "MIME-Version: 1.0"]
    body: list[str] = []
    for level in range(levels):
        body.append(f'Content-Type: multipart/mixed; boundary="b{level}"')
        body.append("")
        body.append(f"--b{level}")
    body.append("Content-Type: text/plain")
    body.append("")
    body.append(f"deep card {VISA}")
    for level in reversed(range(levels)):
        body.append(f"--b{level}--")
    return _raw("\n".join(lines + body) + "\n")


def _many_parts(count: int) -> bytes:
    outer = MIMEMultipart()
    _headers(outer)
    for index in range(count):
        outer.attach(MIMEText(f"part {index}\n"))
    return outer.as_bytes()


def _signed_dkim(body: str) -> bytes:
    text = (
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to:subject; bh=AAAA; b=BBBB\n"
        "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: hello\n"
        "Message-ID: <dkim@example.com>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{body}\n"
    )
    return _raw(text)


def samples() -> list[Sample]:
    s: list[Sample] = []
    add = s.append
    add(
        Sample(
            "plain-ascii",
            _simple(f"My card is {VISA}, thanks\n", charset="us-ascii"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "plain-utf8-8bit",
            _simple(f"Hélène ici, carte {MC} merci\n", cte="8bit"),
            (MASK_MC,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "plain-quoted-printable-soft-break",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: qp\nMIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                "Card: 4111 1111 11=\n11 1111 and caf=C3=A9\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(Sample("plain-base64", _simple(f"Card {AMEX} here\n", cte="base64"), (MASK_AMEX,), "entities=1; withheld=0"))
    add(
        Sample(
            "iso-8859-1-qp",
            _simple(f"Voilà ma carte {VISA} Müller\n", charset="iso-8859-1", cte="quoted-printable"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "html-text-node",
            _simple(f"<html><body><p>Card: {VISA}</p></body></html>", subtype="html"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "html-attributes",
            _simple(
                f'<p><a href="mailto:x@example.com?body={VISA.replace(" ", "%20")}" title="{MC}">'
                f'<img alt="{AMEX}" src="https://example.com/i.png"></a></p>',
                subtype="html",
            ),
            (MASK_MC, MASK_AMEX),
            "entities=3; withheld=0",
        )
    )
    add(
        Sample(
            "html-character-references",
            _simple("<p>&#52;111 1111 &#x31;111 1111</p>", subtype="html"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "html-split-across-inline-tags",
            _simple("<p>Card <b>4111</b> <i>1111</i> 1111 <span>1111</span> ok</p>", subtype="html"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "html-comment-and-script",
            _simple(f"<p>hi</p><!-- {VISA} --><script>var c='{MC}';</script>", subtype="html"),
            (MASK_VISA, MASK_MC),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "html-data-url-removed",
            _simple(
                f'<p>see</p><img src="data:text/plain;base64,{base64.b64encode(VISA.encode()).decode()}">',
                subtype="html",
            ),
            (),
            "entities=0; withheld=1",
        )
    )
    alt = EmailMessage()
    _headers(alt)
    alt.set_content(f"Card {VISA}\n")
    alt.add_alternative(f"<p>Card <b>{VISA}</b></p>", subtype="html")
    add(Sample("multipart-alternative", alt.as_bytes(), (MASK_VISA,), "entities=2; withheld=0"))
    add(
        Sample(
            "encoded-word-subject-base64",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\n"
                f"Subject: =?utf-8?b?{base64.b64encode(f'Ma carte {VISA} é'.encode()).decode()}?=\n"
                "Content-Type: text/plain\n\nhello\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "encoded-word-subject-qp-latin1",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\n"
                "Subject: =?iso-8859-1?q?carte_5555-5555-5555-4444_=E9t=E9?=\n"
                "Content-Type: text/plain\n\nhello\n"
            ),
            (MASK_MC,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "display-name-with-card",
            _raw(
                "From: =?utf-8?q?Jane_4111_1111_1111_1111?= <jane@example.com>\n"
                f'To: "{SSN} team" <support@support.securedesk.test>\nSubject: hi\n\nhello\n'
            ),
            (MASK_VISA, MASK_SSN),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "free-text-custom-header",
            _raw(
                f"From: jane@example.com\nTo: support@support.securedesk.test\nSubject: hi\nX-Customer-Note: {AMEX}\n\n"
                "hello\n"
            ),
            (MASK_AMEX,),
            "entities=1; withheld=0",
        )
    )
    add(Sample("forwarded-rfc822", _forwarded(f"Inner card {VISA}\n"), (MASK_VISA, MASK_MC), "entities=2; withheld=0"))
    add(
        Sample(
            "forwarded-twice",
            _forwarded(f"Inner card {VISA}\n", depth=3),
            (MASK_VISA, MASK_MC),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "txt-attachment-ssn",
            _with_attachment(f"SSN: {SSN}\n".encode(), "text", "plain", "notes.txt"),
            (MASK_SSN,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "csv-attachment",
            _with_attachment(f"name,card\njane,{VISA_DIGITS}\n".encode(), "text", "csv", "cards.csv"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "json-attachment",
            _with_attachment(f'{{"card": "{MC}"}}'.encode(), "application", "json", "data.json"),
            (MASK_MC,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "ics-attachment",
            _with_attachment(
                (
                    f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:card {VISA}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                ).encode(),
                "text",
                "calendar",
                "invite.ics",
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "vcf-attachment",
            _with_attachment(
                f"BEGIN:VCARD\r\nFN:Jane\r\nNOTE:{AMEX}\r\nEND:VCARD\r\n".encode(), "text", "vcard", "jane.vcf"
            ),
            (MASK_AMEX,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "html-attachment",
            _with_attachment(f"<p>{VISA}</p>".encode(), "text", "html", "page.html"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "eml-as-octet-stream",
            _with_attachment(
                _crlf(
                    f"Subject: old\nContent-Transfer-Encoding: base64\n\n"
                    f"{base64.b64encode(f'card {VISA}'.encode()).decode()}\n".encode()
                ),
                "application",
                "octet-stream",
                "old.eml",
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(Sample("png-attachment", _with_attachment(PNG, "image", "png", "card.png"), (), "entities=0; withheld=1"))
    add(
        Sample(
            "pdf-attachment", _with_attachment(PDF, "application", "pdf", "statement.pdf"), (), "entities=0; withheld=1"
        )
    )
    add(
        Sample(
            "zip-never-expanded",
            _with_attachment(_zip_with_card(), "application", "zip", "cards.zip"),
            (),
            "entities=0; withheld=1",
        )
    )
    add(
        Sample(
            "filename-with-card",
            _with_attachment(b"\x00\x01", "application", "octet-stream", f"card {VISA_DIGITS}.bin"),
            (MASK_VISA,),
            "entities=2; withheld=1",
        )
    )
    add(
        Sample(
            "missing-closing-boundary",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="XYZ"\n\n--XYZ\nContent-Type: text/plain\n\n'
                f"card {VISA}\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "multipart-without-boundary",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                "Content-Type: multipart/mixed\n\n--XYZ\nContent-Type: text/plain\n\n"
                f"card {VISA}\n--XYZ--\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "boundary-mismatch",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="AAA"\n\n--BBB\nContent-Type: text/plain\n\n'
                f"card {VISA}\n--BBB--\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "wrong-charset-declared",
            _crlf(
                b"From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                b"caf\xe9 \xe9t\xe9 card " + MC.encode() + b"\n"
            ),
            (MASK_MC,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "unknown-charset",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\n"
                "Subject: =?x-klingon?q?4111_1111_1111_1111?=\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=x-klingon\n\n"
                f"card {AMEX}\n"
            ),
            (MASK_AMEX, MASK_VISA),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "utf16-declared-ascii-body",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=utf-16\n\n"
                f"card {VISA}!\n"
            ),
            (),
            None,
        )
    )
    utf7 = f"card {VISA}".encode("utf-7").decode("ascii")
    add(
        Sample(
            "utf7-encoded-digits",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                f"Content-Type: text/plain; charset=utf-7\n\n{utf7}\n+ADQ-111 1111 1111 1111\n"
            ),
            (MASK_VISA,),
            "entities=2; withheld=0",
        )
    )
    add(Sample("no-headers-at-all", _raw(f"\ncard {VISA}\n"), (MASK_VISA,), "entities=1; withheld=0"))
    add(
        Sample(
            "bad-base64",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                f"{base64.b64encode(f'card {VISA} ok'.encode()).decode()[:-2]}!!*\n"
            ),
            (MASK_VISA,),
            None,
        )
    )
    add(
        Sample(
            "preamble-and-epilogue",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                f'Content-Type: multipart/mixed; boundary="P"\n\npreamble {VISA}\n'
                "--P\nContent-Type: text/plain\n\nbody\n"
                f"--P--\nepilogue {MC}\n"
            ),
            (),
            "entities=2; withheld=0",
        )
    )
    huge_subject = "\n ".join(["x" * 70] * 1500 + [VISA] + ["y" * 70] * 1500)
    add(
        Sample(
            "huge-folded-header",
            _raw(f"From: jane@example.com\nTo: support@support.securedesk.test\nSubject: {huge_subject}\n\nbody\n"),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "message-rfc822-in-base64",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="Q"\n\n--Q\nContent-Type: message/rfc822\n'
                "Content-Transfer-Encoding: base64\n\n"
                f"{base64.b64encode(f'Subject: in{chr(10)}{chr(10)}card {VISA}{chr(10)}'.encode()).decode()}\n--Q--\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "multipart-signed-smime",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="S"\n\n'
                f"--S\nContent-Type: text/plain\n\ncard {VISA}\n--S\nContent-Type: application/pkcs7-signature\n"
                "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n--S--\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=1",
        )
    )
    add(Sample("dkim-signed-changed", _signed_dkim(f"card {VISA}"), (MASK_VISA,), "entities=1; withheld=0"))
    add(Sample("dkim-signed-clean", _signed_dkim("nothing sensitive here"), (), "entities=0; withheld=0"))
    app = MIMEApplication(f"card {VISA}".encode(), _subtype="x-unknown")
    mixed = MIMEMultipart()
    _headers(mixed)
    mixed.attach(MIMEText("see file\n"))
    mixed.attach(app)
    add(Sample("unknown-application-type", mixed.as_bytes(), (), "entities=0; withheld=1"))
    add(
        Sample(
            "qp-encoded-html-attribute",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                + quopri.encodestring(f'<a title=3D"x" href="tel:{VISA}">call</a>'.encode()).decode()
                + "\n"
            ),
            (MASK_VISA,),
            "entities=1; withheld=0",
        )
    )
    # French and Swedish customers, in the encodings their mail programs still use.
    add(
        Sample(
            "french-nir-card-cvv-iso-8859-1-qp",
            _simple(
                f"Bonjour, je suis Hélène. Mon numéro de sécurité sociale est {FR_NIR} et ma carte bleue {VISA}, "
                "date d'expiration 12/29, cryptogramme 123. Merci d'avance.\n",
                charset="iso-8859-1",
                cte="quoted-printable",
            ),
            (MASK_NIR, MASK_VISA, EXPIRY_REMOVED, CVV_REMOVED),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "french-encoded-word-subject-latin1-base64",
            _raw(
                "From: =?iso-8859-1?q?H=E9l=E8ne_Dupr=E9?= <helene@example.fr>\nTo: support@support.securedesk.test\n"
                f"Subject: =?iso-8859-1?b?{_b64(f'Réclamation : carte {AMEX} débitée', 'latin-1')}?=\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
                "Bonjour, ma carte a été débitée deux fois. Pouvez-vous vérifier ?\n"
            ),
            (MASK_AMEX,),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "swedish-personnummer-latin1-8bit-encoded-subject",
            _crlf(
                b"From: =?iso-8859-1?q?=C5sa_L=F6fgren?= <asa@example.se>\nTo: support@support.securedesk.test\n"
                b"Subject: =?iso-8859-1?q?F=F6rs=E4kring_och_kort_5555_5555_5555_4444?=\nMIME-Version: 1.0\n"
                b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
                + f"Hej! Mitt personnummer är {SE_PNR} och kortnumret {MC.replace('-', ' ')} giltigt till 11/28. "
                "Tack så mycket, Åsa\n".encode("latin-1")
            ),
            (MASK_PNR, MASK_MC, EXPIRY_REMOVED),
            "entities=3; withheld=0",
        )
    )
    swedish = EmailMessage()
    _headers(swedish, "Återbetalning")
    swedish.set_content(f"Hej, mitt konto är {SE_IBAN}. Tack!\n", charset="utf-8", cte="base64")
    swedish.add_alternative(f"<p>Hej, mitt konto är <b>{SE_IBAN}</b>. Tack!</p>", subtype="html", cte="base64")
    add(Sample("swedish-iban-multipart-alternative-base64", swedish.as_bytes(), (MASK_IBAN,), "entities=2; withheld=0"))
    # Headers that carry identifiers, and filenames in every parameter encoding: a number there is a number too.
    add(
        Sample(
            "references-and-in-reply-to-with-card",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\n"
                f"In-Reply-To: <{VISA_DIGITS}@mail.example.com>\n"
                f"References: <a1@example.com>\n <{VISA_DIGITS}@mail.example.com>\n"
                "MIME-Version: 1.0\nContent-Type: text/plain\n\nsee below\n"
            ),
            (),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "message-id-with-card",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\n"
                f"Message-ID: <{VISA_DIGITS}@x.com>\n"
                "MIME-Version: 1.0\nContent-Type: text/plain\n\nhello\n"
            ),
            (),
            "entities=1; withheld=0",
        )
    )
    add(
        Sample(
            "received-and-content-id-with-card",
            _raw(
                "Received: from mail.example.com (card 4111-1111-1111-1111 [192.0.2.1])\n by mx.example.org; "
                "Mon, 7 Dec 2026 10:00:00 +0000\nFrom: jane@example.com\n"
                "To: support@support.securedesk.test\nSubject: x\n"
                'MIME-Version: 1.0\nContent-Type: multipart/related; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
                f"hi\n--B\nContent-Type: text/plain\nContent-ID: <{VISA_DIGITS}@x>\n\npart two\n--B--\n"
            ),
            (),
            "entities=2; withheld=0",
        )
    )
    add(
        Sample(
            "filename-rfc2231-continuations-with-card",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nsee file\n'
                "--B\nContent-Type: application/octet-stream\n"
                "Content-Disposition: attachment; filename*0*=utf-8''k%C3%B6p%20kort%20;\n"
                ' filename*1="4111 1111 1111 1111.bin"\n'
                "Content-Transfer-Encoding: base64\n\nAAE=\n--B--\n"
            ),
            (MASK_VISA,),
            "entities=2; withheld=1",
        )
    )
    add(
        Sample(
            "filename-rfc2047-with-card",
            _raw(
                "From: jane@example.com\nTo: support@support.securedesk.test\nSubject: x\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nsee file\n'
                f'--B\nContent-Type: application/octet-stream; name="=?utf-8?b?{_b64(f"carte {MC}.bin", "utf-8")}?="\n'
                "Content-Transfer-Encoding: base64\n\nAAE=\n--B--\n"
            ),
            (MASK_MC,),
            "entities=2; withheld=1",
        )
    )
    add(Sample("too-deep", _deep(40), error=_too_complex()))
    # Deep enough to overflow the standard library parser's recursion: still a permanent refusal, not a 451.
    add(Sample("too-deep-for-the-parser", _deep(3000), error=_too_complex()))
    add(Sample("too-many-parts", _many_parts(600), error=_too_complex()))
    return s


def _too_complex() -> type[SecureDeskError]:
    from securedesk.errors import MimeTooComplex

    return MimeTooComplex
