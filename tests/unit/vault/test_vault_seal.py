"""Sealing, opening (only through the audit hook), finding by blind index, field encryption, and every tampering
the AAD binding must catch: a flipped bit, a ciphertext swapped between rows, a row moved to another case, a wrong
key version. Each fails with a precise error and no plaintext."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from vault_support import AuditRecorder, CaseMaker

from securedesk.clock import FixedClock
from securedesk.errors import (
    AuditError,
    DecryptionFailed,
    InvalidInput,
    KeyUnavailable,
    NotFound,
    PermissionDenied,
    SecureDeskError,
)
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, SealRequest, Vault
from securedesk.vault.vault import TOKEN_PATTERN

VISA = "4111111111111111"
MASTERCARD = "5555555555554444"


async def _row(db: Database, token: str) -> dict[str, Any]:
    row = await db.fetch_one("SELECT * FROM secrets WHERE token = ?", (token,))
    assert row is not None
    return dict(row)


async def _update(db: Database, sql: str, *params: Any) -> None:
    async with db.transaction() as conn:
        await conn.execute(sql, params)


async def test_seal_returns_token_and_display_data_only(vault: Vault, db: Database, clock: FixedClock) -> None:
    ref = await vault.seal(
        "CREDIT_CARD", Sensitive("4111 1111 1111 1111"), case_id=None, source="chat", retention_days=30
    )
    assert TOKEN_PATTERN.fullmatch(ref.token)
    assert (ref.kind, ref.brand, ref.last4, ref.mask) == ("CREDIT_CARD", "VISA", "1111", "VISA •••• 1111")
    assert ref.expires_at == clock.now() + 30 * 86_400
    row = await _row(db, ref.token)
    assert (row["kind"], row["brand"], row["last4"], row["source"], row["kek_version"]) == (
        "CREDIT_CARD",
        "VISA",
        "1111",
        "chat",
        1,
    )
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert VISA.encode() not in stored
    assert hashlib.sha256(VISA.encode()).digest() != row["blind_index"]
    assert len(row["wrapped_key"]) == 60
    assert await vault.describe(ref.token) == ref


async def test_tokens_are_distinct_even_for_equal_values(vault: Vault) -> None:
    refs = [
        await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
        for _ in range(20)
    ]
    assert len({r.token for r in refs}) == 20


async def test_open_returns_the_value_after_the_audit_hook(vault: Vault, audit: AuditRecorder) -> None:
    ref = await vault.seal("US_SSN", Sensitive("123-45-6789"), case_id=None, source="form", retention_days=None)
    value = await vault.open(ref.token, actor="stf_alice", reason="customer asked for a refund", audit=audit)
    assert isinstance(value, Sensitive)
    assert value.reveal() == "123456789"
    assert audit.calls == [
        {"token": ref.token, "kind": "US_SSN", "actor": "stf_alice", "reason": "customer asked for a refund"}
    ]


async def test_a_refusing_hook_means_no_value(vault: Vault) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
    failing = AuditRecorder(fail=True)
    with pytest.raises(AuditError, match=r"The audit log is unavailable\."):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=failing)
    assert len(failing.calls) == 1

    async def deny(*, token: str, kind: str, actor: str, reason: str) -> None:
        raise PermissionDenied("Reveal limit reached.")

    with pytest.raises(PermissionDenied, match=r"Reveal limit reached\."):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=deny)

    async def broken(*, token: str, kind: str, actor: str, reason: str) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(AuditError, match="could not be recorded, so the value was not revealed") as info:
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=broken)
    assert VISA not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"audit": None}, AuditError, "Opening a protected value requires an audit hook."),
        ({"reason": "  "}, InvalidInput, "Opening a protected value requires a reason."),
        ({"actor": ""}, InvalidInput, "Opening a protected value requires the actor's identity."),
    ],
)
async def test_open_refuses_without_hook_reason_or_actor(
    vault: Vault, audit: AuditRecorder, kwargs: dict[str, Any], error: type[SecureDeskError], message: str
) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
    arguments: dict[str, Any] = {"actor": "stf_alice", "reason": "refund", "audit": audit, **kwargs}
    with pytest.raises(error) as info:
        await vault.open(ref.token, **arguments)
    assert str(info.value).startswith(message)
    assert audit.calls == []


@pytest.mark.parametrize("token", ["tok_aaaaaaaaaaaaaaaaaaaaaaaaaa", "tok_bad", "' OR 1=1 --", ""])
async def test_unknown_tokens_are_not_found(vault: Vault, audit: AuditRecorder, token: str) -> None:
    with pytest.raises(NotFound, match=r"No protected value with this token, or it has expired\."):
        await vault.open(token, actor="stf_alice", reason="refund", audit=audit)
    assert audit.calls == []


async def test_expired_secrets_cannot_be_opened_found_or_described(
    vault: Vault, audit: AuditRecorder, clock: FixedClock
) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=1)
    clock.advance(86_399)
    assert await vault.find("CREDIT_CARD", Sensitive(VISA)) == ref
    clock.advance(1)
    assert await vault.find("CREDIT_CARD", Sensitive(VISA)) is None
    with pytest.raises(NotFound):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)
    with pytest.raises(NotFound):
        await vault.describe(ref.token)


async def test_find_matches_any_format_within_scope(vault: Vault, make_case: CaseMaker, clock: FixedClock) -> None:
    case_a = await make_case("case_a", customer_id="cus_a")
    case_b = await make_case("case_b", customer_id="cus_b")
    first = await vault.seal(
        "CREDIT_CARD", Sensitive(VISA), case_id=case_a, customer_id="cus_a", source="chat", retention_days=None
    )
    clock.advance(5)
    newer = await vault.seal(
        "CREDIT_CARD", Sensitive(VISA), case_id=case_a, customer_id="cus_a", source="email", retention_days=None
    )
    other = await vault.seal(
        "CREDIT_CARD", Sensitive(MASTERCARD), case_id=case_b, customer_id="cus_b", source="chat", retention_days=None
    )
    spaced = Sensitive("4111-1111 1111.1111")
    assert await vault.find("CREDIT_CARD", spaced) == newer
    assert await vault.find("CREDIT_CARD", spaced, customer_id="cus_a") == newer
    assert await vault.find("CREDIT_CARD", spaced, case_id=case_a) == newer
    assert await vault.find("CREDIT_CARD", spaced, customer_id="cus_b") is None
    assert await vault.find("CREDIT_CARD", spaced, case_id=case_b) is None
    assert await vault.find("CREDIT_CARD", Sensitive(MASTERCARD), customer_id="cus_b") == other
    assert await vault.find("CREDIT_CARD", Sensitive("4012888888881881")) is None
    assert first.token != newer.token


async def test_blind_index_is_keyed_per_kind(vault: Vault, db: Database) -> None:
    ssn = await vault.seal("US_SSN", Sensitive("123-45-6789"), case_id=None, source="chat", retention_days=None)
    se = await vault.seal("SE_PERSONNUMMER", Sensitive("123456-7890"), case_id=None, source="chat", retention_days=None)
    ssn_row, se_row = await _row(db, ssn.token), await _row(db, se.token)
    digits = {"US_SSN": b"123456789", "SE_PERSONNUMMER": b"1234567890"}
    for row in (ssn_row, se_row):
        plain = digits[row["kind"]]
        assert row["blind_index"] not in {hashlib.sha256(plain).digest(), hashlib.sha1(plain).digest()}  # noqa: S324 - looking for unkeyed hashes
    assert await vault.find("US_SSN", Sensitive("123456789")) == ssn
    assert await vault.find("SE_PERSONNUMMER", Sensitive("1234567890")) == se
    assert await vault.find("US_SSN", Sensitive("1234567890"[:9])) == ssn


async def test_flipped_bit_in_any_stored_crypto_field_fails_without_plaintext(
    vault: Vault, db: Database, audit: AuditRecorder
) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
    row = await _row(db, ref.token)
    for column in ("ciphertext", "wrapped_key"):
        for position in (0, 13, len(row[column]) - 1):
            tampered = bytearray(row[column])
            tampered[position] ^= 0x01
            await _update(db, f"UPDATE secrets SET {column} = ? WHERE token = ?", bytes(tampered), ref.token)  # noqa: S608
            with pytest.raises(DecryptionFailed) as info:
                await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)
            assert str(info.value) == "Protected value could not be opened."
            assert VISA not in repr(info.value)
            await _update(db, f"UPDATE secrets SET {column} = ? WHERE token = ?", row[column], ref.token)  # noqa: S608
    assert audit.calls == []
    assert (await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)).reveal() == VISA


@pytest.mark.parametrize(
    "moved",
    [("ciphertext",), ("ciphertext", "wrapped_key"), ("ciphertext", "wrapped_key", "kek_version")],
    ids=["value-only", "value-and-key", "everything"],
)
async def test_ciphertext_swapped_between_rows_fails(
    vault: Vault, db: Database, audit: AuditRecorder, make_case: CaseMaker, moved: tuple[str, ...]
) -> None:
    case = await make_case("case_s")
    a = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=case, source="chat", retention_days=None)
    b = await vault.seal("CREDIT_CARD", Sensitive(MASTERCARD), case_id=case, source="chat", retention_days=None)
    row_a, row_b = await _row(db, a.token), await _row(db, b.token)
    assignments = ", ".join(f"{c} = ?" for c in moved)
    sql = f"UPDATE secrets SET {assignments} WHERE token = ?"  # noqa: S608 - columns from the parameters
    await _update(db, sql, *(row_b[c] for c in moved), a.token)
    await _update(db, sql, *(row_a[c] for c in moved), b.token)
    for token in (a.token, b.token):
        with pytest.raises(DecryptionFailed):
            await vault.open(token, actor="stf_alice", reason="refund", audit=audit)
    assert audit.calls == []


@pytest.mark.parametrize(("column", "value"), [("case_id", "case_other"), ("case_id", None), ("kind", "US_SSN")])
async def test_row_moved_to_another_case_or_kind_fails(
    vault: Vault, db: Database, audit: AuditRecorder, make_case: CaseMaker, column: str, value: str | None
) -> None:
    case = await make_case("case_m")
    await make_case("case_other")
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=case, source="chat", retention_days=None)
    await _update(db, f"UPDATE secrets SET {column} = ? WHERE token = ?", value, ref.token)  # noqa: S608
    with pytest.raises(DecryptionFailed):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)


async def test_wrong_key_version_fails_precisely(
    vault: Vault, db: Database, audit: AuditRecorder, keys: LocalKeyFile, clock: FixedClock
) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
    keys.add_version()
    await vault.refresh_keys()
    # Version 2 exists but did not wrap this key: authentication fails.
    await _update(db, "UPDATE secrets SET kek_version = 2 WHERE token = ?", ref.token)
    with pytest.raises(DecryptionFailed):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)
    # A version the database knows but no key file holds: named, so the operator can restore it.
    await _update(db, "INSERT INTO vault_key_versions (version, check_value, created_at) VALUES (9, ?, 0)", bytes(16))
    await _update(db, "UPDATE secrets SET kek_version = 9 WHERE token = ?", ref.token)
    with pytest.raises(KeyUnavailable, match=r"KEK version 9 is not in key directory .* \(it has versions 1, 2\)"):
        await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)
    await _update(db, "UPDATE secrets SET kek_version = 1 WHERE token = ?", ref.token)
    assert (await vault.open(ref.token, actor="stf_alice", reason="refund", audit=audit)).reveal() == VISA
    assert len(audit.calls) == 1


async def test_a_vault_picks_up_a_key_version_added_by_another_process(
    settings: Any, db: Database, clock: FixedClock, keys: LocalKeyFile, audit: AuditRecorder
) -> None:
    old = await Vault.load(settings, db, clock)
    keys.add_version()
    new = await Vault.load(settings, db, clock)
    ref = await new.seal("CREDIT_CARD", Sensitive(VISA), case_id=None, source="chat", retention_days=None)
    assert (await _row(db, ref.token))["kek_version"] == 2
    assert (await old.open(ref.token, actor="stf_alice", reason="refund", audit=audit)).reveal() == VISA


async def test_seal_many_is_all_or_nothing(vault: Vault, db: Database) -> None:
    good = SealRequest("CREDIT_CARD", Sensitive(VISA), "chat")
    bad = SealRequest("CREDIT_CARD", Sensitive("4111"), "chat")
    with pytest.raises(InvalidInput, match="must have 12–19 significant characters"):
        await vault.seal_many([good, bad])
    with pytest.raises(InvalidInput, match="case or customer that does not exist"):
        await vault.seal_many([good, SealRequest("CREDIT_CARD", Sensitive(VISA), "chat", case_id="case_nope")])
    with pytest.raises(InvalidInput, match="retention_days must be at least 1"):
        await vault.seal_many([SealRequest("CREDIT_CARD", Sensitive(VISA), "chat", retention_days=0)])
    assert await db.fetch_one("SELECT 1 FROM secrets") is None
    refs = await vault.seal_many([good] * 200)  # large enough to encrypt off the event loop
    assert len({r.token for r in refs}) == 200


async def test_field_encryption_round_trip_and_binding(vault: Vault) -> None:
    blob = vault.encrypt_field(b"JBSWY3DPEHPK3PXP", table="staff", row_id="stf_1", column="totp_secret")
    assert b"JBSWY3DPEHPK3PXP" not in blob
    assert blob[:5] == b"\x01\x00\x00\x00\x01"
    assert vault.decrypt_field(blob, table="staff", row_id="stf_1", column="totp_secret") == b"JBSWY3DPEHPK3PXP"
    for where in (
        {"table": "customers", "row_id": "stf_1", "column": "totp_secret"},
        {"table": "staff", "row_id": "stf_2", "column": "totp_secret"},
        {"table": "staff", "row_id": "stf_1", "column": "phone"},
    ):
        with pytest.raises(DecryptionFailed):
            vault.decrypt_field(blob, **where)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises((DecryptionFailed, KeyUnavailable)):
            vault.decrypt_field(bytes(tampered), table="staff", row_id="stf_1", column="totp_secret")
    with pytest.raises(DecryptionFailed):
        vault.decrypt_field(blob[:40], table="staff", row_id="stf_1", column="totp_secret")
    other = vault.encrypt_field(b"JBSWY3DPEHPK3PXP", table="staff", row_id="stf_1", column="totp_secret")
    assert other != blob


async def test_vault_repr_shows_no_keys(vault: Vault) -> None:
    text = repr(vault)
    assert text.startswith("Vault(current_version=1, keyring=Keyring(versions=[1]")
    assert vault.keyring.key(1).hex() not in text
