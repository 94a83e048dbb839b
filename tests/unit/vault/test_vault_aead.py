"""Published AES-GCM vectors through our wrapper: Wycheproof (every invalid vector rejected) and NIST CAVP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cryptography_vectors
import pytest

from securedesk.errors import DecryptionFailed
from securedesk.vault import aead

WYCHEPROOF = Path(__file__).parents[2] / "vectors" / "wycheproof" / "aes_gcm_test.json"
CAVP_DIR = Path(cryptography_vectors.__file__).parent / "ciphers" / "AES" / "GCM"


@dataclass(frozen=True)
class Vector:
    name: str
    key: bytes
    iv: bytes
    aad: bytes
    msg: bytes
    ct: bytes
    tag: bytes
    valid: bool


def _wycheproof() -> list[Vector]:
    doc = json.loads(WYCHEPROOF.read_text())
    out = []
    for group in doc["testGroups"]:
        for t in group["tests"]:
            out.append(
                Vector(
                    name=f"tc{t['tcId']}-{t['result']}-{'/'.join(t['flags'])}",
                    key=bytes.fromhex(t["key"]),
                    iv=bytes.fromhex(t["iv"]),
                    aad=bytes.fromhex(t["aad"]),
                    msg=bytes.fromhex(t["msg"]),
                    ct=bytes.fromhex(t["ct"]),
                    tag=bytes.fromhex(t["tag"]),
                    valid=t["result"] == "valid",
                )
            )
    return out


def _cavp(filename: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    """``(section parameters, entry fields)`` for every entry of a CAVP .rsp file; ``FAIL`` becomes ``{"FAIL": ""}``."""
    entries: list[tuple[dict[str, str], dict[str, str]]] = []
    params: dict[str, str] = {}
    current: dict[str, str] | None = None
    for raw in (CAVP_DIR / filename).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if current is not None:
                entries.append((dict(params), current))
                current = None
            key, _, value = line.strip("[]").partition(" = ")
            params[key] = value
            continue
        if line.startswith("Count = "):
            if current is not None:
                entries.append((dict(params), current))
            current = {}
            continue
        if current is None:
            continue
        if line == "FAIL":
            current["FAIL"] = ""
        else:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    if current is not None:
        entries.append((dict(params), current))
    return entries


def _cavp_vectors(filename: str) -> list[Vector]:
    out = []
    for index, (params, e) in enumerate(_cavp(filename)):
        out.append(
            Vector(
                name=f"{filename}#{index}-iv{params['IVlen']}-tag{params['Taglen']}-{'FAIL' if 'FAIL' in e else 'ok'}",
                key=bytes.fromhex(e["Key"]),
                iv=bytes.fromhex(e["IV"]),
                aad=bytes.fromhex(e["AAD"]),
                msg=bytes.fromhex(e.get("PT", "")),
                ct=bytes.fromhex(e["CT"]),
                tag=bytes.fromhex(e["Tag"]),
                valid="FAIL" not in e,
            )
        )
    return out


WYCHEPROOF_VECTORS = _wycheproof()
CAVP_DECRYPT = _cavp_vectors("gcmDecrypt256.rsp")
CAVP_ENCRYPT = _cavp_vectors("gcmEncryptExtIV256.rsp")


def test_vendored_wycheproof_file_is_complete() -> None:
    doc = json.loads(WYCHEPROOF.read_text())
    ids = [t["tcId"] for g in doc["testGroups"] for t in g["tests"]]
    assert ids == [*range(91, 157), 315, 316]
    assert doc["numberOfTests"] == len(ids) == len(WYCHEPROOF_VECTORS)
    assert sum(not v.valid for v in WYCHEPROOF_VECTORS) == 29


@pytest.mark.parametrize("v", WYCHEPROOF_VECTORS, ids=lambda v: v.name)
def test_wycheproof_decrypt(v: Vector) -> None:
    if v.valid:
        assert aead.decrypt(v.key, v.iv, v.ct + v.tag, v.aad) == v.msg
        # The blob form ``seal`` produces (nonce in front) opens the same way.
        assert aead.unseal(v.key, v.iv + v.ct + v.tag, v.aad) == v.msg
    else:
        with pytest.raises(DecryptionFailed) as info:
            aead.decrypt(v.key, v.iv, v.ct + v.tag, v.aad)
        assert str(info.value) == "Protected value could not be opened."
        with pytest.raises(DecryptionFailed):
            aead.unseal(v.key, v.iv + v.ct + v.tag, v.aad)


@pytest.mark.parametrize("v", [v for v in WYCHEPROOF_VECTORS if v.valid], ids=lambda v: v.name)
def test_wycheproof_encrypt(v: Vector) -> None:
    assert aead.encrypt(v.key, v.iv, v.msg, v.aad) == v.ct + v.tag


def _ours(v: Vector) -> bool:
    """Parameters our wrapper accepts: 96-bit nonce, full 128-bit tag."""
    return len(v.iv) == aead.NONCE_BYTES and len(v.tag) == aead.TAG_BYTES


def test_cavp_files_have_what_we_test() -> None:
    ours = [v for v in CAVP_DECRYPT if _ours(v)]
    assert len(ours) == 375
    assert sum(not v.valid for v in ours) > 100
    assert len([v for v in CAVP_ENCRYPT if _ours(v)]) == 375


@pytest.mark.parametrize("v", CAVP_DECRYPT, ids=lambda v: v.name)
def test_cavp_decrypt(v: Vector) -> None:
    if v.valid and _ours(v):
        assert aead.decrypt(v.key, v.iv, v.ct + v.tag, v.aad) == v.msg
    else:
        # Invalid entries fail to authenticate; valid ones with other nonce or tag sizes are outside our recipe.
        with pytest.raises(DecryptionFailed):
            aead.decrypt(v.key, v.iv, v.ct + v.tag, v.aad)


@pytest.mark.parametrize("v", [v for v in CAVP_ENCRYPT if _ours(v)], ids=lambda v: v.name)
def test_cavp_encrypt(v: Vector) -> None:
    assert aead.encrypt(v.key, v.iv, v.msg, v.aad) == v.ct + v.tag


def test_encrypt_refuses_other_nonce_and_key_sizes() -> None:
    with pytest.raises(ValueError, match="nonces are 12 bytes"):
        aead.encrypt(bytes(32), bytes(8), b"x", b"")
    with pytest.raises(ValueError, match="keys are 32 bytes"):
        aead.encrypt(bytes(16), bytes(12), b"x", b"")


def test_seal_uses_a_fresh_nonce_every_time() -> None:
    key = aead.new_key()
    blobs = {aead.seal(key, b"same plaintext", b"aad") for _ in range(200)}
    assert len(blobs) == 200
    assert len({b[: aead.NONCE_BYTES] for b in blobs}) == 200


def test_every_single_bit_flip_is_rejected() -> None:
    key = aead.new_key()
    blob = aead.seal(key, b"4111111111111111", b"bound")
    for bit in range(len(blob) * 8):
        tampered = bytearray(blob)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionFailed):
            aead.unseal(key, bytes(tampered), b"bound")
    with pytest.raises(DecryptionFailed):
        aead.unseal(key, blob[:-1], b"bound")
    with pytest.raises(DecryptionFailed):
        aead.unseal(key, blob, b"other")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("a", "bc"), ("ab", "c")),
        ((1,), ("1",)),
        (("x", b""), ("x", "")),
        (("x",), ("x", "")),
        ((b"\x00",), ("\x00",)),
    ],
)
def test_bind_never_encodes_two_lists_alike(
    left: tuple[str | bytes | int, ...], right: tuple[str | bytes | int, ...]
) -> None:
    assert aead.bind(*left) != aead.bind(*right)
