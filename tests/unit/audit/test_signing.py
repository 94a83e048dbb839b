"""The checkpoint signing key (vault.signing) and the checkpoint format (audit.checkpoint)."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest

from securedesk.audit import AuditLog, checkpoint_is_valid, checkpoint_to_json, parse_checkpoint
from securedesk.audit.checkpoint import checkpoint_payload, sign_checkpoint
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import InvalidInput, KeyUnavailable
from securedesk.storage import Database
from securedesk.vault.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SigningKey, VerifyKey


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_writes_a_private_key_and_its_public_half(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    key = SigningKey.create(key_dir)
    assert (mode(key_dir), mode(key_dir / PRIVATE_KEY_FILE), mode(key_dir / PUBLIC_KEY_FILE)) == (0o700, 0o600, 0o644)
    assert (key_dir / PRIVATE_KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.load(key_dir).key_id == key.key_id
    assert VerifyKey.load(key_dir).key_id == key.key_id
    (key_dir / PRIVATE_KEY_FILE).unlink()
    assert VerifyKey.load(key_dir).raw == key.verify_key.raw, "the .pub file serves verifiers without the private key"
    assert [p.name for p in key_dir.iterdir() if p.name.startswith(".")] == [], "no temporary file left behind"


def test_create_never_replaces_a_key(tmp_path: Path) -> None:
    first = SigningKey.create(tmp_path)
    with pytest.raises(KeyUnavailable, match="already exists; it was not replaced"):
        SigningKey.create(tmp_path)
    assert SigningKey.load_or_create(tmp_path).key_id == first.key_id


def test_load_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    SigningKey.create(tmp_path)
    (tmp_path / PRIVATE_KEY_FILE).chmod(0o640)
    with pytest.raises(KeyUnavailable, match="accessible to other users") as caught:
        SigningKey.load(tmp_path)
    assert caught.value.hint == f"run chmod 600 {tmp_path / PRIVATE_KEY_FILE}"


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"garbage", "not a readable PEM private key")],
)
def test_missing_or_garbled_key_is_unavailable(tmp_path: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        path = tmp_path / PRIVATE_KEY_FILE
        path.write_bytes(content)
        path.chmod(0o600)
    with pytest.raises(KeyUnavailable, match=message):
        SigningKey.load(tmp_path)


def test_no_key_at_all_tells_the_verifier_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="No audit signing key") as caught:
        VerifyKey.load(tmp_path)
    assert caught.value.hint is not None
    assert "--public-key" in caught.value.hint


def test_repr_shows_only_the_key_id(tmp_path: Path) -> None:
    key = SigningKey.create(tmp_path)
    pem_body = "".join((tmp_path / PRIVATE_KEY_FILE).read_text().splitlines()[1:-1])
    assert repr(key) == f"SigningKey(key_id={key.key_id!r})"
    assert pem_body not in repr(key)
    assert pem_body not in str(key)


def test_signatures_bind_message_and_key() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    signature = key.sign(b"message")
    assert key.verify_key.verify(b"message", signature)
    assert not key.verify_key.verify(b"messagE", signature)
    assert not other.verify_key.verify(b"message", signature)
    assert len(key.key_id) == 16
    assert key.key_id != other.key_id


def test_checkpoint_payload_is_the_documented_canonical_json() -> None:
    payload = checkpoint_payload(
        sequence=7, head_hash="ab" * 32, time="2027-01-15T08:00:00.000000Z", key_id="0123456789abcdef", first_sequence=1
    )
    assert (
        payload
        == (
            '{"first_sequence":1,"head_hash":"' + "ab" * 32 + '","key_id":"0123456789abcdef","sequence":7,'
            '"time":"2027-01-15T08:00:00.000000Z","type":"securedesk.audit.checkpoint","v":1}'
        ).encode()
    )


def test_checkpoint_json_round_trip() -> None:
    key = SigningKey.generate()
    checkpoint = sign_checkpoint(key, sequence=7, head_hash="ab" * 32, time="2027-01-15T08:00:00.000000Z")
    parsed = parse_checkpoint(checkpoint_to_json(checkpoint))
    assert parsed == checkpoint
    assert checkpoint_is_valid(parsed, key.verify_key)


@pytest.mark.parametrize(
    "change",
    [
        {"sequence": 8},
        {"first_sequence": 2},
        {"head_hash": "cd" * 32},
        {"time": "2027-01-15T08:00:01.000000Z"},
        {"key_id": "0000000000000000"},
        {"signature": "00" * 64},
        {"signature": "zz"},
    ],
)
def test_any_change_to_a_checkpoint_is_rejected(change: dict[str, object]) -> None:
    key = SigningKey.generate()
    checkpoint = sign_checkpoint(key, sequence=7, head_hash="ab" * 32, time="2027-01-15T08:00:00.000000Z")
    assert not checkpoint_is_valid(dataclasses.replace(checkpoint, **change), key.verify_key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not a JSON object"),
        ("{", "not valid JSON"),
        ('{"sequence": -1}', "'sequence'"),
        ('{"sequence": true}', "'sequence'"),
        ('{"sequence": 1, "head_hash": "ab", "time": "t", "key_id": "k", "signature": "s"}', "64 lowercase hex"),
        ('{"sequence": 1, "time": "t", "key_id": "k", "signature": "s"}', "'head_hash'"),
        (
            json.dumps(
                {"sequence": 1, "head_hash": "a" * 64, "time": "t", "key_id": "k", "signature": "s", "algorithm": "rsa"}
            ),
            "unsupported algorithm",
        ),
    ],
)
def test_malformed_checkpoint_is_invalid_input(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_checkpoint(text)


async def test_from_settings_creates_the_key_on_first_use(settings: Settings, clock: FixedClock) -> None:
    db = await Database.open(settings.database_path)
    try:
        log = AuditLog.from_settings(settings, db, clock, str)
        checkpoint = await log.checkpoint()
        assert (checkpoint.sequence, checkpoint.head_hash) == (0, "0" * 64)
        assert checkpoint_is_valid(checkpoint, VerifyKey.load(settings.key_dir))
        assert await log.store.checkpoints() == [checkpoint]
        again = AuditLog.from_settings(settings, db, clock, str)
        assert (await again.verify()).checkpoint_sequences == (0,)
    finally:
        await db.close()
