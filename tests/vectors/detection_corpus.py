"""The adversarial detection corpus: positives in every rendering we know of, and hard negatives.

Run ``python tests/vectors/detection_corpus.py`` to write ``tests/vectors/detection/{positives,negatives}.jsonl``
(deterministic: the same files every time). Every vector records its ``origin``: which public rule or publication
the number comes from, and which rendering or false-positive class the text shows. No real person's number is
used: cards are published test PANs or synthetic numbers in the ISO/IEC 7812 issuer ranges with a Luhn digit;
SSNs, NIRs, personnummer and IBANs are synthetic numbers built by the official rules (SSA, INSEE, Skatteverket,
the SWIFT IBAN registry as python-stdnum ships it), with their check digits computed by python-stdnum.

Hard negatives follow the false-positive classes that DLP vendors and Presidio's issue tracker report: Luhn-valid
identifiers labelled as orders, invoices, IMEIs, EAN/GTIN and ISBN barcodes, parcel tracking numbers, SIRET/SIREN
and Swedish organisationsnummer, phone numbers in en/fr/sv formats, timestamps, UUIDs and digests, IP and version
numbers, amounts and decimals, and numbers that fail one rule (SSA never-issued SSNs, a NIR with a wrong key, a
personnummer with an impossible date or a wrong Luhn digit, an IBAN with wrong check digits).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stdnum import ean, luhn, numdb
from stdnum.fr import nir as stdnum_nir
from stdnum.iso7064 import mod_97_10
from stdnum.us import ssn as stdnum_ssn

OUT = Path(__file__).parent / "detection"
SEED = 20261207
PER_TYPE = 640  # positives per entity type
NEGATIVES = 3400

# --- numbers -----------------------------------------------------------------------------------------------------

#: Test PANs published by payment processors for their sandboxes (Stripe, Braintree, Adyen, PayPal docs).
PUBLISHED_PANS = (
    "4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556", "5555555555554444",
    "5105105105105100", "2223003122003222", "5200828282828210", "378282246310005", "371449635398431",
    "6011111111111117", "6011000990139424", "3530111333300000", "3566002020360505", "30569309025904",
    "38520000023237", "36227206271667", "6200000000000005", "6759649826438453", "4917610000000000003",
    "2222400070000005", "5577000055770004", "4988438843884305", "4166676667666746", "6703444444444449",
)  # fmt: skip
#: (prefix, length) of issuer ranges (ISO/IEC 7812 registrations as the networks publish them).
CARD_RANGES = (
    ("4", 16), ("4", 19), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
    ("6011", 16), ("65", 16), ("3528", 16), ("3589", 16), ("62", 16), ("62", 19), ("36", 14), ("300", 14),
    ("6304", 16), ("2200", 16),
)  # fmt: skip
#: Example IBANs printed in the SWIFT IBAN registry (one per country shown).
PUBLISHED_IBANS = (
    "GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606", "SE4550000000058398257466",
    "ES9121000418450200051332", "IT60X0542811101000000123456", "NL91ABNA0417164300", "BE68539007547034",
    "CH9300762011623852957", "AT611904300234573201", "DK5000400440116243", "NO9386011117947", "FI2112345600000785",
    "IE29AIBK93115212345678", "PL61109010140000071219812874", "PT50000201231234567890154",
)  # fmt: skip
_IBAN_BBAN = re.compile(r"(\d+)!([nac])")


def card(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.3:
        return rng.choice(PUBLISHED_PANS), "published test PAN (processor sandbox documentation)"
    prefix, length = rng.choice(CARD_RANGES)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body), f"synthetic PAN: issuer range {prefix}, {length} digits, Luhn"


def ssn(rng: random.Random) -> tuple[str, str]:
    while True:
        number = f"{rng.randint(1, 899):03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if stdnum_ssn.is_valid(number):
            return number, "synthetic SSN: SSA issuance rules (stdnum.us.ssn)"


def nir(rng: random.Random, *, corsica: bool = False) -> tuple[str, str]:
    sex = rng.choice("12")
    year = f"{rng.randint(0, 99):02d}"
    month = f"{rng.randint(1, 12):02d}"
    department = rng.choice(("2A", "2B")) if corsica else f"{rng.choice([*range(1, 20), *range(21, 96)]):02d}"
    body = f"{sex}{year}{month}{department}{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    key = stdnum_nir.calc_check_digits(body)
    return body + key, "synthetic NIR: INSEE layout, key 97 - n mod 97 (stdnum.fr.nir)"


def personnummer(rng: random.Random, *, coordination: bool = False) -> tuple[str, str]:
    year = rng.randint(1930, 2019)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28) + (60 if coordination else 0)
    body = f"{year % 100:02d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    number = body + luhn.calc_check_digit(body)
    kind = "samordningsnummer (day + 60)" if coordination else "personnummer"
    return f"{year // 100}{number}", f"synthetic {kind}: Skatteverket layout, Luhn (returned with century)"


def iban(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.25:
        return rng.choice(PUBLISHED_IBANS), "published example IBAN (SWIFT IBAN registry)"
    database = numdb.get("iban")
    country = rng.choice(("GB", "DE", "FR", "SE", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "PT", "IE", "FI", "NO"))
    structure = database.info(country)[0][1]["bban"]
    bban = ""
    for count, kind in _IBAN_BBAN.findall(structure):
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[kind]
        bban += "".join(rng.choice(alphabet) for _ in range(int(count)))
    check = mod_97_10.calc_check_digits(bban + country)
    return f"{country}{check}{bban}", f"synthetic IBAN: {country} BBAN structure (SWIFT registry), ISO 7064 mod 97-10"


# --- renderings ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendering:
    name: str
    render: Callable[[str, random.Random], str]
    strong: bool = True  # found without context words


def _groups(digits: str, sizes: tuple[int, ...]) -> list[str]:
    out, position = [], 0
    for size in sizes:
        out.append(digits[position : position + size])
        position += size
    if position < len(digits):
        out.append(digits[position:])
    return [group for group in out if group]


def _card_sizes(digits: str) -> tuple[int, ...]:
    if len(digits) == 15:
        return (4, 6, 5)
    if len(digits) == 14:
        return (4, 6, 4)
    return (4, 4, 4, 4, 3)


def _joined(separators: Callable[[random.Random], str], sizes: Callable[[str], tuple[int, ...]]) -> Callable[..., str]:
    def render(digits: str, rng: random.Random) -> str:
        groups = _groups(digits, sizes(digits))
        out = groups[0]
        for group in groups[1:]:
            out += separators(rng) + group
        return out

    return render


def _fixed(separator: str) -> Callable[[random.Random], str]:
    return lambda rng: separator


def _choice(*separators: str) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(separators)


def _fullwidth(digits: str, rng: random.Random) -> str:
    return " ".join(_groups("".join(chr(0xFF10 + int(d)) for d in digits), (4, 4, 4, 4, 3)))


def _invisible_inside(chars: str) -> Callable[..., str]:
    def render(digits: str, rng: random.Random) -> str:
        position = rng.randint(1, len(digits) - 1)
        return digits[:position] + rng.choice(chars) + digits[position:]

    return render


CARD_RENDERINGS = (
    Rendering("contiguous", lambda d, r: d),
    Rendering("grouped by space", _joined(_fixed(" "), _card_sizes)),
    Rendering("grouped by dash", _joined(_fixed("-"), _card_sizes)),
    Rendering("grouped by dot", _joined(_fixed("."), _card_sizes)),
    Rendering("separators mixed in one number", _joined(_choice(" ", "-", ".", " - "), _card_sizes)),
    Rendering("doubled spaces", _joined(_fixed("  "), _card_sizes)),
    Rendering("TAB between groups", _joined(_fixed("\t"), _card_sizes)),
    Rendering("slash, underscore or comma between groups", _joined(_choice("/", "_", ","), _card_sizes)),
    Rendering("broken over two lines (LF)", _joined(_choice(" ", "\n"), _card_sizes)),
    Rendering("broken over two lines (CRLF)", _joined(_choice(" ", "\r\n"), _card_sizes)),
    Rendering("quote prefix on the next line", _joined(_choice(" ", "\n> "), _card_sizes)),
    Rendering("quoted-printable soft break", _joined(_choice(" ", "=\n"), _card_sizes)),
    Rendering("HTML span between groups", _joined(_choice("<span>", "</span> <span>", "<b>"), _card_sizes)),
    Rendering("HTML table cells", _joined(_fixed("</td><td>"), _card_sizes)),
    Rendering("HTML entities between groups", _joined(_choice("&nbsp;", "&#160;", "&#x20;"), _card_sizes)),
    Rendering("no-break and thin spaces", _joined(_choice("\u00a0", "\u2009", "\u202f"), _card_sizes)),
    Rendering("en dash between groups", _joined(_fixed("\u2013"), _card_sizes)),
    Rendering("full-width digits", _fullwidth),
    Rendering("zero-width character inside", _invisible_inside("\u200b\u200c\u200d\u2060\ufeff")),
    Rendering("NUL or control character inside", _invisible_inside("\x00\x01\x07\x1b")),
    Rendering("combining accent inside", _invisible_inside("\u0301\u0308")),
)
SSN_RENDERINGS = (
    Rendering("AAA-GG-SSSS", lambda d, r: f"{d[:3]}-{d[3:5]}-{d[5:]}"),
    Rendering("unusual dashes", lambda d, r: r.choice("\u2010\u2011\u2013\u2212").join((d[:3], d[3:5], d[5:]))),
    Rendering("AAA GG SSSS", lambda d, r: f"{d[:3]} {d[3:5]} {d[5:]}", strong=False),
    Rendering("mixed separators", lambda d, r: f"{d[:3]}-{d[3:5]} {d[5:]}", strong=False),
    Rendering("compact next to its label", lambda d, r: d, strong=False),
    Rendering("AAA.GG.SSSS", lambda d, r: f"{d[:3]}.{d[3:5]}.{d[5:]}", strong=False),
    Rendering("zero-width inside", lambda d, r: _invisible_inside("\u200b\u2060")(f"{d[:3]}-{d[3:5]}-{d[5:]}", r)),
)


def _nir_grouped(d: str, r: random.Random) -> str:
    return " ".join((d[0], d[1:3], d[3:5], d[5:7], d[7:10], d[10:13], d[13:]))


NIR_RENDERINGS = (
    Rendering("grouped", _nir_grouped),
    Rendering("contiguous", lambda d, r: d),
    Rendering("key apart", lambda d, r: f"{d[:13]} {d[13:]}"),
    Rendering("key labelled", lambda d, r: f"{_nir_grouped(d, r)[:-3]} {r.choice(('clé', 'cle', 'clé :'))} {d[13:]}"),
    Rendering("grouped with dots", lambda d, r: _nir_grouped(d, r).replace(" ", ".")),
    Rendering("mixed separators", lambda d, r: _nir_grouped(d, r).replace(" ", "-", 2)),
    Rendering("broken over two lines", lambda d, r: _nir_grouped(d, r).replace(" ", "\n", 1)),
    Rendering("without its key", lambda d, r: _nir_grouped(d, r)[:-3], strong=False),
)
PNR_RENDERINGS = (
    Rendering("YYMMDD-NNNN", lambda d, r: f"{d[2:8]}-{d[8:]}"),
    Rendering("YYYYMMDD-NNNN", lambda d, r: f"{d[:8]}-{d[8:]}"),
    Rendering("YYYYMMDDNNNN", lambda d, r: d),
    Rendering("YYMMDD+NNNN", lambda d, r: f"{d[2:8]}+{d[8:]}"),
    Rendering("YYMMDDNNNN", lambda d, r: d[2:], strong=False),
    Rendering("YYMMDD NNNN", lambda d, r: f"{d[2:8]} {d[8:]}", strong=False),
    Rendering("YYYYMMDD NNNN", lambda d, r: f"{d[:8]} {d[8:]}", strong=False),
    Rendering("en dash", lambda d, r: f"{d[2:8]}\u2013{d[8:]}"),
)


def _iban_grouped(d: str, r: random.Random) -> str:
    return " ".join(d[i : i + 4] for i in range(0, len(d), 4))


IBAN_RENDERINGS = (
    Rendering("grouped by four", _iban_grouped),
    Rendering("contiguous", lambda d, r: d),
    Rendering("lower case", lambda d, r: _iban_grouped(d, r).lower()),
    Rendering("dashes", lambda d, r: _iban_grouped(d, r).replace(" ", "-")),
    Rendering("broken over two lines", lambda d, r: _iban_grouped(d, r).replace(" ", "\n", 1)),
    Rendering("quote prefix", lambda d, r: _iban_grouped(d, r).replace(" ", "\n> ", 1)),
    Rendering("no-break spaces", lambda d, r: _iban_grouped(d, r).replace(" ", "\u00a0")),
)

# --- sentences ---------------------------------------------------------------------------------------------------

CONTEXT_TEMPLATES = {
    "CREDIT_CARD": {
        "en": ("My card number is {n}, please charge it.", "Visa {n} exp 12/29", "Pay with card {n} thanks"),
        "fr": ("Voici ma carte bancaire : {n} merci", "Numéro de carte {n}", "Paiement par carte {n} svp"),
        "sv": ("Mitt kortnummer är {n} tack", "Betala med kortet {n}", "Kort: {n}"),
    },
    "US_SSN": {
        "en": ("My SSN is {n}.", "social security number: {n}", "SSN {n} for the form"),
        "fr": ("Mon SSN américain est {n}", "social security {n} (US)", "SSN : {n}"),
        "sv": ("Mitt amerikanska SSN är {n}", "SSN {n}", "social security {n} tack"),
    },
    "FR_NIR": {
        "en": ("My French social security number is {n}.", "NIR {n}", "carte vitale {n}"),
        "fr": ("Mon numéro de sécurité sociale est {n}", "NIR : {n}", "Numéro de sécu {n} merci"),
        "sv": ("Mitt franska NIR är {n}", "NIR {n}", "sécurité sociale {n}"),
    },
    "SE_PERSONNUMMER": {
        "en": ("My Swedish personnummer is {n}.", "personal identity number {n}", "pnr {n}"),
        "fr": ("Mon personnummer suédois est {n}", "personnummer : {n}", "numéro personnel {n}"),
        "sv": ("Mitt personnummer är {n}", "Personnr: {n}", "samordningsnummer {n} tack"),
    },
    "IBAN_CODE": {
        "en": ("Please refund to IBAN {n}.", "bank account {n}", "wire it to {n}"),
        "fr": ("Remboursement sur mon IBAN {n} merci", "RIB {n}", "virement sur {n}"),
        "sv": ("Återbetalning till IBAN {n} tack", "kontonummer {n}", "överföring till {n}"),
    },
}
PLAIN_TEMPLATES = {
    "en": ("Hi, here it is: {n}", "{n}", "Sorry for the delay. {n} is what you asked for.", "ok so {n} right?"),
    "fr": ("Bonjour, le voici : {n}", "{n}", "Désolé pour le retard. {n} comme demandé.", "alors {n} c'est ça ?"),
    "sv": ("Hej, här är det: {n}", "{n}", "Förlåt dröjsmålet. {n} som ni bad om.", "alltså {n} eller hur?"),
}
GLUED = ("x", "Nr", "no")


@dataclass
class Vector:
    text: str
    lang: str
    expected: list[tuple[str, int, int]] = field(default_factory=list)
    origin: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"text": self.text, "lang": self.lang, "expected": self.expected, "origin": self.origin},
            ensure_ascii=False,
        )


def _place(template: str, rendered: str, entity: str, lang: str, origin: str) -> Vector:
    start = template.index("{n}")
    text = template.replace("{n}", rendered)
    return Vector(text, lang, [(entity, start, start + len(rendered))], origin)


def positives(rng: random.Random) -> Iterator[Vector]:
    makers: dict[str, tuple[Callable[[random.Random], tuple[str, str]], tuple[Rendering, ...]]] = {
        "CREDIT_CARD": (card, CARD_RENDERINGS),
        "US_SSN": (ssn, SSN_RENDERINGS),
        "FR_NIR": (lambda r: nir(r, corsica=r.random() < 0.15), NIR_RENDERINGS),
        "SE_PERSONNUMMER": (lambda r: personnummer(r, coordination=r.random() < 0.15), PNR_RENDERINGS),
        "IBAN_CODE": (iban, IBAN_RENDERINGS),
    }
    for entity, (make, renderings) in makers.items():
        for index in range(PER_TYPE):
            rendering = renderings[index % len(renderings)]
            lang = ("en", "fr", "sv")[index % 3]
            number, number_origin = make(rng)
            rendered = rendering.render(number, rng)
            needs_context = not rendering.strong or (entity == "CREDIT_CARD" and len(number) < 15)
            if entity == "SE_PERSONNUMMER" and rendering.name in ("YYMMDDNNNN",) and number[2] == "0":
                needs_context = True
            use_context = needs_context or index % 2 == 0
            templates = CONTEXT_TEMPLATES[entity][lang] if use_context else PLAIN_TEMPLATES[lang]
            template = rng.choice(templates)
            origin = f"{number_origin}; rendering: {rendering.name}; {'with' if use_context else 'no'} context"
            if entity == "CREDIT_CARD" and rendering.name == "contiguous" and index % 4 == 1:
                glue = rng.choice(GLUED)
                vector = _place(template, glue + rendered, entity, lang, origin + "; glued to a word")
                entity_, start, end = vector.expected[0]
                vector.expected = [(entity_, start + len(glue), end)]
                yield vector
                continue
            yield _place(template, rendered, entity, lang, origin)
    # The issue's own examples of addresses: a card inside an email address's local part.
    for _ in range(40):
        number, number_origin = card(rng)
        if len(number) < 15:
            continue
        local = rng.choice(("cust.", "", "j.doe+", "kund_"))
        text = f"From: {local}{number}@example.org"
        start = text.index(number)
        yield Vector(text, "en", [("CREDIT_CARD", start, start + len(number))], f"{number_origin}; in an address")


# --- hard negatives ------------------------------------------------------------------------------------------------


def _luhn_valid(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def _luhn_invalid(rng: random.Random) -> str:
    number, _ = card(rng)
    last = str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return number[:-1] + last


def _negative_makers() -> list[tuple[str, Callable[[random.Random], tuple[str, str]]]]:
    def order(rng: random.Random) -> tuple[str, str]:
        number = _luhn_valid(rng, rng.choice(("4", "5", "37")), rng.choice((13, 16)))
        label = rng.choice(("Order", "Order number", "Invoice", "Ref", "Tracking", "Commande n°", "Facture",
                            "Ordernummer", "Fakturanummer", "Ärendenummer"))  # fmt: skip
        return f"{label} {number} has shipped.", "Luhn-valid reference labelled as an order/invoice"

    def imei(rng: random.Random) -> tuple[str, str]:
        number = _luhn_valid(rng, rng.choice(("35", "86", "01", "49")), 15)
        return f"IMEI {number} is blocked", "IMEI: 15 digits with a Luhn digit (GSMA TAC + serial)"

    def barcode(rng: random.Random) -> tuple[str, str]:
        body = rng.choice(("400", "590", "978", "979", "730", "300")) + "".join(
            rng.choice(string.digits) for _ in range(9)
        )
        number = body + ean.calc_check_digit(body)
        label = rng.choice(("EAN", "GTIN", "ISBN", "barcode", "code-barres", "streckkod"))
        return f"{label} {number}", "EAN-13/GTIN/ISBN-13 with a valid check digit (GS1)"

    def tracking(rng: random.Random) -> tuple[str, str]:
        kind = rng.randrange(3)
        if kind == 0:
            digits = "9400" + "".join(rng.choice(string.digits) for _ in range(18))
            return f"USPS tracking {' '.join(digits[i : i + 4] for i in range(0, 22, 4))}", "USPS tracking (22 digits)"
        if kind == 1:
            tail = "".join(rng.choice(string.digits) for _ in range(10))
            return f"UPS 1Z{rng.choice(('999AA1', 'A12B34'))}{tail}", "UPS tracking (1Z + 16)"
        return f"FedEx {''.join(rng.choice(string.digits) for _ in range(12))}", "FedEx tracking (12 digits)"

    def company(rng: random.Random) -> tuple[str, str]:
        kind = rng.randrange(3)
        if kind == 0:
            siren = _luhn_valid(rng, str(rng.randint(1, 9)), 9)
            return f"SIREN {siren[:3]} {siren[3:6]} {siren[6:]}", "SIREN (9 digits, Luhn)"
        if kind == 1:
            siret = _luhn_valid(rng, str(rng.randint(1, 9)), 14)
            return f"SIRET : {siret}", "SIRET (14 digits, Luhn)"
        body = "55" + rng.choice("23456789") + "".join(rng.choice(string.digits) for _ in range(6))
        number = body + luhn.calc_check_digit(body)
        return f"Organisationsnummer {number[:6]}-{number[6:]}", "Swedish organisationsnummer (Luhn, month 20+)"

    def phone(rng: random.Random) -> tuple[str, str]:
        d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
        options = (
            f"call +1 {d(3)}-555-{d(4)}", f"(555) {d(3)}-{d(4)}", f"+44 20 {d(4)} {d(4)}",
            f"appelez le 06 {d(2)} {d(2)} {d(2)} {d(2)}", f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"ring 070-{d(3)} {d(2)} {d(2)}", f"+46 70 {d(3)} {d(2)} {d(2)}", f"tel. 08-{d(3)} {d(3)} {d(2)}",
            f"Tel: +46 (0)8 {d(3)} {d(2)} {d(2)}",
        )  # fmt: skip
        return rng.choice(options), "phone number (NANP, UK, FR, SE formats)"

    def machine(rng: random.Random) -> tuple[str, str]:
        kind = rng.randrange(6)
        if kind == 0:
            return f"id {uuid.UUID(int=rng.getrandbits(128))}", "UUID"
        if kind == 1:
            return f"sha1 {hashlib.sha1(str(rng.random()).encode()).hexdigest()}", "hex digest (SHA-1)"  # noqa: S324
        if kind == 2:
            return f"at {rng.randint(1_500_000_000, 1_900_000_000)}", "Unix timestamp (seconds)"
        if kind == 3:
            return f"ts={rng.randint(1_500_000_000_000, 1_900_000_000_000)}", "Unix timestamp (milliseconds)"
        if kind == 4:
            ip = ".".join(str(rng.randint(0, 255)) for _ in range(4))
            return f"IP {ip}, version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}", "IP and version"
        when = f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return f"on {when} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", "ISO 8601 timestamp"

    def quantity(rng: random.Random) -> tuple[str, str]:
        number = _luhn_valid(rng, "4", 16)
        options = (
            f"value 0.{number}",
            f"value {number[0]}.{number[1:]}",
            f"value {number[0]}.{number[1:]}e+15",
            f"amount {int(number):,}.00",
            f"ratio {number[:2]}.{number[2:]}E-2",
        )
        return rng.choice(options), "decimal, amount or scientific notation holding a Luhn-valid run"

    def invalid(rng: random.Random) -> tuple[str, str]:
        kind = rng.randrange(5)
        if kind == 0:
            number = _luhn_invalid(rng)
            return (
                f"card {' '.join(number[i : i + 4] for i in range(0, len(number), 4))}",
                "card with a wrong Luhn digit",
            )
        if kind == 1:
            bad = rng.choice(("000", "666", f"9{rng.randint(0, 99):02d}"))
            return f"SSN {bad}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", "SSN area never issued (SSA)"
        if kind == 2:
            number, _ = nir(rng)
            key = f"{(int(number[13:]) + rng.randint(1, 50)) % 97 + 1:02d}"
            if key == number[13:]:
                key = "00"
            return f"NIR {number[:13]}{key}", "NIR with a wrong key"
        if kind == 3:
            number, _ = personnummer(rng)
            last = str((int(number[-1]) + rng.randint(1, 9)) % 10)
            return f"personnummer {number[2:8]}-{number[8:11]}{last}", "personnummer with a wrong Luhn digit"
        number, _ = iban(rng)
        check = f"{(int(number[2:4]) + rng.randint(1, 90)) % 97 + 2:02d}"
        if check == number[2:4]:
            check = "01"
        return f"IBAN {number[:2]}{check}{number[4:]}", "IBAN with wrong check digits"

    def url(rng: random.Random) -> tuple[str, str]:
        number = _luhn_valid(rng, rng.choice(("4", "5")), 16)
        host = rng.choice(("https://shop.example/orders/", "www.example.com/r/", "shop.example.com/track/"))
        return f"see {host}{number}/items", "Luhn-valid object id in a URL path"

    return [
        ("order", order), ("imei", imei), ("barcode", barcode), ("tracking", tracking), ("company", company),
        ("phone", phone), ("machine", machine), ("quantity", quantity), ("invalid", invalid), ("url", url),
    ]  # fmt: skip


def negatives(rng: random.Random) -> Iterator[Vector]:
    makers = _negative_makers()
    for index in range(NEGATIVES):
        name, make = makers[index % len(makers)]
        text, origin = make(rng)
        lang = ("en", "fr", "sv")[index % 3]
        yield Vector(text, lang, [], f"hard negative ({name}): {origin}")


def main() -> int:
    rng = random.Random(SEED)
    OUT.mkdir(exist_ok=True)
    for name, vectors in (("positives", positives(rng)), ("negatives", negatives(rng))):
        lines = [vector.to_json() for vector in vectors]
        (OUT / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)} vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
