"""The domain CA: made and kept 0700/0600, signs only the registered address's request,
and verifies chains and names."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from plait.vertex.q2q import BadCertificateRequest, CertificateMismatch, Q2QAddress
from plait.vertex.q2q.ca import (
    MAX_PEM_SIZE,
    DomainCA,
    address_of,
    generate_key,
    load_certificate,
    make_request,
    verify_certificate,
)

ALICE = Q2QAddress.parse("alice@example.test")


def test_load_or_create_keeps_the_ca(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    first = DomainCA.load_or_create(directory, "example.test")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "ca-key.pem").stat().st_mode) == 0o600
    again = DomainCA.load_or_create(directory, "example.test")
    assert again.certificate == first.certificate
    with pytest.raises(ValueError, match="is for example.test, not other.test"):
        DomainCA.load_or_create(directory, "other.test")


def test_signs_the_registered_address() -> None:
    ca = DomainCA.create("example.test")
    key = generate_key()
    cert = load_certificate(ca.sign_request(make_request(key, ALICE), ALICE))
    assert address_of(cert) == ALICE
    assert cert.public_key() == key.public_key()
    verify_certificate(cert, ca.certificate, ALICE)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is False


def test_refuses_a_request_for_another_address() -> None:
    ca = DomainCA.create("example.test")
    request = make_request(generate_key(), Q2QAddress.parse("bob@example.test"))
    with pytest.raises(BadCertificateRequest) as info:
        ca.sign_request(request, ALICE)
    assert str(info.value) == ("the certificate request is for bob@example.test, "
                               "not alice@example.test")


def test_refuses_a_subject_with_more_than_the_address() -> None:
    key = generate_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice@example.test"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evil CA Inc")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    with pytest.raises(BadCertificateRequest, match="is not a single Q2Q address"):
        DomainCA.create("example.test").sign_request(
            csr.public_bytes(serialization.Encoding.PEM), ALICE)


def test_refuses_garbage_and_oversize() -> None:
    ca = DomainCA.create("example.test")
    with pytest.raises(BadCertificateRequest, match="not a PEM CSR"):
        ca.sign_request(b"-----BEGIN CERTIFICATE REQUEST-----\nxx\n", ALICE)
    with pytest.raises(BadCertificateRequest, match=f"over {MAX_PEM_SIZE}"):
        ca.sign_request(b"x" * (MAX_PEM_SIZE + 1), ALICE)


def test_refuses_another_domain() -> None:
    ca = DomainCA.create("example.test")
    other = Q2QAddress.parse("alice@other.test")
    with pytest.raises(BadCertificateRequest, match="not an address of example.test"):
        ca.sign_request(make_request(generate_key(), other), other)


def test_verify_refuses_another_ca_and_another_name() -> None:
    ca, rogue = DomainCA.create("example.test"), DomainCA.create("example.test")
    key = generate_key()
    cert = load_certificate(rogue.issue(ALICE, key.public_key()))
    with pytest.raises(CertificateMismatch) as info:
        verify_certificate(cert, ca.certificate, ALICE)
    assert str(info.value) == ("the certificate for alice@example.test is not signed by "
                               "the CA of example.test")
    good = load_certificate(ca.issue(ALICE, key.public_key()))
    with pytest.raises(CertificateMismatch) as info:
        verify_certificate(good, ca.certificate, Q2QAddress.parse("bob@example.test"))
    assert str(info.value) == ("the peer's certificate is for alice@example.test, "
                               "expected bob@example.test")


def test_validity_periods() -> None:
    from plait.vertex.q2q.ca import BACKDATE, CA_VALIDITY, CERT_VALIDITY
    ca = DomainCA.create("example.test")
    cert = load_certificate(ca.issue(ALICE, generate_key().public_key()))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == CERT_VALIDITY + BACKDATE
    ca_cert = ca.certificate
    assert ca_cert.not_valid_after_utc - ca_cert.not_valid_before_utc == CA_VALIDITY + BACKDATE
