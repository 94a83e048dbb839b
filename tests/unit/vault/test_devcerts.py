"""Development CA and localhost certificate: creation, idempotence, renewal triggers, and real TLS handshakes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.vault.devcerts import (
    CertAction,
    DevCertificates,
    ensure_dev_certificates,
    ensure_for_settings,
    spki_sha256,
)

DAY = 86_400.0


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("expected an EC key")
    return key


def _snapshot(result: DevCertificates) -> dict[str, bytes]:
    paths = (result.ca_cert, result.ca_key, result.server_cert, result.server_key)
    return {p.name: p.read_bytes() for p in paths}


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> None:
    """A complete TLS handshake in memory (no sockets): raises what the client raises."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    client_done = server_done = False
    for _ in range(20):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        if not server_done:
            try:
                server.do_handshake()
                server_done = True
            except ssl.SSLWantReadError:
                pass
        c_in.write(s_out.read())
        if client_done and server_done:
            return
    raise AssertionError("handshake did not finish")


def _server_ctx(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def _client_ctx(ca: Path | None) -> ssl.SSLContext:
    # Without a CA file: the system's trust store only, as any client that was not told about the dev CA.
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def _sign_leaf(
    ca: DevCertificates, clock: FixedClock, names: list[x509.GeneralName], *, issuer_key: ec.EllipticCurvePrivateKey
) -> tuple[bytes, bytes]:
    """A leaf certificate made outside the code under test (for the negative cases)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC)
    ca_cert = _cert(ca.ca_cert)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=200))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_first_run_creates_a_ca_and_a_localhost_certificate(tmp_path: Path, clock: FixedClock) -> None:
    result = ensure_dev_certificates(tmp_path / "certs", clock=clock)

    assert (result.ca_action, result.server_action, result.reason) == (CertAction.CREATED, CertAction.CREATED, "")
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == ["ca.key", "ca.pem", "server.key", "server.pem"]
    assert stat.S_IMODE(result.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.server_cert.stat().st_mode) == 0o644

    ca, server = _cert(result.ca_cert), _cert(result.server_cert)
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    now = dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC)
    assert server.not_valid_after_utc == now + dt.timedelta(days=397)
    assert result.server_not_after == server.not_valid_after_utc
    assert ca.not_valid_after_utc == now + dt.timedelta(days=5 * 365)


def test_second_run_keeps_every_file(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    before = _snapshot(first)
    clock.advance(100 * DAY)

    second = ensure_dev_certificates(tmp_path, clock=clock)

    assert (second.ca_action, second.server_action, second.reason) == (CertAction.KEPT, CertAction.KEPT, "")
    assert _snapshot(second) == before


@pytest.mark.parametrize(
    ("days_before_expiry", "expected"),
    [(31, CertAction.KEPT), (30, CertAction.RENEWED), (29, CertAction.RENEWED), (-3, CertAction.RENEWED)],
)
def test_server_certificate_is_renewed_within_30_days_of_expiry(
    tmp_path: Path, clock: FixedClock, days_before_expiry: int, expected: CertAction
) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    old_server = _cert(first.server_cert)
    clock.set(first.server_not_after.timestamp() - days_before_expiry * DAY)

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert (again.ca_action, again.server_action) == (CertAction.KEPT, expected)
    new_server = _cert(again.server_cert)
    if expected is CertAction.KEPT:
        assert new_server.serial_number == old_server.serial_number
    else:
        assert new_server.serial_number != old_server.serial_number
        assert "server certificate expire" in again.reason
        new_server.verify_directly_issued_by(_cert(again.ca_cert))


def test_expiring_ca_renews_the_ca_and_reissues_the_server_certificate(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    old_ca_spki = spki_sha256(first.ca_cert)
    ca_not_after = _cert(first.ca_cert).not_valid_after_utc
    clock.set(ca_not_after.timestamp() - 10 * DAY)

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert (again.ca_action, again.server_action) == (CertAction.RENEWED, CertAction.RENEWED)
    assert again.reason == "CA certificate expires within 30 days; server certificate was not signed by the current CA"
    _cert(again.server_cert).verify_directly_issued_by(_cert(again.ca_cert))
    assert spki_sha256(again.ca_cert) != old_ca_spki  # a new CA key, not only a new certificate


def test_server_certificate_missing_a_name_is_renewed(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert_pem, key_pem = _sign_leaf(first, clock, names, issuer_key=_key(first.ca_key))
    first.server_cert.write_bytes(cert_pem)
    first.server_key.write_bytes(key_pem)

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert (again.ca_action, again.server_action) == (CertAction.KEPT, CertAction.RENEWED)
    assert again.reason == "server certificate lacks one of the names localhost, 127.0.0.1, ::1"
    sans = _cert(again.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("::1") in sans.get_values_for_type(x509.IPAddress)


def test_server_certificate_from_another_ca_is_renewed(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert_pem, key_pem = _sign_leaf(first, clock, names, issuer_key=ec.generate_private_key(ec.SECP256R1()))
    first.server_cert.write_bytes(cert_pem)
    first.server_key.write_bytes(key_pem)

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert again.reason == "server certificate was not signed by the current CA"
    _cert(again.server_cert).verify_directly_issued_by(_cert(again.ca_cert))


def test_server_key_that_does_not_match_is_renewed(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    first.server_key.write_bytes(first.ca_key.read_bytes())

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert (again.ca_action, again.server_action) == (CertAction.KEPT, CertAction.RENEWED)
    assert again.reason == "server certificate does not match its key"
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert _cert(again.server_cert).public_key().public_bytes(der, spki) == _key(
        again.server_key
    ).public_key().public_bytes(der, spki)


@pytest.mark.parametrize("damaged", ["ca.pem", "ca.key", "server.pem", "server.key"])
def test_unreadable_files_are_replaced(tmp_path: Path, clock: FixedClock, damaged: str) -> None:
    ensure_dev_certificates(tmp_path, clock=clock)
    (tmp_path / damaged).write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")

    again = ensure_dev_certificates(tmp_path, clock=clock)

    if damaged.startswith("ca"):
        assert (again.ca_action, again.server_action) == (CertAction.RENEWED, CertAction.RENEWED)
        assert again.reason.startswith("CA certificate or its key is unreadable")
    else:
        assert (again.ca_action, again.server_action) == (CertAction.KEPT, CertAction.RENEWED)
        assert again.reason == "server certificate or its key is unreadable"
    _cert(again.server_cert).verify_directly_issued_by(_cert(again.ca_cert))


def test_loose_key_permissions_are_tightened(tmp_path: Path, clock: FixedClock) -> None:
    first = ensure_dev_certificates(tmp_path, clock=clock)
    first.ca_key.chmod(0o644)
    first.server_key.chmod(0o640)

    again = ensure_dev_certificates(tmp_path, clock=clock)

    assert (again.ca_action, again.server_action) == (CertAction.KEPT, CertAction.KEPT)
    assert stat.S_IMODE(again.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(again.server_key.stat().st_mode) == 0o600


def test_settings_with_their_own_tls_files_get_no_development_certificate(tmp_path: Path, clock: FixedClock) -> None:
    own = Settings(cert_dir=tmp_path / "dev", tls_cert=tmp_path / "prod.pem", tls_key=tmp_path / "prod.key")
    assert ensure_for_settings(own, clock=clock) is None
    assert not (tmp_path / "dev").exists()

    dev = ensure_for_settings(Settings(cert_dir=tmp_path / "dev"), clock=clock)
    assert dev is not None
    assert dev.server_cert == Settings(cert_dir=tmp_path / "dev").tls_cert_path


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1", "::1"])
def test_tls_handshake_succeeds_when_the_client_trusts_the_dev_ca(
    tmp_path: Path, clock: FixedClock, hostname: str
) -> None:
    # The handshake runs at the real time (OpenSSL checks validity against the system clock).
    certs = ensure_dev_certificates(tmp_path, clock=FixedClock(dt.datetime.now(tz=dt.UTC).timestamp()))
    _handshake(_server_ctx(certs.server_cert, certs.server_key), _client_ctx(certs.ca_cert), hostname)


def test_tls_handshake_fails_without_the_dev_ca(tmp_path: Path) -> None:
    certs = ensure_dev_certificates(tmp_path, clock=FixedClock(dt.datetime.now(tz=dt.UTC).timestamp()))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        _handshake(_server_ctx(certs.server_cert, certs.server_key), _client_ctx(None), "localhost")


def test_tls_handshake_fails_for_a_name_not_in_the_certificate(tmp_path: Path) -> None:
    certs = ensure_dev_certificates(tmp_path, clock=FixedClock(dt.datetime.now(tz=dt.UTC).timestamp()))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(_server_ctx(certs.server_cert, certs.server_key), _client_ctx(certs.ca_cert), "example.com")


def test_the_dev_ca_cannot_vouch_for_another_site(tmp_path: Path) -> None:
    """Name constraints: a certificate for example.com signed with the (stolen) dev CA key is still refused."""
    real_clock = FixedClock(dt.datetime.now(tz=dt.UTC).timestamp())
    certs = ensure_dev_certificates(tmp_path, clock=real_clock)
    cert_pem, key_pem = _sign_leaf(certs, real_clock, [x509.DNSName("example.com")], issuer_key=_key(certs.ca_key))
    (tmp_path / "evil.pem").write_bytes(cert_pem)
    (tmp_path / "evil.key").write_bytes(key_pem)

    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        _handshake(_server_ctx(tmp_path / "evil.pem", tmp_path / "evil.key"), _client_ctx(certs.ca_cert), "example.com")


def test_spki_sha256_is_the_hash_of_the_server_public_key(tmp_path: Path, clock: FixedClock) -> None:
    certs = ensure_dev_certificates(tmp_path, clock=clock)
    public_der = (
        _key(certs.server_key)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    assert spki_sha256(certs.server_cert) == base64.b64encode(hashlib.sha256(public_der).digest()).decode()
    assert spki_sha256(certs.server_cert) != spki_sha256(certs.ca_cert)
