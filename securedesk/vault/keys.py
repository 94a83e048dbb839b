"""Key-encrypting keys (KEKs): where they live (``KeyProvider``), and the versioned ``Keyring`` loaded from there.

The default provider, ``LocalKeyFile``, keeps one file per version (``kek-v1.key``, ``kek-v2.key``, …: the base64
of 32 random bytes, mode 0600) in ``Settings.key_dir`` (mode 0700), outside the database. ``EnvKeyProvider`` reads
``Settings.kek`` instead (``SECUREDESK_KEK``: one base64 key, or ``1:<base64>,2:<base64>``). A KMS or a HashiCorp
Vault transit engine would be a third provider. Anything missing, unreadable, too widely readable or corrupt is a
``KeyUnavailable`` naming the file and the fix; the server refuses to start on it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

from securedesk.config import Settings
from securedesk.errors import KeyUnavailable
from securedesk.sensitive import Sensitive

KEK_BYTES: Final = 32
KEY_FILE_PATTERN: Final = re.compile(r"kek-v([1-9][0-9]{0,8})\.key")
_CHECK_LABEL: Final = b"securedesk/kek-check/v1"


def key_file_name(version: int) -> str:
    return f"kek-v{version}.key"


class Keyring:
    """The KEK versions one provider holds. Immutable; its ``repr`` names versions, never key material."""

    __slots__ = ("_keys", "source")

    def __init__(self, keys: Mapping[int, bytes], *, source: str) -> None:
        if not keys:
            raise KeyUnavailable(f"No key-encrypting key in {source}.", hint="run `securedesk init` to create one")
        for version, key in keys.items():
            if version < 1 or len(key) != KEK_BYTES:
                raise KeyUnavailable(f"KEK version {version} in {source} is not a {KEK_BYTES}-byte key.")
        self._keys = dict(keys)
        self.source = source

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys))

    @property
    def newest(self) -> int:
        return max(self._keys)

    def __contains__(self, version: object) -> bool:
        return version in self._keys

    def key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise KeyUnavailable(
                f"KEK version {version} is not in {self.source} (it has versions {_listed(self.versions)}).",
                hint="restore that key version from backup; without it the data it wraps cannot be opened",
            ) from None

    def check_value(self, version: int) -> bytes:
        """A 16-byte key check value: tells a wrong key file from tampered data without revealing the key."""
        return hmac.new(self.key(version), _CHECK_LABEL, hashlib.sha256).digest()[:16]

    def __repr__(self) -> str:
        return f"Keyring(versions={list(self.versions)}, source={self.source!r})"


class KeyProvider(Protocol):
    """Where the KEK versions live. ``load`` raises ``KeyUnavailable`` when they cannot be used."""

    @property
    def location(self) -> str:
        """Where the keys are, for messages (never the keys themselves)."""
        ...

    def load(self) -> Keyring: ...

    def add_version(self) -> int:
        """Create the next version with a fresh random key and return its number."""
        ...

    def destroy_version(self, version: int) -> str:
        """Destroy one version's key material; returns what was done, for the operator."""
        ...


class LocalKeyFile:
    """One file per KEK version in a private directory (0700, files 0600, owned by the user running SecureDesk)."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir

    @property
    def location(self) -> str:
        return f"key directory {self.key_dir}"

    def load(self) -> Keyring:
        self._check_directory()
        try:
            names = sorted(os.listdir(self.key_dir))
        except OSError as exc:
            raise KeyUnavailable(f"Cannot list key directory {self.key_dir}: {exc.strerror}.") from exc
        keys: dict[int, bytes] = {}
        for name in names:
            match = KEY_FILE_PATTERN.fullmatch(name)
            if match is not None:
                keys[int(match.group(1))] = self._read_key(self.key_dir / name)
        if not keys:
            raise KeyUnavailable(
                f"No key-encrypting key in {self.key_dir} (expected {key_file_name(1)}).",
                hint="run `securedesk init` for a new installation; if this database already holds secrets, "
                "restore the key directory from backup instead",
            )
        return Keyring(keys, source=self.location)

    def add_version(self) -> int:
        self._ensure_directory()
        existing = [int(m.group(1)) for m in (KEY_FILE_PATTERN.fullmatch(n) for n in os.listdir(self.key_dir)) if m]
        version = max(existing, default=0) + 1
        self._write_new_key(self.key_dir / key_file_name(version), secrets.token_bytes(KEK_BYTES))
        return version

    def destroy_version(self, version: int) -> str:
        path = self.key_dir / key_file_name(version)
        try:
            size = path.stat().st_size
            # Overwrite before unlinking: on file systems that write in place this leaves no copy of the key.
            with path.open("r+b") as handle:
                handle.write(b"\0" * size)
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
        except FileNotFoundError:
            return f"{path} was already gone"
        except OSError as exc:
            raise KeyUnavailable(f"Cannot delete {path}: {exc.strerror}.", hint="delete it by hand") from exc
        _fsync_directory(self.key_dir)
        return f"deleted {path}"

    # --- checks ----------------------------------------------------------------------------------------------

    def _check_directory(self) -> None:
        try:
            info = self.key_dir.stat()
        except FileNotFoundError:
            raise KeyUnavailable(
                f"Key directory {self.key_dir} does not exist.",
                hint="run `securedesk init`, or point SECUREDESK_KEY_DIR (or SECUREDESK_KEK) at the key",
            ) from None
        except OSError as exc:
            raise KeyUnavailable(f"Cannot use key directory {self.key_dir}: {exc.strerror}.") from exc
        if not stat.S_ISDIR(info.st_mode):
            raise KeyUnavailable(f"Key directory {self.key_dir} is not a directory.")
        _check_private(self.key_dir, info, kind="Key directory", fix=f"chmod 700 {self.key_dir}")

    def _read_key(self, path: Path) -> bytes:
        try:
            info = path.lstat()
        except OSError as exc:
            raise KeyUnavailable(f"Cannot use key file {path}: {exc.strerror}.") from exc
        if not stat.S_ISREG(info.st_mode):
            raise KeyUnavailable(f"Key file {path} is not a regular file (symbolic links are refused).")
        _check_private(path, info, kind="Key file", fix=f"chmod 600 {path}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise KeyUnavailable(
                f"Cannot read key file {path}: {exc.strerror}.", hint="run SecureDesk as the user owning the key"
            ) from exc
        try:
            key = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEK_BYTES:
            raise KeyUnavailable(
                f"Key file {path} is corrupt: it must hold the base64 of {KEK_BYTES} bytes.",
                hint="restore it from backup",
            )
        return key

    # --- writing ---------------------------------------------------------------------------------------------

    def _ensure_directory(self) -> None:
        try:
            self.key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KeyUnavailable(f"Cannot create key directory {self.key_dir}: {exc.strerror}.") from exc
        self._check_directory()

    def _write_new_key(self, final: Path, key: bytes) -> None:
        # A private temporary file linked into place: nobody sees a half-written key, and the link fails
        # rather than replace a key someone else created at the same moment.
        temporary = final.with_name(f".{final.name}.{secrets.token_hex(8)}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(key) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, final)
        except FileExistsError as exc:
            raise KeyUnavailable(f"Key file {final} already exists; it was not replaced.") from exc
        except OSError as exc:
            raise KeyUnavailable(f"Cannot write key file {final}: {exc.strerror}.") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        _fsync_directory(self.key_dir)


class EnvKeyProvider:
    """KEK versions given in ``Settings.kek``: ``<base64>`` (version 1) or ``1:<base64>,2:<base64>``. Read-only."""

    def __init__(self, value: Sensitive, *, name: str = "SECUREDESK_KEK") -> None:
        self._value = value
        self._name = name

    @property
    def location(self) -> str:
        return self._name

    def load(self) -> Keyring:
        keys: dict[int, bytes] = {}
        parts = [p.strip() for p in self._value.reveal().split(",") if p.strip()]
        for index, part in enumerate(parts, start=1):
            number, colon, encoded = part.partition(":")
            if not colon:
                number, encoded = ("1" if len(parts) == 1 else ""), part
            if not number.isdigit() or int(number) < 1:
                raise KeyUnavailable(
                    f"{self._name} entry {index} has no version number.",
                    hint="write VERSION:BASE64 entries separated by commas, e.g. 1:…,2:…",
                )
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != KEK_BYTES:
                raise KeyUnavailable(
                    f"{self._name} entry {index} is not the base64 of {KEK_BYTES} bytes.",
                    hint="generate one with: "
                    "python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'",
                )
            if int(number) in keys:
                raise KeyUnavailable(f"{self._name} names version {number} twice.")
            keys[int(number)] = key
        if not keys:
            raise KeyUnavailable(f"{self._name} is empty.")
        return Keyring(keys, source=self._name)

    def add_version(self) -> int:
        raise KeyUnavailable(
            f"The KEK comes from {self._name}, which SecureDesk cannot change.",
            hint=f"append ',N:<base64 of 32 random bytes>' with the next version N to {self._name}, restart, "
            "then run `securedesk keys rotate --resume`",
        )

    def destroy_version(self, version: int) -> str:
        return f"remove version {version} from {self._name} yourself"


def key_provider(settings: Settings) -> KeyProvider:
    """``EnvKeyProvider`` when ``Settings.kek`` is set, else ``LocalKeyFile`` on ``Settings.key_dir``."""
    if settings.kek is not None:
        return EnvKeyProvider(settings.kek)
    key_dir = settings.key_dir.resolve()
    if key_dir == settings.data_dir.resolve() or settings.database_path.resolve().is_relative_to(key_dir):
        raise KeyUnavailable(
            f"The key directory {settings.key_dir} holds the database: the KEK must live apart from the data.",
            hint="set SECUREDESK_KEY_DIR to a directory of its own",
        )
    return LocalKeyFile(settings.key_dir)


def load_keyring(settings: Settings) -> Keyring:
    """The configured KEK versions, or ``KeyUnavailable`` saying exactly what is wrong (the server then stops)."""
    return key_provider(settings).load()


def _check_private(path: Path, info: os.stat_result, *, kind: str, fix: str) -> None:
    if os.name != "posix":
        return
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnavailable(
            f"{kind} {path} is accessible to other users (mode {stat.S_IMODE(info.st_mode):04o}).", hint=f"run {fix}"
        )
    if info.st_uid != os.geteuid():
        raise KeyUnavailable(
            f"{kind} {path} belongs to another user (uid {info.st_uid}).",
            hint="run SecureDesk as the user owning the key, or chown it",
        )


def _fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _listed(versions: tuple[int, ...]) -> str:
    return ", ".join(str(v) for v in versions) or "none"
