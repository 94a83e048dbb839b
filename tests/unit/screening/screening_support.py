"""Helpers shared by the screening tests: uniform policies, the test vectors, audit rows and secret counts."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from securedesk.detection import Detector, Finding
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage.database import Database

MakeScreener = Callable[..., Screener]
WritePolicy = Callable[..., PolicyHolder]
MakeCase = Callable[..., Awaitable[str]]

#: A policy whose every rule is the given action; ``{nudge}`` and ``{threshold}`` filled in by ``rules_policy``.
_UNIFORM = """\
[defaults]
action = "{action}"
threshold = {threshold}
retention_days = 30
reveal_roles = ["agent"]
nudge = {nudge}
"""


def uniform_policy(action: str, *, nudge: bool = True, threshold: float = 0.5, extra: str = "") -> str:
    return _UNIFORM.format(action=action, nudge="true" if nudge else "false", threshold=threshold) + extra


async def audit_rows(db: Database) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch_all("SELECT * FROM audit_events ORDER BY seq")]


async def secret_count(db: Database) -> int:
    row = await db.fetch_one("SELECT count(*) FROM secrets")
    assert row is not None
    return int(row[0])


#: (text, language, entity type, normalized value): one sensitive value per text, many brands and formats.
VECTORS: tuple[tuple[str, str, str, str], ...] = (
    ("My card is 4111 1111 1111 1111, thanks", "en", "CREDIT_CARD", "4111111111111111"),
    ("card: 5555-5555-5555-4444", "en", "CREDIT_CARD", "5555555555554444"),
    ("Amex 3782 822463 10005", "en", "CREDIT_CARD", "378282246310005"),
    ("Discover 6011111111111117", "en", "CREDIT_CARD", "6011111111111117"),
    ("JCB 3530 1113 3330 0000", "en", "CREDIT_CARD", "3530111333300000"),
    ("Diners 3056 930902 5904", "en", "CREDIT_CARD", "30569309025904"),
    ("Mastercard 2223 0031 2200 3222", "en", "CREDIT_CARD", "2223003122003222"),
    ("UnionPay 6200 0000 0000 0005", "en", "CREDIT_CARD", "6200000000000005"),
    ("カード ４１１１ １１１１ １１１１ １１１１", "en", "CREDIT_CARD", "4111111111111111"),
    ("card 4111\u200b1111\u200b1111\u200b1111", "en", "CREDIT_CARD", "4111111111111111"),
    ("card\n4111 1111 1111 1111\nexp 12/29 cvv 737", "en", "CREDIT_CARD", "4111111111111111"),
    ("<p>card <b>4111 1111 1111 1111</b></p>", "en", "CREDIT_CARD", "4111111111111111"),
    (
        "Ma carte: 4111.1111.1111.1111, date d'expiration 12/29, cryptogramme 123",
        "fr",
        "CREDIT_CARD",
        "4111111111111111",
    ),
    ("Kortnummer 5555 5555 5555 4444 giltigt till 11/28", "sv", "CREDIT_CARD", "5555555555554444"),
    ("SSN 123-45-6789", "en", "US_SSN", "123456789"),
    ("Mon NIR : 1 84 12 75 108 045 28", "fr", "FR_NIR", "184127510804528"),
    ("Mitt personnummer är 811218-9876", "sv", "SE_PERSONNUMMER", "8112189876"),
    ("IBAN GB82 WEST 1234 5698 7654 32", "en", "IBAN_CODE", "GB82WEST12345698765432"),
    ("Mitt konto SE45 5000 0000 0583 9825 7466 tack", "sv", "IBAN_CODE", "SE4550000000058398257466"),
)

#: The values of VECTORS in normalized form and in the forms they were typed in: none may ever be stored or logged.
CANARIES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [value for _, _, _, value in VECTORS]
        + ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111.1111.1111.1111", "5555 5555 5555 4444"]
        + ["123-45-6789", "1 84 12 75 108 045 28", "811218-9876", "GB82 WEST 1234 5698 7654 32"]
    )
)


def compact(text: str) -> str:
    """ASCII digits and upper-case letters only (full-width folded): how a canary is searched for in output."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(char for char in folded if char.isascii() and char.isalnum()).upper()


class FailingDetector:
    """The real detector, with a fault injected: raises, sleeps past the limit, or misses findings once."""

    def __init__(self, real: Detector, *, error: Exception | None = None, sleep: float = 0.0, miss_once: bool = False):
        self._real = real
        self._error = error
        self._sleep = sleep
        self._miss_once = miss_once
        self.calls = 0

    @property
    def languages(self) -> tuple[str, ...]:
        return self._real.languages

    def analyze(
        self, text: str, lang: str, entities: Collection[str] | None = None, *, min_score: float | None = None
    ) -> list[Finding]:
        self.calls += 1
        if self._sleep:
            time.sleep(self._sleep)
        if self._error is not None:
            raise self._error
        findings = self._real.analyze(text, lang, entities, min_score=min_score)
        if self._miss_once and self.calls == 1:
            return findings[:1]  # the first pass "misses" every finding but the first
        return findings
