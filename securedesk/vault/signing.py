"""The Ed25519 key that signs audit checkpoints, kept beside the KEK in ``Settings.key_dir`` (private file mode 0600).

``SigningKey`` signs; ``VerifyKey`` (its public half, also written as ``audit-signing.pub`` for offline verifiers)
checks. Key ids are the first 16 hex digits of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from securedesk.errors import KeyUnavailable

PRIVATE_KEY_FILE = "audit-signing.key"
PUBLIC_KEY_FILE = "audit-signing.pub"


def _key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


class VerifyKey:
    """An Ed25519 public key that checks checkpoint signatures."""

    __slots__ = ("_key", "_raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise KeyUnavailable("An Ed25519 public key is 32 bytes.", hint="check the public key file")
        self._raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)

    @property
    def raw(self) -> bytes:
        return self._raw

    @property
    def key_id(self) -> str:
        return _key_id(self._raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "public key") -> VerifyKey:
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise KeyUnavailable(f"The {source} is not a PEM public key.") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyUnavailable(f"The {source} is not an Ed25519 public key.")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def load_file(cls, path: Path) -> VerifyKey:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyUnavailable(f"Cannot read the public key file {path}: {exc.strerror}.") from exc
        return cls.from_pem(data, source=f"file {path}")

    @classmethod
    def load(cls, key_dir: Path) -> VerifyKey:
        """The trusted public key of ``key_dir``: derived from the private key when present, else the .pub file."""
        if (key_dir / PRIVATE_KEY_FILE).exists():
            return SigningKey.load(key_dir).verify_key
        if (key_dir / PUBLIC_KEY_FILE).exists():
            return cls.load_file(key_dir / PUBLIC_KEY_FILE)
        raise KeyUnavailable(
            f"No audit signing key in {key_dir}.",
            hint="run `securedesk audit checkpoint` on the server once, or pass --public-key FILE",
        )

    def __repr__(self) -> str:
        return f"VerifyKey(key_id={self.key_id!r})"


class SigningKey:
    """An Ed25519 private key. Its ``repr`` never shows key material."""

    __slots__ = ("_key", "_verify_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._verify_key = VerifyKey(
            key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key held only in memory (tests, benchmarks); ``create`` writes one to disk."""
        return cls(Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32)))

    @property
    def verify_key(self) -> VerifyKey:
        return self._verify_key

    @property
    def key_id(self) -> str:
        return self._verify_key.key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @classmethod
    def load(cls, key_dir: Path) -> SigningKey:
        path = key_dir / PRIVATE_KEY_FILE
        try:
            info = path.stat()
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyUnavailable(
                f"The audit signing key {path} does not exist.",
                hint="run `securedesk init` (or `securedesk audit checkpoint`) to create it",
            ) from exc
        except OSError as exc:
            raise KeyUnavailable(f"Cannot read the audit signing key {path}: {exc.strerror}.") from exc
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailable(
                f"The audit signing key {path} is accessible to other users.", hint=f"run chmod 600 {path}"
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyUnavailable(f"The audit signing key {path} is not a readable PEM private key.") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyUnavailable(f"The audit signing key {path} is not an Ed25519 key.")
        return cls(key)

    @classmethod
    def create(cls, key_dir: Path) -> SigningKey:
        """Generate a key and write it (0600) with its public half (0644); refuses to replace an existing key."""
        key = cls.generate()
        pem = key._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        final = key_dir / PRIVATE_KEY_FILE
        # Write a private temporary file, then link it into place: another process never sees a half-written
        # key, and two processes creating at once cannot both win (link fails if the name exists).
        temporary = key_dir / f".{PRIVATE_KEY_FILE}.{secrets.token_hex(8)}"
        try:
            key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise KeyUnavailable(f"Cannot write the audit signing key in {key_dir}: {exc.strerror}.") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, final)
        except FileExistsError as exc:
            raise KeyUnavailable(f"The audit signing key {final} already exists; it was not replaced.") from exc
        except OSError as exc:
            raise KeyUnavailable(f"Cannot write the audit signing key {final}: {exc.strerror}.") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        public_path = key_dir / PUBLIC_KEY_FILE
        try:
            public_path.write_bytes(key.verify_key.to_pem())
            public_path.chmod(0o644)
        except OSError as exc:
            raise KeyUnavailable(f"Cannot write the public key {public_path}: {exc.strerror}.") from exc
        return key

    @classmethod
    def load_or_create(cls, key_dir: Path) -> SigningKey:
        """The key of ``key_dir``, created on first use (the init step)."""
        if (key_dir / PRIVATE_KEY_FILE).exists():
            return cls.load(key_dir)
        try:
            return cls.create(key_dir)
        except KeyUnavailable:
            # Another process created it between our check and our link: use theirs.
            if (key_dir / PRIVATE_KEY_FILE).exists():
                return cls.load(key_dir)
            raise

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"
