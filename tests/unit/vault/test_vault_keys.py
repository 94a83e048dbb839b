"""KEK providers and the keyring: every way the KEK can be unusable is a precise ``KeyUnavailable``, and the vault
(hence the server) refuses to start on it."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import KeyUnavailable
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import EnvKeyProvider, LocalKeyFile, Vault, key_provider, load_keyring

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()


def test_add_version_writes_private_files(tmp_path: Path) -> None:
    provider = LocalKeyFile(tmp_path / "keys")
    assert provider.add_version() == 1
    assert provider.add_version() == 2
    for name in ("kek-v1.key", "kek-v2.key"):
        info = (tmp_path / "keys" / name).stat()
        assert stat.S_IMODE(info.st_mode) == 0o600
        assert len(base64.b64decode((tmp_path / "keys" / name).read_bytes().strip(), validate=True)) == 32
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    keyring = provider.load()
    assert keyring.versions == (1, 2)
    assert keyring.newest == 2
    assert keyring.key(1) != keyring.key(2)
    assert [p.name for p in (tmp_path / "keys").iterdir() if p.name.startswith(".")] == []


def test_other_files_in_the_key_directory_are_ignored(tmp_path: Path) -> None:
    provider = LocalKeyFile(tmp_path / "keys")
    provider.add_version()
    (tmp_path / "keys" / "audit-signing.pub").write_text("public")
    assert provider.load().versions == (1,)


def test_keyring_never_shows_key_material(tmp_path: Path) -> None:
    provider = LocalKeyFile(tmp_path / "keys")
    provider.add_version()
    keyring = provider.load()
    key = keyring.key(1)
    assert repr(keyring) == f"Keyring(versions=[1], source='key directory {tmp_path / 'keys'}')"
    assert key.hex() not in repr(keyring)
    assert len(keyring.check_value(1)) == 16
    assert keyring.check_value(1) == provider.load().check_value(1)
    with pytest.raises(KeyUnavailable, match=r"KEK version 7 is not in key directory .* \(it has versions 1\)"):
        keyring.key(7)


def _write_key(path: Path, content: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda d: None, r"Key directory .*/keys does not exist\. \(run `securedesk init`"),
        (lambda d: d.mkdir(mode=0o700), r"No key-encrypting key in .*/keys \(expected kek-v1\.key\)"),
        (
            lambda d: (d.mkdir(), d.chmod(0o755), _write_key(d / "kek-v1.key", KEY_A.encode())),
            r"Key directory .*/keys is accessible to other users \(mode 0755\)\. \(run chmod 700",
        ),
        (
            lambda d: _write_key(d / "kek-v1.key", KEY_A.encode(), 0o644),
            r"Key file .*/kek-v1\.key is accessible to other users \(mode 0644\)\. \(run chmod 600",
        ),
        (
            lambda d: _write_key(d / "kek-v1.key", b"not base64 at all!"),
            r"Key file .*/kek-v1\.key is corrupt: it must hold the base64 of 32 bytes\. \(restore it from backup\)",
        ),
        (
            lambda d: _write_key(d / "kek-v1.key", base64.b64encode(bytes(16))),
            r"Key file .*/kek-v1\.key is corrupt",
        ),
        (
            lambda d: (d.mkdir(mode=0o700), (d / "kek-v1.key").symlink_to(d / "elsewhere")),
            r"Key file .*/kek-v1\.key is not a regular file \(symbolic links are refused\)",
        ),
    ],
    ids=["missing-dir", "empty-dir", "open-dir", "open-file", "not-base64", "short-key", "symlink"],
)
def test_unusable_key_directory_is_named_precisely(tmp_path: Path, prepare: object, message: str) -> None:
    key_dir = tmp_path / "keys"
    prepare(key_dir)  # type: ignore[operator]
    with pytest.raises(KeyUnavailable, match=message):
        LocalKeyFile(key_dir).load()


def test_unreadable_key_file(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    LocalKeyFile(key_dir).add_version()
    if os.geteuid() != 0:
        (key_dir / "kek-v1.key").chmod(0o000)
        with pytest.raises(KeyUnavailable, match=r"Cannot read key file .*kek-v1\.key: Permission denied"):
            LocalKeyFile(key_dir).load()
        return
    # root reads anything: load as an unprivileged user instead, in a child process (imports done before).
    code = (
        "import os, sys\nfrom pathlib import Path\n"
        "from securedesk.vault import LocalKeyFile\nfrom securedesk.errors import KeyUnavailable\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n    LocalKeyFile(Path(sys.argv[1])).load()\nexcept KeyUnavailable as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(key_dir)], capture_output=True, text=True, check=True)
    assert out.stdout == f"Cannot use key directory {key_dir}: Permission denied.\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    LocalKeyFile(key_dir).add_version()
    os.chown(key_dir / "kek-v1.key", 65534, 65534)
    with pytest.raises(KeyUnavailable, match=r"kek-v1\.key belongs to another user \(uid 65534\)"):
        LocalKeyFile(key_dir).load()


def test_env_key_single_and_versioned() -> None:
    assert EnvKeyProvider(Sensitive(KEY_A)).load().versions == (1,)
    keyring = EnvKeyProvider(Sensitive(f"1:{KEY_A}, 2:{KEY_B}")).load()
    assert keyring.versions == (1, 2)
    assert keyring.key(1) == bytes(range(32))
    assert keyring.source == "SECUREDESK_KEK"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "SECUREDESK_KEK is empty."),
        ("c2hvcnQ=", "SECUREDESK_KEK entry 1 is not the base64 of 32 bytes."),
        (f"{KEY_A},{KEY_B}", "SECUREDESK_KEK entry 1 has no version number."),
        (f"1:{KEY_A},1:{KEY_B}", "SECUREDESK_KEK names version 1 twice."),
        (f"0:{KEY_A}", "SECUREDESK_KEK entry 1 has no version number."),
    ],
)
def test_bad_env_key(value: str, message: str) -> None:
    with pytest.raises(KeyUnavailable) as info:
        EnvKeyProvider(Sensitive(value)).load()
    assert str(info.value).startswith(message)
    assert KEY_A not in str(info.value)


def test_env_key_cannot_grow_by_itself() -> None:
    with pytest.raises(KeyUnavailable, match=r"SECUREDESK_KEK, which SecureDesk cannot change.*keys rotate --resume"):
        EnvKeyProvider(Sensitive(KEY_A)).add_version()


def test_settings_choose_the_provider(settings: Settings) -> None:
    assert isinstance(key_provider(settings), LocalKeyFile)
    assert load_keyring(settings.replace(kek=Sensitive(KEY_A))).versions == (1,)
    with pytest.raises(KeyUnavailable, match="holds the database: the KEK must live apart from the data"):
        key_provider(settings.replace(key_dir=settings.data_dir))


async def test_vault_refuses_to_start_without_a_kek(settings: Settings, clock: FixedClock) -> None:
    db = await Database.open(settings.database_path)
    try:
        with pytest.raises(KeyUnavailable, match="does not exist"):
            await Vault.load(settings, db, clock)
        assert await db.fetch_one("SELECT 1 FROM vault_key_versions") is None
    finally:
        await db.close()


async def test_vault_refuses_a_key_from_another_installation(settings: Settings, clock: FixedClock) -> None:
    db = await Database.open(settings.database_path)
    try:
        LocalKeyFile(settings.key_dir).add_version()
        await Vault.load(settings, db, clock)
        _write_key(settings.key_dir / "kek-v1.key", KEY_B.encode())
        with pytest.raises(
            KeyUnavailable,
            match=r"KEK version 1 in key directory .* is not the key this database recorded as version 1",
        ):
            await Vault.load(settings, db, clock)
    finally:
        await db.close()


async def test_vault_refuses_when_a_version_in_use_is_gone(settings: Settings, clock: FixedClock) -> None:
    db = await Database.open(settings.database_path)
    try:
        provider = LocalKeyFile(settings.key_dir)
        provider.add_version()
        await Vault.load(settings, db, clock)  # wraps the index root with version 1
        provider.add_version()
        (settings.key_dir / "kek-v1.key").unlink()
        with pytest.raises(KeyUnavailable, match="still has data keys wrapped by KEK version 1, which is missing"):
            await Vault.load(settings, db, clock)
    finally:
        await db.close()


async def test_vault_runs_on_an_env_kek(settings: Settings, clock: FixedClock) -> None:
    env_settings = settings.replace(kek=Sensitive(KEY_A))
    db = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(env_settings, db, clock)
        assert vault.current_version == 1
        assert vault.provider.location == "SECUREDESK_KEK"
        assert not settings.key_dir.exists()
    finally:
        await db.close()
