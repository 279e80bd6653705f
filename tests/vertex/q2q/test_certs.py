"""The certificate store: layout, permissions, and refusals."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from plait.vertex.q2q import CertStore, MissingCertificate, Q2QAddress
from plait.vertex.q2q.ca import DomainCA, generate_key
from plait.vertex.q2q.certs import default_cert_dir

ALICE = Q2QAddress.parse("alice@example.test/laptop")


def test_key_certificate_and_ca(tmp_path: Path) -> None:
    store = CertStore(tmp_path / "certs")
    ca = DomainCA.create("example.test")
    request = store.request_for(ALICE)
    store.store_certificate(ALICE, ca.sign_request(request, ALICE))
    store.store_ca("example.test", ca.certificate_pem)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    key_file = store.path / "alice@example.test" / "key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert store.certificate(ALICE).public_key() == store.key_for(ALICE).public_key()
    assert store.ca_certificate("example.test") == ca.certificate
    assert store.addresses() == [ALICE.claim()]
    cert_file, key_path = store.files_for(ALICE)
    assert Path(cert_file).exists() and key_path == str(key_file)
    assert CertStore(store.path).request_for(ALICE)  # the same key is found again


def test_refuses_a_certificate_that_does_not_match(tmp_path: Path) -> None:
    store = CertStore(tmp_path)
    ca = DomainCA.create("example.test")
    store.request_for(ALICE)
    other_key = generate_key()
    with pytest.raises(ValueError, match="does not match its key"):
        store.store_certificate(ALICE, ca.issue(ALICE, other_key.public_key()))
    bob = Q2QAddress.parse("bob@example.test")
    with pytest.raises(ValueError, match="is for bob@example.test, not alice@example.test"):
        store.store_certificate(ALICE, ca.issue(bob, other_key.public_key()))


def test_missing_things_say_what_to_run(tmp_path: Path) -> None:
    store = CertStore(tmp_path)
    with pytest.raises(MissingCertificate, match="run: vertex request-cert"):
        store.certificate(ALICE)
    with pytest.raises(MissingCertificate, match="no key for alice@example.test"):
        store.key_for(ALICE)
    with pytest.raises(MissingCertificate, match="no CA certificate for example.test"):
        store.ca_certificate("example.test")
    assert store.ca_pems() == [] and store.addresses() == []


def test_default_directory() -> None:
    assert default_cert_dir() == Path.home() / ".q2qcerts"
    assert CertStore().path == default_cert_dir()
