"""The peer handshake over TCP without an identity server: mutual TLS where each end
checks the other's CA and name, then the switch to the application protocol."""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from plait.core.errors import ConnectionLost
from plait.vertex.q2q import CertificateMismatch, CertStore, Q2QAddress
from plait.vertex.q2q.ca import DomainCA
from plait.vertex.q2q.commands import RetrieveConnection, Secure, ask
from plait.vertex.q2q.peer import PeerProtocol, relayed, retrieve
from plait.vertex.q2q.tls import client_context, server_context
from vertex.q2q.q2q_lab import Collector, Echo

ALICE = Q2QAddress.parse("alice@example.test")
BOB = Q2QAddress.parse("bob@example.test")
MALLORY = Q2QAddress.parse("mallory@example.test")


def _store(tmp: Path, address: Q2QAddress, signer: DomainCA, trusted: DomainCA) -> CertStore:
    store = CertStore(tmp / f"certs-{address.user}-{id(signer)}")
    store.store_certificate(address, signer.sign_request(store.request_for(address), address))
    store.store_ca(address.domain, trusted.certificate_pem)
    return store


class Answering:
    def __init__(self, address: Q2QAddress, certs: CertStore) -> None:
        self.address = address
        self.certs = certs
        self.started: list[asyncio.BaseProtocol] = []

    def server_context(self) -> ssl.SSLContext:
        cert_file, key_file = self.certs.files_for(self.address)
        return server_context(cert_file, key_file, self.certs.ca_pems())

    def factory_for(self, protocol: str) -> Callable[[], asyncio.BaseProtocol] | None:
        def make() -> asyncio.BaseProtocol:
            proto = Echo()
            self.started.append(proto)
            return proto
        return make if protocol == "echo" else None


async def _serve(answering: Answering) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: relayed(PeerProtocol("tcp", answering)),
                                      "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _dial(port: int) -> PeerProtocol:
    proto = PeerProtocol("tcp")
    await asyncio.get_running_loop().create_connection(lambda: relayed(proto), "127.0.0.1", port)
    return proto


async def test_handshake_and_switch(tmp_path: Path) -> None:
    ca = DomainCA.create("example.test")
    bob = Answering(BOB, _store(tmp_path, BOB, ca, ca))
    server, port = await _serve(bob)
    proto = await _dial(port)
    transport, app = await retrieve(proto, _store(tmp_path, ALICE, ca, ca), ALICE, BOB,
                                    "echo", "c1", lambda: Collector(6))
    transport.write(b"hello!")
    assert await app.done == b"hello!"  # type: ignore[attr-defined]
    assert transport.get_extra_info("q2q_method") == "tcp"
    assert transport.get_extra_info("q2q_protocol") == "echo"
    echo = bob.started[0]
    assert echo.transport.get_extra_info("q2q_peer") == "alice@example.test"  # type: ignore[attr-defined]
    assert echo.transport.get_extra_info("q2q_local") == "bob@example.test"  # type: ignore[attr-defined]
    transport.close()
    server.close()


async def test_caller_refuses_a_callee_from_another_ca(tmp_path: Path) -> None:
    ca, rogue = DomainCA.create("example.test"), DomainCA.create("example.test")
    server, port = await _serve(Answering(BOB, _store(tmp_path, BOB, rogue, ca)))
    proto = await _dial(port)
    with pytest.raises(CertificateMismatch) as info:
        await retrieve(proto, _store(tmp_path, ALICE, ca, ca), ALICE, BOB, "echo", "c1",
                       Collector)
    assert str(info.value).startswith("bob@example.test's certificate is not signed by the "
                                      "CA of example.test")
    server.close()


async def test_callee_refuses_a_caller_from_another_ca(tmp_path: Path) -> None:
    ca, rogue = DomainCA.create("example.test"), DomainCA.create("example.test")
    bob = Answering(BOB, _store(tmp_path, BOB, ca, ca))
    server, port = await _serve(bob)
    proto = await _dial(port)
    with pytest.raises(CertificateMismatch) as info:
        await retrieve(proto, _store(tmp_path, ALICE, rogue, ca), ALICE, BOB, "echo", "c1",
                       Collector)
    assert "closed the connection" in str(info.value) or "TLS with" in str(info.value)
    assert bob.started == []
    server.close()


async def test_callee_refuses_a_caller_whose_certificate_names_another(tmp_path: Path) -> None:
    """Mallory (with mallory's valid certificate) says From=alice: bob drops her."""
    ca = DomainCA.create("example.test")
    bob = Answering(BOB, _store(tmp_path, BOB, ca, ca))
    server, port = await _serve(bob)
    mallory = _store(tmp_path, MALLORY, ca, ca)
    proto = await _dial(port)
    cert_file, key_file = mallory.files_for(MALLORY)
    proto.expected_peer = BOB
    proto.trusted = mallory.ca_certificate
    with pytest.raises((ConnectionLost, OSError, ssl.SSLError)):
        await ask(proto, Secure, From=ALICE, to=BOB, authorize=True,
                  tls_context=client_context(cert_file, key_file, mallory.ca_pems()))
        await ask(proto, RetrieveConnection, protocol="echo", id="x")
    assert bob.started == []
    server.close()


async def test_callee_refuses_a_call_for_someone_else(tmp_path: Path) -> None:
    ca = DomainCA.create("example.test")
    server, port = await _serve(Answering(BOB, _store(tmp_path, BOB, ca, ca)))
    carol = Q2QAddress.parse("carol@example.test")
    alice = _store(tmp_path, ALICE, ca, ca)
    alice.store_ca("example.test", ca.certificate_pem)
    proto = await _dial(port)
    with pytest.raises(CertificateMismatch, match="this is bob@example.test, not carol"):
        await retrieve(proto, alice, ALICE, carol, "echo", "c1", Collector)
    server.close()


async def test_unknown_protocol(tmp_path: Path) -> None:
    from plait.vertex.q2q import PeerOffline
    ca = DomainCA.create("example.test")
    server, port = await _serve(Answering(BOB, _store(tmp_path, BOB, ca, ca)))
    proto = await _dial(port)
    with pytest.raises(PeerOffline, match="does not listen for 'chat'"):
        await retrieve(proto, _store(tmp_path, ALICE, ca, ca), ALICE, BOB, "chat", "c1",
                       Collector)
    server.close()
