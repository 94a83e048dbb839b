"""Staff passwords: the rules a new password must meet, and argon2id hashing in a worker thread with rehash-on-login.

Parameters: RFC 9106's second recommended option ("low memory": argon2id, m = 64 MiB, t = 3, p = 4), which is
argon2-cffi's default profile and more than three times OWASP's minimum (19 MiB, t = 2, p = 1). Issue 4 sets it as
the floor; on the 2-core reference machine a verification costs about 150 ms (see ``bench/login.py``), which staff
pay once per login while an offline attacker pays it per guess. Hashes made with other parameters are upgraded at the
next successful login (``needs_rehash``), as in Django's ``contrib.auth.hashers``.

Rules (NIST SP 800-63B §3.1.1.2, OWASP ASVS 6.2): at least 12 characters, up to 256 accepted, no composition rules,
Unicode normalized with NFKC, refused when it is a common password (the bundled ``common_passwords.txt``, also after
stripping digits and punctuation around it), contains the account or product name, or is a repeated or sequential
pattern.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import unicodedata
from asyncio import to_thread
from dataclasses import dataclass
from importlib import resources
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from securedesk.errors import PasswordRejected
from securedesk.sensitive import Sensitive

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 256
PRODUCT_NAME: Final = "securedesk"


@dataclass(frozen=True)
class Argon2Parameters:
    """argon2id cost parameters (memory in KiB, as RFC 9106 and libargon2 count it)."""

    name: str
    time_cost: int
    memory_kib: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16


#: RFC 9106 §4, second recommended option ("if much less memory is available"): our choice.
RFC_9106_LOW_MEMORY: Final = Argon2Parameters("RFC 9106 low-memory", time_cost=3, memory_kib=64 * 1024, parallelism=4)
#: OWASP Password Storage Cheat Sheet minimum for argon2id: the floor we must never go under.
OWASP_MINIMUM: Final = Argon2Parameters("OWASP minimum", time_cost=2, memory_kib=19 * 1024, parallelism=1)
#: What staff passwords are hashed with.
STAFF_PASSWORD_PARAMETERS: Final = RFC_9106_LOW_MEMORY


def normalize_password(password: Sensitive) -> str:
    """NFKC, so that the same password typed on two keyboards (composed or decomposed accents) hashes the same."""
    return unicodedata.normalize("NFKC", password.reveal())


class PasswordHasher:
    """argon2id hashing and verification off the event loop, at most ``max_concurrent`` at a time (memory bound)."""

    def __init__(self, parameters: Argon2Parameters = STAFF_PASSWORD_PARAMETERS, *, max_concurrent: int = 4) -> None:
        self.parameters = parameters
        self._argon2 = argon2.PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_len,
            salt_len=parameters.salt_len,
            type=argon2.Type.ID,
        )
        # A thread semaphore, not an asyncio one: it bounds memory (each computation holds memory_kib) whatever loop or
        # thread calls us.
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._dummy_hash: str | None = None

    def _hash_blocking(self, normalized: str) -> str:
        with self._slots:
            return self._argon2.hash(normalized)

    def _verify_blocking(self, password_hash: str, normalized: str) -> bool:
        with self._slots:
            try:
                return self._argon2.verify(password_hash, normalized)
            except VerificationError:
                return False
            except InvalidHashError:
                logger.warning("A stored password hash is not a valid argon2 hash; the login is refused.")
                return False

    async def hash(self, password: Sensitive) -> str:
        return await to_thread(self._hash_blocking, normalize_password(password))

    async def verify(self, password_hash: str | None, password: Sensitive) -> bool:
        """True when ``password`` matches. With no hash (unknown or not enrolled account), a dummy hash made with the
        same parameters is verified instead and False returned, so every attempt costs one argon2 verification."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await to_thread(self._hash_blocking, secrets.token_urlsafe(32))
            await to_thread(self._verify_blocking, self._dummy_hash, normalize_password(password))
            return False
        return await to_thread(self._verify_blocking, password_hash, normalize_password(password))

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


_COMMON_FILE: Final = "common_passwords.txt"
_AFFIXES: Final = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEQUENCES: Final = (
    "0123456789012345678901234567890",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    "azertyuiopqsdfghjklmwxcvbnazertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/1qaz2wsx3edc4rfv5tgb6yhn7ujm",
    "!@#$%^&*()_+!@#$%^&*()_+!@#$%^&*()_+",
)


def load_common_passwords() -> frozenset[str]:
    text = resources.files("securedesk.identity").joinpath(_COMMON_FILE).read_text(encoding="utf-8")
    return frozenset(line.casefold() for line in text.splitlines() if line and not line.startswith("# "))


class PasswordPolicy:
    """Decides whether a new password may be used; ``check`` raises ``PasswordRejected`` saying which rule failed."""

    def __init__(self, common_passwords: frozenset[str] | None = None) -> None:
        self._common = load_common_passwords() if common_passwords is None else common_passwords

    def check(self, password: Sensitive, *, account_name: str) -> None:
        candidate = normalize_password(password)
        if len(candidate) < MIN_PASSWORD_LENGTH:
            raise PasswordRejected(
                f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.",
                hint="a phrase of several unrelated words is long and easy to remember",
            )
        if len(candidate) > MAX_PASSWORD_LENGTH:
            raise PasswordRejected(f"The password is too long: use at most {MAX_PASSWORD_LENGTH} characters.")
        folded = candidate.casefold()
        core = _AFFIXES.sub("", folded)
        if folded in self._common or core in self._common:
            raise PasswordRejected(
                "The password is one of the most common passwords.", hint="choose one that others would not guess"
            )
        name = account_name.casefold()
        if (len(name) >= 3 and name in folded) or PRODUCT_NAME in folded.replace(" ", ""):
            raise PasswordRejected("The password must not contain the account name or the product name.")
        if _is_pattern(folded):
            raise PasswordRejected("The password is a repeated or sequential pattern.", hint="choose one that is not")


def _is_pattern(folded: str) -> bool:
    if re.fullmatch(r"(.+?)\1+", folded, flags=re.DOTALL):
        return True
    return any(folded in sequence or folded in sequence[::-1] for sequence in _SEQUENCES)
