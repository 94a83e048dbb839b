"""Password rules (length, common list, names, patterns) and argon2id hashing off the event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from securedesk.errors import PasswordRejected
from securedesk.identity import (
    OWASP_MINIMUM,
    RFC_9106_LOW_MEMORY,
    STAFF_PASSWORD_PARAMETERS,
    Argon2Parameters,
    PasswordHasher,
    PasswordPolicy,
)
from securedesk.identity.passwords import load_common_passwords
from securedesk.sensitive import Sensitive


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return PasswordPolicy()


@pytest.mark.parametrize(
    "password",
    [
        "kq8#vLm2!pZr",  # exactly 12
        "x" * 5 + "correct horse",
        "Tr0ub4dor&3 elephant",
        "ž" * 3 + "łódź kraków mm",  # non-ASCII counts in characters, not bytes
        "a phrase that is sixty-four characters long, give or take a few!"[:64],
        "unusual phrase " + "w" * 241,  # 256 characters
        "mysecretgarden2024",  # a word plus a year is fine when the word is not a common password
    ],
)
def test_accepted(policy: PasswordPolicy, password: str) -> None:
    policy.check(Sensitive(password), account_name="alice")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("kq8#vLm2!pZ", "too short"),  # 11
        ("", "too short"),
        ("unusual phrase " + "w" * 242, "too long"),  # 257
        ("qwerty123456", "most common"),
        ("QWERTY123456", "most common"),  # case does not help
        ("password1234", "most common"),  # a common password with digits around it
        ("!!Password2024!!", "most common"),
        ("1qaz2wsx3edc", "most common"),
        ("123456789012", "repeated or sequential"),
        ("my name is alice!!", "account name"),
        ("ALICE-is-the-best", "account name"),
        ("secure desk rules ok", "product name"),
        ("abcabcabcabcabc", "repeated or sequential"),
        ("zzzzzzzzzzzzzzzz", "repeated or sequential"),
        ("hunter2hunter2hunter2", "repeated or sequential"),
        ("abcdefghijklmnop", "repeated or sequential"),
        ("9876543210987", "repeated or sequential"),
        ("qwertyuiopasdf", "repeated or sequential"),
    ],
)
def test_refused(policy: PasswordPolicy, password: str, rule: str) -> None:
    with pytest.raises(PasswordRejected, match=rule) as caught:
        policy.check(Sensitive(password), account_name="alice")
    assert password not in str(caught.value) or password == ""


def test_the_bundled_list_is_loaded() -> None:
    common = load_common_passwords()
    assert len(common) > 19_000
    assert {"123456", "password", "qwerty123456", "1q2w3e4r5t6y"} <= common
    assert not any(entry.startswith("# ") for entry in common)


def test_chosen_parameters_are_rfc_9106_low_memory_and_above_owasp() -> None:
    assert STAFF_PASSWORD_PARAMETERS == RFC_9106_LOW_MEMORY
    p = STAFF_PASSWORD_PARAMETERS
    assert (p.memory_kib, p.time_cost, p.parallelism) == (65_536, 3, 4)
    assert p.memory_kib >= OWASP_MINIMUM.memory_kib
    assert p.time_cost >= OWASP_MINIMUM.time_cost
    assert (OWASP_MINIMUM.memory_kib, OWASP_MINIMUM.time_cost, OWASP_MINIMUM.parallelism) == (19_456, 2, 1)


async def test_real_parameters_hash_argon2id_and_verify() -> None:
    hasher = PasswordHasher()
    encoded = await hasher.hash(Sensitive("correct horse battery staple"))
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await hasher.verify(encoded, Sensitive("correct horse battery staple")) is True
    assert await hasher.verify(encoded, Sensitive("correct horse battery stapl")) is False
    assert hasher.needs_rehash(encoded) is False


async def test_nfkc_normalization_makes_composed_and_decomposed_equal() -> None:
    hasher = PasswordHasher(Argon2Parameters("t", 1, 1024, 1))
    composed = "caf\u00e9 au lait tous les matins"
    decomposed = "cafe\u0301 au lait tous les matins"
    encoded = await hasher.hash(Sensitive(composed))
    assert await hasher.verify(encoded, Sensitive(decomposed)) is True


async def test_needs_rehash_when_parameters_change() -> None:
    old = PasswordHasher(Argon2Parameters("old", 1, 1024, 1))
    new = PasswordHasher(Argon2Parameters("new", 2, 1024, 1))
    encoded = await old.hash(Sensitive("correct horse battery staple"))
    assert old.needs_rehash(encoded) is False
    assert new.needs_rehash(encoded) is True
    assert new.needs_rehash("not a hash") is True
    assert await new.verify(encoded, Sensitive("correct horse battery staple")) is True  # old hashes still verify


async def test_no_hash_means_a_dummy_verification_and_false() -> None:
    hasher = PasswordHasher(Argon2Parameters("t", 1, 1024, 1))
    assert await hasher.verify(None, Sensitive("anything at all here")) is False
    assert await hasher.verify("$argon2id$garbage", Sensitive("anything at all here")) is False


async def test_hashing_leaves_the_event_loop_free() -> None:
    hasher = PasswordHasher()  # the real, ~100 ms parameters
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await hasher.hash(Sensitive("correct horse battery staple"))
    elapsed = time.perf_counter() - started
    done.set()
    await task
    # Had the hash run on the loop, the ticker would have ticked once; off the loop it ticks all along.
    assert ticks >= max(3, int(elapsed / 0.005) // 4)
