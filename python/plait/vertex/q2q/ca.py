"""A domain's certificate authority, and the X.509 checks both ends of Q2Q make.

Why a CA per domain: a Q2Q address is proven by a certificate the address's own domain
signed, so two peers who have never met verify each other with nothing but their domains'
CA certificates. The identity server signs a request only after the password check, and
only for a subject that is exactly the registered address (CN=user@domain, nothing else).
Keys are ECDSA P-256 (fast to make, small on the wire).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plait.core.files import write_file_atomically

from .address import Q2QAddress
from .errors import BadCertificateRequest, CertificateMismatch

__all__ = [
    "CA_VALIDITY",
    "CERT_VALIDITY",
    "MAX_PEM_SIZE",
    "DomainCA",
    "address_of",
    "address_of_subject",
    "cert_pem",
    "generate_key",
    "key_pem",
    "load_certificate",
    "load_key",
    "make_request",
    "verify_certificate",
    "write_private",
]

#: How long a domain CA certificate is valid, and how long the certificates it signs are.
CA_VALIDITY = dt.timedelta(days=3650)
CERT_VALIDITY = dt.timedelta(days=365)
#: Clock skew tolerated: certificates start this long before they are made.
BACKDATE = dt.timedelta(minutes=5)
#: Largest PEM certificate or request accepted from the network.
MAX_PEM_SIZE = 16 * 1024

CA_KEY_FILE = "ca-key.pem"
CA_CERT_FILE = "ca-cert.pem"


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("a Q2Q key must be an ECDSA key")
    return key


def load_certificate(data: bytes) -> x509.Certificate:
    """A PEM certificate; ValueError if it is not one."""
    if len(data) > MAX_PEM_SIZE:
        raise ValueError(f"certificate of {len(data)} bytes is over {MAX_PEM_SIZE}")
    return x509.load_pem_x509_certificate(data)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` 0600 atomically (a temporary file renamed over it)."""
    write_file_atomically(path, data, 0o600)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def address_of(cert: x509.Certificate) -> Q2QAddress:
    """The address a certificate names (its single CN); CertificateMismatch otherwise."""
    return address_of_subject(cert.subject)


def make_request(key: ec.EllipticCurvePrivateKey, address: Q2QAddress) -> bytes:
    """A PEM certificate signing request for ``address`` (without its resource)."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(_name(str(address.claim())))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def verify_certificate(cert: x509.Certificate, ca_cert: x509.Certificate,
                       expected: Q2QAddress, *, now: dt.datetime | None = None) -> None:
    """CertificateMismatch unless ``cert`` is signed by ``ca_cert``, valid now, and names
    ``expected`` (resource ignored)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateMismatch(
            f"the certificate for {address_of(cert)} is not signed by the CA of "
            f"{expected.domain}") from None
    moment = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise CertificateMismatch(f"the certificate for {address_of(cert)} is expired or "
                                  "not yet valid")
    named = address_of(cert)
    if named != expected.claim():
        raise CertificateMismatch(f"the peer's certificate is for {named}, "
                                  f"expected {expected.claim()}")


@dataclass
class DomainCA:
    """The CA of one domain: its key and self-signed certificate."""

    domain: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, domain: str) -> DomainCA:
        """A new CA for ``domain`` (not saved)."""
        domain = Q2QAddress.parse(domain).domain
        key = generate_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain),
                          x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Q2Q CA")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + CA_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False),
                    critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        return cls(domain, key, cert)

    @classmethod
    def load_or_create(cls, directory: Path, domain: str) -> DomainCA:
        """The CA kept in ``directory`` (0700; key 0600), made on first use."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
        if key_path.exists() and cert_path.exists():
            ca = cls(domain, load_key(key_path.read_bytes()),
                     load_certificate(cert_path.read_bytes()))
            if ca.domain_of_certificate() != Q2QAddress.parse(domain).domain:
                raise ValueError(f"the CA in {directory} is for "
                                 f"{ca.domain_of_certificate()}, not {domain}")
            return ca
        ca = cls.create(domain)
        write_private(key_path, key_pem(ca.key))
        write_private(cert_path, cert_pem(ca.certificate))
        return ca

    def domain_of_certificate(self) -> str:
        cns = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = cns[0].value if cns else ""
        return value if isinstance(value, str) else value.decode()

    @property
    def certificate_pem(self) -> bytes:
        return cert_pem(self.certificate)

    def issue(self, address: Q2QAddress, public_key: ec.EllipticCurvePublicKey) -> bytes:
        """A PEM certificate for ``address`` (of this domain) with ``public_key``."""
        address = address.claim()
        if address.domain != self.domain:
            raise BadCertificateRequest(f"{address} is not an address of {self.domain}")
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(str(address)))
                .issuer_name(self.certificate.subject)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + CERT_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                               critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                      ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        return cert_pem(cert)

    def sign_request(self, request_pem: bytes, address: Q2QAddress) -> bytes:
        """Sign a PEM CSR whose subject is exactly ``address``; BadCertificateRequest else."""
        if len(request_pem) > MAX_PEM_SIZE:
            raise BadCertificateRequest(f"certificate request of {len(request_pem)} bytes "
                                        f"is over {MAX_PEM_SIZE}")
        try:
            csr = x509.load_pem_x509_csr(request_pem)
        except ValueError:
            raise BadCertificateRequest("the certificate request is not a PEM CSR") from None
        if not csr.is_signature_valid:
            raise BadCertificateRequest("the certificate request's signature is bad")
        try:
            named = address_of_subject(csr.subject)
        except CertificateMismatch as exc:
            raise BadCertificateRequest(f"certificate request: {exc}") from None
        if named != address.claim():
            raise BadCertificateRequest(f"the certificate request is for {named}, "
                                        f"not {address.claim()}")
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise BadCertificateRequest("the certificate request's key is not ECDSA")
        return self.issue(address, key)


def address_of_subject(subject: x509.Name) -> Q2QAddress:
    """The address a subject names when it is exactly one CN; CertificateMismatch else."""
    attributes = list(subject)
    if len(attributes) != 1 or attributes[0].oid != NameOID.COMMON_NAME:
        raise CertificateMismatch(f"subject {subject.rfc4514_string()!r} is not a single "
                                  "Q2Q address")
    value = attributes[0].value
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    try:
        return Q2QAddress.parse(text)
    except ValueError as exc:
        raise CertificateMismatch(str(exc)) from None
