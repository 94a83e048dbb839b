"""KEK rotation in process: re-wrap everything (secrets, index root, registered field columns) without touching values,
resume after an interruption, report per version, and retire only what nothing depends on."""

from __future__ import annotations

from typing import Any

import pytest
from vault_support import AuditRecorder

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import KeyInUse, NotFound, VaultError
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.storage.secrets import EncryptedColumn
from securedesk.vault import KeyRotation, LocalKeyFile, RotationProgress, SealRequest, Vault

CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "3530111333300000")
NOTES = EncryptedColumn("test_notes", "id", "secret")


class Interrupt(Exception):
    pass


@pytest.fixture
async def notes_vault(settings: Settings, db: Database, clock: FixedClock, keys: LocalKeyFile) -> Vault:
    """A vault that also owns a field column in another table (like staff.totp_secret), with 7 rows in it."""
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE test_notes (id TEXT PRIMARY KEY, secret BLOB)")
    vault = await Vault.load(settings, db, clock, encrypted_columns=(NOTES,))
    async with db.transaction() as conn:
        for i in range(7):
            blob = vault.encrypt_field(f"note {i}".encode(), table="test_notes", row_id=f"n{i}", column="secret")
            await conn.execute("INSERT INTO test_notes (id, secret) VALUES (?, ?)", (f"n{i}", blob))
        await conn.execute("INSERT INTO test_notes (id, secret) VALUES ('empty', NULL)")
    return vault


async def _seal_cards(vault: Vault, copies: int) -> list[str]:
    refs = await vault.seal_many(
        [SealRequest("CREDIT_CARD", Sensitive(c), "chat") for _ in range(copies) for c in CARDS]
    )
    return [r.token for r in refs]


async def _state(vault: Vault) -> dict[int, tuple[str, int, int, bool]]:
    return {s.version: (s.state, s.secrets, s.field_blobs, s.index_root) for s in await KeyRotation(vault).status()}


async def _opens_all(vault: Vault, db: Database, tokens: list[str]) -> None:
    audit = AuditRecorder()
    for token, card in zip(tokens, [c for _ in range(len(tokens) // len(CARDS)) for c in CARDS], strict=True):
        assert (await vault.open(token, actor="stf_alice", reason="rotation test", audit=audit)).reveal() == card
    for row in await db.fetch_all("SELECT id, secret FROM test_notes WHERE secret IS NOT NULL"):
        plain = vault.decrypt_field(bytes(row[1]), table="test_notes", row_id=row[0], column="secret")
        assert plain == f"note {row[0][1:]}".encode()


async def test_rotate_rewraps_everything_and_touches_no_value(notes_vault: Vault, db: Database, keys: Any) -> None:
    vault = notes_vault
    tokens = await _seal_cards(vault, 4)
    before = {r[0]: bytes(r[1]) for r in await db.fetch_all("SELECT token, ciphertext FROM secrets")}
    assert await _state(vault) == {1: ("current", 20, 7, True)}

    seen: list[RotationProgress] = []
    result = await KeyRotation(vault, batch_size=6, progress=seen.append).rotate()
    assert (result.target, result.created, result.resumed) == (2, True, False)
    assert (result.secrets, result.index_root, result.field_blobs, result.rewrapped) == (20, 1, 7, 28)
    assert [(p.what, p.batch, p.done) for p in seen] == [
        ("secrets", 6, 6),
        ("secrets", 6, 12),
        ("secrets", 6, 18),
        ("secrets", 2, 20),
        ("index root", 1, 1),
        ("test_notes.secret", 6, 6),
        ("test_notes.secret", 1, 7),
    ]
    assert await _state(vault) == {1: ("active", 0, 0, False), 2: ("current", 20, 7, True)}
    after = {r[0]: bytes(r[1]) for r in await db.fetch_all("SELECT token, ciphertext FROM secrets")}
    assert after == before  # only the data keys were re-wrapped
    await _opens_all(vault, db, tokens)
    assert (await vault.find("CREDIT_CARD", Sensitive("4111 1111 1111 1111"))) is not None
    assert sorted(p.name for p in keys.key_dir.iterdir()) == ["kek-v1.key", "kek-v2.key"]


async def test_interrupted_rotation_resumes_without_a_new_version(
    notes_vault: Vault, db: Database, settings: Settings, clock: FixedClock
) -> None:
    vault = notes_vault
    tokens = await _seal_cards(vault, 3)

    def stop_after_two(progress: RotationProgress) -> None:
        if progress.done >= 8:
            raise Interrupt

    with pytest.raises(Interrupt):
        await KeyRotation(vault, batch_size=4, progress=stop_after_two).rotate()
    assert await _state(vault) == {1: ("active", 7, 7, True), 2: ("current", 8, 0, False)}
    assert await KeyRotation(vault).pending() == 15
    await _opens_all(vault, db, tokens)  # half-rotated: everything still opens

    fresh = await Vault.load(settings, db, clock, encrypted_columns=(NOTES,))  # as a new process would
    result = await KeyRotation(fresh).rotate(resume_only=True)
    assert (result.target, result.created, result.resumed) == (2, False, True)
    assert (result.secrets, result.index_root, result.field_blobs) == (7, 1, 7)
    assert await _state(fresh) == {1: ("active", 0, 0, False), 2: ("current", 15, 7, True)}
    await _opens_all(fresh, db, tokens)


async def test_resume_reports_and_creates_nothing_when_done(notes_vault: Vault, keys: LocalKeyFile) -> None:
    await _seal_cards(notes_vault, 1)
    first = await KeyRotation(notes_vault, batch_size=2).rotate()
    assert first.created
    again = await KeyRotation(notes_vault).rotate(resume_only=True)
    assert (again.target, again.created, again.resumed, again.rewrapped) == (2, False, False, 0)
    assert keys.load().versions == (1, 2)
    third = await KeyRotation(notes_vault).rotate()
    assert (third.target, third.created, third.rewrapped) == (3, True, 5 + 1 + 7)


async def test_retire_only_what_nothing_uses(
    notes_vault: Vault, db: Database, keys: LocalKeyFile, settings: Settings, clock: FixedClock
) -> None:
    vault = notes_vault
    tokens = await _seal_cards(vault, 2)
    rotation = KeyRotation(vault, batch_size=3)
    with pytest.raises(KeyInUse, match=r"KEK version 1 is the current version\. \(run `securedesk keys rotate`"):
        await rotation.retire(1)
    with pytest.raises(NotFound, match=r"KEK version 5 is not known to this database\."):
        await rotation.retire(5)

    def stop(progress: RotationProgress) -> None:
        if progress.done >= 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        await KeyRotation(vault, batch_size=3, progress=stop).rotate()
    with pytest.raises(KeyInUse, match=r"KEK version 1 still wraps 15 data key\(s\)\. \(run `securedesk keys rotate"):
        await rotation.retire(1)
    await rotation.rotate(resume_only=True)
    assert await rotation.retire(1) == f"deleted {keys.key_dir / 'kek-v1.key'}"
    assert keys.load().versions == (2,)
    assert (await _state(vault))[1] == ("retired", 0, 0, False)
    assert await rotation.retire(1) == f"{keys.key_dir / 'kek-v1.key'} was already gone"
    reloaded = await Vault.load(settings, db, clock, encrypted_columns=(NOTES,))
    await _opens_all(reloaded, db, tokens)


async def test_a_field_blob_under_the_old_version_blocks_retirement(
    notes_vault: Vault, db: Database, settings: Settings, clock: FixedClock
) -> None:
    stale = await Vault.load(settings, db, clock, encrypted_columns=(NOTES,))
    await KeyRotation(notes_vault).rotate()
    # A process that has not refreshed its keys still encrypts fields under version 1.
    late = stale.encrypt_field(b"late", table="test_notes", row_id="late", column="secret")
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO test_notes (id, secret) VALUES ('late', ?)", (late,))
    with pytest.raises(KeyInUse, match=r"KEK version 1 still wraps 1 data key\(s\)"):
        await KeyRotation(notes_vault).retire(1)
    assert (await KeyRotation(notes_vault).rotate(resume_only=True)).field_blobs == 1
    await KeyRotation(notes_vault).retire(1)


async def test_a_stale_process_cannot_seal_under_a_retired_version(
    vault: Vault, db: Database, settings: Settings, clock: FixedClock
) -> None:
    stale = await Vault.load(settings, db, clock)
    await KeyRotation(vault).rotate()
    await KeyRotation(vault).retire(1)
    assert stale.current_version == 1
    ref = await stale.seal("CREDIT_CARD", Sensitive(CARDS[0]), case_id=None, source="chat", retention_days=None)
    row = await db.fetch_one("SELECT kek_version FROM secrets WHERE token = ?", (ref.token,))
    assert row is not None
    assert row[0] == 2
    assert stale.current_version == 2


async def test_rotation_stops_on_a_damaged_data_key_and_names_it(vault: Vault, db: Database) -> None:
    tokens = await _seal_cards(vault, 2)
    async with db.transaction() as conn:
        await conn.execute("UPDATE secrets SET wrapped_key = zeroblob(60) WHERE token = ?", (tokens[7],))
    with pytest.raises(VaultError, match=f"The data key of secret {tokens[7]} does not unwrap with KEK version 1"):
        await KeyRotation(vault, batch_size=2).rotate()
    assert await _state(vault) == {1: ("active", 4, 0, True), 2: ("current", 6, 0, False)}


def test_batch_size_must_be_positive(vault: Vault) -> None:
    with pytest.raises(VaultError, match="at least 1"):
        KeyRotation(vault, batch_size=0)
