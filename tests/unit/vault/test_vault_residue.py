"""Residue scan (SQLite's securedel2.test technique): canary card numbers sealed in the vault never appear in the raw
bytes of the database, its WAL or its shared-memory file, in any encoding or as an unkeyed hash; once purged or
deleted (crypto-shredding, then a checkpoint), not even their ciphertext or wrapped data keys remain."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from vault_support import AuditRecorder

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import Vault

CANARIES = (
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "378282246310005",
    "6011 1111 1111 1117",
    "3530111333300000",
    "30569309025904",
    "6200000000000005",
    "2223 0031 2200 3222",
)


def _needles(canary: str) -> dict[str, bytes]:
    digits = "".join(ch for ch in canary if ch.isdigit())
    needles: dict[str, bytes] = {}
    for label, text in (("plain", canary), ("digits", digits)):
        raw = text.encode()
        needles[label] = raw
        needles[f"{label}-utf16"] = text.encode("utf-16-le")
        for algorithm in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algorithm, raw)
            needles[f"{label}-{algorithm}-hex"] = digest.hexdigest().encode()
            needles[f"{label}-{algorithm}-HEX"] = digest.hexdigest().upper().encode()
            needles[f"{label}-{algorithm}-raw"] = digest.digest()
    return needles


def _files(settings: Settings) -> list[Path]:
    base = settings.database_path
    return [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]


def _wal_size(settings: Settings) -> int:
    return Path(f"{settings.database_path}-wal").stat().st_size


def _hits(settings: Settings, needles: dict[str, bytes]) -> list[str]:
    found = []
    for path in _files(settings):
        data = path.read_bytes()
        found += [f"{path.name}:{label}" for label, needle in needles.items() if needle in data]
    return found


def _canary_needles() -> dict[str, bytes]:
    return {f"{canary}/{label}": needle for canary in CANARIES for label, needle in _needles(canary).items()}


async def test_no_canary_residue_alive_or_after_purge(
    settings: Settings, vault: Vault, db: Database, clock: FixedClock, audit: AuditRecorder
) -> None:
    needles = _canary_needles()
    refs = [
        await vault.seal("CREDIT_CARD", Sensitive(c), case_id=None, source="chat", retention_days=1) for c in CANARIES
    ]
    keeper = await vault.seal("US_SSN", Sensitive("078-05-1120"), case_id=None, source="form", retention_days=None)
    # Alive, before and after the WAL is folded in, and after every value has been opened (in memory only).
    assert _wal_size(settings) > 0
    assert _hits(settings, needles) == []
    for ref, canary in zip(refs, CANARIES, strict=True):
        opened = await vault.open(ref.token, actor="stf_alice", reason="residue test", audit=audit)
        assert opened.reveal() == "".join(ch for ch in canary if ch.isdigit())
    await db.checkpoint()
    assert _hits(settings, needles) == []

    rows = await db.fetch_all("SELECT wrapped_key, ciphertext, blind_index FROM secrets WHERE kind = 'CREDIT_CARD'")
    shredded = {f"row{i}/{c}": bytes(row[c]) for i, row in enumerate(rows) for c in row.keys()}  # noqa: SIM118
    assert len(shredded) == 3 * len(CANARIES)
    assert all(len(_hits(settings, {k: v})) == 1 for k, v in shredded.items())  # present in the db file now

    clock.advance(86_400)
    assert await vault.purge_expired() == len(CANARIES)
    assert _hits(settings, needles) == []
    assert _hits(settings, shredded) == []
    assert _wal_size(settings) == 0
    assert await vault.describe(keeper.token) == keeper


async def test_deleting_one_secret_shreds_it(settings: Settings, vault: Vault, db: Database) -> None:
    ref = await vault.seal("CREDIT_CARD", Sensitive(CANARIES[0]), case_id=None, source="chat", retention_days=None)
    row = await db.fetch_one("SELECT wrapped_key, ciphertext FROM secrets WHERE token = ?", (ref.token,))
    assert row is not None
    material = {"wrapped_key": bytes(row[0]), "ciphertext": bytes(row[1]), "token": ref.token.encode()}
    assert await vault.delete(ref.token) is True
    assert await vault.delete(ref.token) is False
    assert _hits(settings, material) == []
    assert _hits(settings, _canary_needles()) == []


@pytest.mark.parametrize("canary", CANARIES[:2])
def test_needles_cover_every_encoding(canary: str) -> None:
    needles = _needles(canary)
    assert len(needles) == 2 * (2 + 3 * 3)
    digits = canary.replace(" ", "").replace("-", "")
    assert needles["digits-sha256-hex"] == hashlib.sha256(digits.encode()).hexdigest().encode()
