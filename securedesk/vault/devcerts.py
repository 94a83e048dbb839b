"""Development TLS: a local CA and a ``localhost`` server certificate in ``Settings.cert_dir``, via ``cryptography``.

Idempotent: valid files are kept; a certificate is made anew when it is missing, unreadable, expires within 30 days,
lacks one of the names, does not match its key, or (for the server) was not signed by the current CA. The CA is
name-constrained to ``localhost``, ``127.0.0.0/8`` and ``::1``, so trusting it cannot let it vouch for any other site.
Private keys are written 0600, atomically. Production deployments point ``tls_cert``/``tls_key`` at their own files.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.errors import ConfigError

RENEW_BEFORE: Final = dt.timedelta(days=30)
CA_LIFETIME: Final = dt.timedelta(days=5 * 365)
SERVER_LIFETIME: Final = dt.timedelta(days=397)  # the CA/Browser Forum maximum; Chromium enforces it for some roots
CLOCK_SKEW: Final = dt.timedelta(minutes=5)

SERVER_DNS_NAMES: Final = ("localhost",)
SERVER_IP_ADDRESSES: Final = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_PERMITTED_SUBTREES: Final = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
    x509.IPAddress(ipaddress.ip_network("::1/128")),
)

CA_CERT_NAME: Final = "ca.pem"
CA_KEY_NAME: Final = "ca.key"
SERVER_CERT_NAME: Final = "server.pem"
SERVER_KEY_NAME: Final = "server.key"


class CertAction(StrEnum):
    KEPT = "kept"
    CREATED = "created"
    RENEWED = "renewed"


@dataclass(frozen=True)
class DevCertificates:
    """Where the development certificates are, what ``ensure_dev_certificates`` did, and why."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    ca_action: CertAction
    server_action: CertAction
    reason: str  # why something was made anew ("" when everything was kept)
    server_not_after: dt.datetime


@dataclass(frozen=True)
class _Loaded:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def ensure_dev_certificates(cert_dir: Path, *, clock: Clock) -> DevCertificates:
    """Make sure ``cert_dir`` holds a valid development CA and ``localhost`` certificate; create or renew as needed."""
    try:
        cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"Cannot create the certificate directory {cert_dir}: {exc.strerror}.") from exc
    now = dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC)
    paths = (cert_dir / CA_CERT_NAME, cert_dir / CA_KEY_NAME, cert_dir / SERVER_CERT_NAME, cert_dir / SERVER_KEY_NAME)
    ca_cert_path, ca_key_path, server_cert_path, server_key_path = paths
    reasons: list[str] = []

    ca = _load(ca_cert_path, ca_key_path)
    ca_problem = _missing_problem(ca_cert_path) if ca is None else _ca_problem(ca, now)
    if ca is None or ca_problem is not None:
        ca_action = CertAction.CREATED if ca_problem is None else CertAction.RENEWED
        if ca_problem is not None:
            reasons.append(f"CA certificate {ca_problem}")
        ca = _issue_ca(now)
        _write_pair(ca, ca_cert_path, ca_key_path)
    else:
        ca_action = CertAction.KEPT
        _tighten_key_mode(ca_key_path)

    server = _load(server_cert_path, server_key_path)
    server_problem = _missing_problem(server_cert_path) if server is None else _server_problem(server, ca.cert, now)
    if server is None or server_problem is not None:
        server_action = CertAction.CREATED if server_problem is None else CertAction.RENEWED
        if server_problem is not None:
            reasons.append(f"server certificate {server_problem}")
        server = _issue_server(ca, now)
        _write_pair(server, server_cert_path, server_key_path)
    else:
        server_action = CertAction.KEPT
        _tighten_key_mode(server_key_path)

    return DevCertificates(
        ca_cert=ca_cert_path,
        ca_key=ca_key_path,
        server_cert=server_cert_path,
        server_key=server_key_path,
        ca_action=ca_action,
        server_action=server_action,
        reason="; ".join(reasons),
        server_not_after=server.cert.not_valid_after_utc,
    )


def ensure_for_settings(settings: Settings, *, clock: Clock) -> DevCertificates | None:
    """The ``securedesk init`` step: development certificates, unless the settings name their own TLS files."""
    if settings.tls_cert is not None or settings.tls_key is not None:
        return None
    return ensure_dev_certificates(settings.cert_dir, clock=clock)


def describe(result: DevCertificates | None, settings: Settings) -> str:
    """What happened to the certificates, for the ``TLS certificates`` line of ``securedesk init``."""
    if result is None:
        return f"using the configured certificate {settings.tls_cert_path} (no development certificate made)"
    if result.ca_action is CertAction.KEPT and result.server_action is CertAction.KEPT:
        verb = "kept"
    elif result.ca_action is CertAction.CREATED and result.server_action is CertAction.CREATED:
        verb = "created"
    else:
        verb = f"renewed ({result.reason})"
    return (
        f"development CA and localhost certificate {verb} in {result.ca_cert.parent} "
        f"(server certificate valid until {result.server_not_after:%Y-%m-%d}; trust {result.ca_cert} in clients)"
    )


def spki_sha256(cert_path: Path) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's ``--ignore-certificate-errors-spki-list``)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the certificate {cert_path}.", hint="run `securedesk init`") from exc
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


# --- checks --------------------------------------------------------------------------------------------------


def _load(cert_path: Path, key_path: Path) -> _Loaded | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return _Loaded(cert, key)


def _missing_problem(cert_path: Path) -> str | None:
    """None when there was nothing yet (a first creation); otherwise why the existing files could not be used."""
    return "or its key is unreadable" if cert_path.exists() else None


def _validity_problem(cert: x509.Certificate, now: dt.datetime) -> str | None:
    if cert.not_valid_before_utc > now + CLOCK_SKEW:
        return "not yet valid"
    if cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return "expires within 30 days" if cert.not_valid_after_utc > now else "expired"
    return None


def _key_matches(loaded: _Loaded) -> bool:
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return loaded.cert.public_key().public_bytes(der, spki) == loaded.key.public_key().public_bytes(der, spki)


def _ca_problem(ca: _Loaded, now: dt.datetime) -> str | None:
    if not _key_matches(ca):
        return "does not match its key"
    try:
        constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "is not a CA"
    if not constraints.ca:
        return "is not a CA"
    return _validity_problem(ca.cert, now)


def _server_problem(server: _Loaded, ca_cert: x509.Certificate, now: dt.datetime) -> str | None:
    if not _key_matches(server):
        return "does not match its key"
    try:
        server.cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "was not signed by the current CA"
    try:
        names = server.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "has no subject alternative names"
    dns = set(names.get_values_for_type(x509.DNSName))
    ips = set(names.get_values_for_type(x509.IPAddress))
    if not set(SERVER_DNS_NAMES) <= dns or not set(SERVER_IP_ADDRESSES) <= ips:
        return "lacks one of the names localhost, 127.0.0.1, ::1"
    return _validity_problem(server.cert, now)


# --- issuing -------------------------------------------------------------------------------------------------


def _issue_ca(now: dt.datetime) -> _Loaded:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SecureDesk (development only)"),
            # A random suffix keeps two development CAs (two checkouts) from sharing a name in a trust store.
            x509.NameAttribute(NameOID.COMMON_NAME, f"SecureDesk development CA {secrets.token_hex(4)}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=list(_PERMITTED_SUBTREES), excluded_subtrees=None), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Loaded(cert, key)


def _issue_server(ca: _Loaded, now: dt.datetime) -> _Loaded:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_DNS_NAMES]
    names += [x509.IPAddress(ip) for ip in SERVER_IP_ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + SERVER_LIFETIME, ca.cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _Loaded(cert, key)


# --- files ---------------------------------------------------------------------------------------------------


def _write_pair(loaded: _Loaded, cert_path: Path, key_path: Path) -> None:
    # Key first: a crash between the two leaves a certificate that does not match its key, which the next run renews.
    key_pem = loaded.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_atomic(key_path, key_pem, 0o600)
    _write_atomic(cert_path, loaded.cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.fchmod(fd, mode)  # the umask may have narrowed it; make it exact
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {path}: {exc.strerror}.", hint="check the certificate directory") from exc


def _tighten_key_mode(key_path: Path) -> None:
    if key_path.stat().st_mode & 0o077:
        key_path.chmod(0o600)
