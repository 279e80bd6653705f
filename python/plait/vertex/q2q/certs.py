"""The client's certificate store: ``~/.q2qcerts`` (or ``vertex --certs DIR``).

Why files: ``vertex request-cert`` makes a key once and keeps it; later ``listen`` and
``connect`` (maybe another process) load it. Layout::

    DIR/                     0700
      user@domain/key.pem    0600, the address's private key
      user@domain/cert.pem   its certificate, signed by the domain's CA
      ca/domain.pem          a domain's CA certificate (learnt with ``identify``)
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from .address import Q2QAddress
from .ca import (
    address_of,
    generate_key,
    key_pem,
    load_certificate,
    load_key,
    make_request,
    write_private,
)
from .errors import MissingCertificate

__all__ = ["CertStore", "default_cert_dir"]

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
CA_DIR = "ca"


def default_cert_dir() -> Path:
    return Path.home() / ".q2qcerts"


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class CertStore:
    """Keys and certificates per address, CA certificates per domain, in one directory."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cert_dir()

    def __repr__(self) -> str:
        return f"<CertStore {str(self.path)!r}>"

    def _dir(self, address: Q2QAddress) -> Path:
        claim = address.claim()
        if claim.user is None:
            raise ValueError(f"{claim} is a domain, not a user address")
        return self.path / str(claim)

    # -- keys and certificates of our own addresses

    def key_for(self, address: Q2QAddress, *, create: bool = False) -> ec.EllipticCurvePrivateKey:
        """The address's private key; made (0600) when ``create`` and there is none."""
        path = self._dir(address) / KEY_FILE
        if path.exists():
            return load_key(path.read_bytes())
        if not create:
            raise MissingCertificate(f"no key for {address.claim()} in {self.path} "
                                     "(run: vertex request-cert)")
        _private_dir(self.path)
        _private_dir(path.parent)
        key = generate_key()
        write_private(path, key_pem(key))
        return key

    def key_pem_for(self, address: Q2QAddress) -> bytes:
        path = self._dir(address) / KEY_FILE
        if not path.exists():
            raise MissingCertificate(f"no key for {address.claim()} in {self.path} "
                                     "(run: vertex request-cert)")
        return path.read_bytes()

    def request_for(self, address: Q2QAddress) -> bytes:
        """A PEM CSR for ``address`` with its key (made if it has none)."""
        return make_request(self.key_for(address, create=True), address)

    def store_certificate(self, address: Q2QAddress, pem: bytes) -> None:
        """Keep ``pem`` as the address's certificate; ValueError unless it names the
        address and holds the public half of its key."""
        cert = load_certificate(pem)
        if address_of(cert) != address.claim():
            raise ValueError(f"the certificate is for {address_of(cert)}, not {address.claim()}")
        key = self.key_for(address)
        if cert.public_key() != key.public_key():
            raise ValueError(f"the certificate for {address.claim()} does not match its key")
        write_private(self._dir(address) / CERT_FILE, pem)

    def certificate_pem(self, address: Q2QAddress) -> bytes:
        path = self._dir(address) / CERT_FILE
        if not path.exists():
            raise MissingCertificate(f"no certificate for {address.claim()} in {self.path} "
                                     "(run: vertex request-cert)")
        return path.read_bytes()

    def files_for(self, address: Q2QAddress) -> tuple[str, str]:
        """``(certificate file, key file)`` of ``address``, for ``ssl.load_cert_chain``."""
        self.certificate_pem(address)
        self.key_pem_for(address)
        directory = self._dir(address)
        return str(directory / CERT_FILE), str(directory / KEY_FILE)

    def certificate(self, address: Q2QAddress) -> x509.Certificate:
        return load_certificate(self.certificate_pem(address))

    def has_certificate(self, address: Q2QAddress) -> bool:
        return (self._dir(address) / CERT_FILE).exists()

    def addresses(self) -> list[Q2QAddress]:
        """Every address with a certificate here."""
        if not self.path.is_dir():
            return []
        found = []
        for child in sorted(self.path.iterdir()):
            if (child / CERT_FILE).exists():
                try:
                    found.append(Q2QAddress.parse(child.name))
                except ValueError:
                    continue
        return found

    # -- CA certificates of domains

    def _ca_path(self, domain: str) -> Path:
        return self.path / CA_DIR / f"{Q2QAddress.parse(domain).domain}.pem"

    def store_ca(self, domain: str, pem: bytes) -> None:
        """Trust ``pem`` as ``domain``'s CA certificate."""
        load_certificate(pem)
        _private_dir(self.path)
        _private_dir(self.path / CA_DIR)
        write_private(self._ca_path(domain), pem)

    def ca_pem(self, domain: str) -> bytes | None:
        path = self._ca_path(domain)
        return path.read_bytes() if path.exists() else None

    def ca_certificate(self, domain: str) -> x509.Certificate:
        pem = self.ca_pem(domain)
        if pem is None:
            raise MissingCertificate(f"no CA certificate for {domain} in {self.path} "
                                     "(run: vertex request-cert)")
        return load_certificate(pem)

    def ca_pems(self) -> list[bytes]:
        """Every trusted CA certificate."""
        directory = self.path / CA_DIR
        if not directory.is_dir():
            return []
        return [p.read_bytes() for p in sorted(directory.glob("*.pem"))]
