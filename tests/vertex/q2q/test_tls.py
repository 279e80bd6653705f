"""TLS over a raw transport with memory BIOs (what Q2Q runs on TCP, PTCP and relays)."""
from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

import pytest

from plait.vertex.q2q import CertStore, Q2QAddress
from plait.vertex.q2q.ca import DomainCA
from plait.vertex.q2q.tls import Relay, TLSLayer, client_context, server_context
from vertex.q2q.q2q_lab import Collector

ALICE = Q2QAddress.parse("alice@example.test")
BOB = Q2QAddress.parse("bob@example.test")


def _files(tmp: Path, address: Q2QAddress, ca: DomainCA) -> tuple[str, str]:
    store = CertStore(tmp / f"{address.user}-{id(ca)}")
    store.store_certificate(address, ca.sign_request(store.request_for(address), address))
    return store.files_for(address)


class Hold(asyncio.Protocol):
    """Stands on the raw connection until the test slips a TLS layer in."""


async def _pair(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
                ) -> tuple[TLSLayer, TLSLayer, Collector, Collector]:
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[Relay] = loop.create_future()

    def on_accept() -> Relay:
        relay = Relay(Hold())
        loop.call_soon(accepted.set_result, relay)
        return relay

    server = await loop.create_server(on_accept, "127.0.0.1", 0)
    _, client_relay = await loop.create_connection(
        lambda: Relay(Hold()), "127.0.0.1", server.sockets[0].getsockname()[1])
    server_relay = await accepted
    server.close()
    apps = Collector(), Collector()
    layers = []
    for relay, ctx, side, app in ((client_relay, client_ctx, False, apps[0]),
                                  (server_relay, server_ctx, True, apps[1])):
        assert relay.transport is not None
        layer = TLSLayer(relay.transport, ctx, server_side=side, server_hostname=None, app=app)
        relay.target = layer
        layers.append(layer)
    for layer in layers:
        layer.start()
    return layers[0], layers[1], apps[0], apps[1]


async def test_mutual_tls_both_ways(tmp_path: Path) -> None:
    ca = DomainCA.create("example.test")
    alice_cert, alice_key = _files(tmp_path, ALICE, ca)
    bob_cert, bob_key = _files(tmp_path, BOB, ca)
    client, server, client_app, server_app = await _pair(
        client_context(alice_cert, alice_key, [ca.certificate_pem]),
        server_context(bob_cert, bob_key, [ca.certificate_pem]))
    await asyncio.gather(client.handshake, server.handshake)
    for layer, app in ((client, client_app), (server, server_app)):
        app.connection_made(layer.transport)
    assert client.peer_der and server.peer_der
    assert client.transport.get_extra_info("cipher") is not None
    assert client.transport.get_extra_info("peername") is not None
    assert not client.transport.can_write_eof()
    with pytest.raises(RuntimeError, match="cannot be half-closed"):
        client.transport.write_eof()
    payload = os.urandom(4 << 20)
    server_app.expect = len(payload)
    server.transport.pause_reading()
    client.transport.write(payload)
    await asyncio.sleep(0.05)
    assert server_app.data == b""  # paused: nothing is delivered
    server.transport.resume_reading()
    assert await server_app.done == payload
    client_app.expect = 3
    server.transport.writelines([b"a", b"b", b"c"])
    assert await client_app.done == b"abc"
    client.transport.close()
    assert await server_app.lost is None  # close_notify, then the end


async def test_a_server_from_another_ca_fails_the_handshake(tmp_path: Path) -> None:
    ca, rogue = DomainCA.create("example.test"), DomainCA.create("example.test")
    alice_cert, alice_key = _files(tmp_path, ALICE, ca)
    bob_cert, bob_key = _files(tmp_path, BOB, rogue)
    client, server, _, _ = await _pair(
        client_context(alice_cert, alice_key, [ca.certificate_pem]),
        server_context(bob_cert, bob_key, [ca.certificate_pem]))
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.handshake
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await server.handshake


async def test_a_client_without_a_certificate_is_refused(tmp_path: Path) -> None:
    ca = DomainCA.create("example.test")
    bob_cert, bob_key = _files(tmp_path, BOB, ca)
    client, server, _, _ = await _pair(
        client_context(None, None, [ca.certificate_pem]),
        server_context(bob_cert, bob_key, [ca.certificate_pem]))
    with pytest.raises(ssl.SSLError):
        await server.handshake
    client.abort()
