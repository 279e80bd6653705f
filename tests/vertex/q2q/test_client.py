"""connect/listen end to end against a real identity server on 127.0.0.1: each method
forced alone, data both ways, and the errors a user sees."""
from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path

import pytest

from plait.vertex.q2q import (
    METHODS,
    CertificateMismatch,
    CertStore,
    ConnectionFailed,
    MissingCertificate,
    PeerOffline,
    connect,
    listen,
)
from plait.vertex.q2q.ca import DomainCA, generate_key, key_pem, write_private
from vertex.q2q.q2q_lab import Collector, Echo, identity_lab

ptcp_available = pytest.mark.skipif(
    importlib.util.find_spec("plait.vertex.ptcp") is None,
    reason="plait.vertex.ptcp has not landed")


async def _round_trip(tmp_path: Path, method: str, size: int = 5) -> str:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        listener = await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server)
        try:
            payload = os.urandom(size)
            transport, proto = await connect(alice, bob, "echo", lambda: Collector(size),
                                             certs=alice_certs, server=lab.server,
                                             methods=(method,))
            assert isinstance(proto, Collector)
            transport.write(payload)
            assert await proto.done == payload
            assert transport.get_extra_info("q2q_peer") == "bob@example.test"
            assert transport.get_extra_info("q2q_local") == "alice@example.test"
            transport.close()
            return str(transport.get_extra_info("q2q_method"))
        finally:
            await listener.close()


async def test_direct_tcp(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "tcp") == "tcp"


async def test_virtual_relayed_by_the_server(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "virtual") == "virtual"


async def test_virtual_carries_a_megabyte_both_ways(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "virtual", size=1 << 20) == "virtual"


async def test_tcp_carries_a_megabyte_both_ways(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "tcp", size=1 << 20) == "tcp"


@ptcp_available
async def test_ptcp_hole_punch(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "ptcp") == "ptcp"


@ptcp_available
async def test_reverse_ptcp(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "reverse-ptcp") == "reverse-ptcp"


@ptcp_available
async def test_ptcp_carries_a_megabyte_both_ways(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "ptcp", size=1 << 20) == "ptcp"


@ptcp_available
async def test_reverse_ptcp_carries_a_megabyte_both_ways(tmp_path: Path) -> None:
    assert await _round_trip(tmp_path, "reverse-ptcp", size=1 << 20) == "reverse-ptcp"


@ptcp_available
async def test_falls_back_to_ptcp_when_tcp_is_unreachable(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs,
                                server=lab.server) as listener:
            assert listener.tcp_server is not None and listener.ptcp is not None
            listener.tcp_server.close()
            await listener.tcp_server.wait_closed()
            transport, proto = await connect(alice, bob, "echo", lambda: Collector(3),
                                             certs=alice_certs, server=lab.server)
            transport.write(b"abc")
            assert await proto.done == b"abc"  # type: ignore[attr-defined]
            assert transport.get_extra_info("q2q_method") == "ptcp"
            transport.close()


async def test_default_order_takes_tcp_first(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, ["echo"], Echo, certs=bob_certs, server=lab.server):
            transport, _ = await connect(alice, bob, "echo", Collector, certs=alice_certs,
                                         server=lab.server)
            assert transport.get_extra_info("q2q_method") == "tcp"
            transport.close()


async def test_falls_back_to_virtual_when_tcp_is_unreachable(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        listener = await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False)
        assert listener.tcp_server is not None
        listener.tcp_server.close()  # direct TCP now refused
        await listener.tcp_server.wait_closed()
        transport, proto = await connect(alice, bob, "echo", lambda: Collector(3),
                                         certs=alice_certs, server=lab.server,
                                         methods=("tcp", "virtual"))
        transport.write(b"abc")
        assert await proto.done == b"abc"  # type: ignore[attr-defined]
        assert transport.get_extra_info("q2q_method") == "virtual"
        transport.close()
        await listener.close()


async def test_peer_offline(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, _ = await lab.user("bob")
        with pytest.raises(PeerOffline) as info:
            await connect(alice, bob, "echo", Collector, certs=alice_certs, server=lab.server)
        assert str(info.value) == "bob@example.test is not online for 'echo'"


async def test_unknown_protocol_is_offline(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server):
            with pytest.raises(PeerOffline, match="not online for 'chat'"):
                await connect(alice, bob, "chat", Collector, certs=alice_certs,
                              server=lab.server)


async def test_refused_tcp_is_reported_per_method(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        listener = await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False)
        dead = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = dead.sockets[0].getsockname()[1]
        dead.close()
        await dead.wait_closed()
        listener.methods = lambda: [f"tcp@127.0.0.1:{port}"]  # type: ignore[method-assign]
        with pytest.raises(ConnectionFailed) as info:
            await connect(alice, bob, "echo", Collector, certs=alice_certs,
                          server=lab.server, methods=("tcp",))
        message = str(info.value)
        assert message == (f"cannot connect to bob@example.test (tcp: 127.0.0.1:{port}: "
                           "Connection refused)")
        await listener.close()


async def test_bad_method_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown connection method"):
        await connect("a@example.test", "b@example.test", "echo", Collector,
                      certs=CertStore(tmp_path), methods=("carrier-pigeon",))
    assert METHODS == ("tcp", "ptcp", "reverse-ptcp", "virtual")


async def test_missing_certificate(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        bob, _ = await lab.user("bob")
        with pytest.raises(MissingCertificate, match="no certificate for carol@example.test"):
            await connect("carol@example.test", bob, "echo", Collector,
                          certs=CertStore(tmp_path / "empty"), server=lab.server)


async def test_certificate_for_another_address_is_refused(tmp_path: Path) -> None:
    """Mallory copies bob's key and certificate into her store as 'alice': the server
    refuses the connection, since the certificate does not name alice."""
    async with identity_lab(tmp_path) as lab:
        await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        forged = CertStore(tmp_path / "forged")
        alice_dir = forged.path / "alice@example.test"
        alice_dir.mkdir(parents=True)
        (alice_dir / "key.pem").write_bytes((bob_certs.path / str(bob) / "key.pem").read_bytes())
        (alice_dir / "cert.pem").write_bytes((bob_certs.path / str(bob) / "cert.pem").read_bytes())
        forged.store_ca("example.test", bob_certs.ca_pem("example.test") or b"")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server):
            with pytest.raises(CertificateMismatch):
                await connect("alice@example.test", bob, "echo", Collector, certs=forged,
                              server=lab.server)


async def test_wrong_ca_is_refused_by_the_caller(tmp_path: Path) -> None:
    """The callee shows a certificate from another CA for its name: the caller refuses."""
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        rogue = DomainCA.create("example.test")
        key = generate_key()
        write_private(bob_certs.path / str(bob) / "key.pem", key_pem(key))
        write_private(bob_certs.path / str(bob) / "cert.pem",
                      rogue.issue(bob, key.public_key()))
        # bob's listener still reaches the server? No: the server refuses bob's rogue cert.
        with pytest.raises(CertificateMismatch):
            await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server)
        del alice, alice_certs


async def test_server_refuses_commands_for_another_address(tmp_path: Path) -> None:
    """Secured as bob, a connection cannot ask for calls or relays as alice."""
    from plait.vertex.q2q import NotAuthorized
    from plait.vertex.q2q.commands import Inbound, Listen, Virtual, ask
    from plait.vertex.q2q.session import ServerConnection, server_session
    async with identity_lab(tmp_path) as lab:
        alice, _ = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        conn = await server_session(bob, lab.server, bob_certs, ServerConnection())
        message = "this connection is secured as bob@example.test, not alice@example.test"
        with pytest.raises(NotAuthorized, match=message):
            await ask(conn, Listen, From=alice, protocols=["echo"], description="")
        with pytest.raises(NotAuthorized, match=message):
            await ask(conn, Inbound, From=alice, to=bob, protocol="echo", udp_source=None)
        with pytest.raises(NotAuthorized, match=message):
            await ask(conn, Virtual, id=1, From=alice, to=bob, protocol="echo")
        conn.close()


async def test_listener_rejoins_its_server(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False) as listener:
            first = listener.connection
            assert first is not None
            first.abort()  # the identity server connection drops
            for _ in range(500):  # bounded: the first rejoin attempt is after 0.1 s
                if listener.connection is not first and lab.identity.listeners.get(bob):
                    break
                await asyncio.sleep(0.01)
            assert listener.connection is not first
            transport, proto = await connect(alice, bob, "echo", lambda: Collector(2),
                                             certs=alice_certs, server=lab.server,
                                             methods=("virtual",))
            transport.write(b"ok")
            assert await proto.done == b"ok"  # type: ignore[attr-defined]
            transport.close()
            assert not listener.lost.done()


async def test_listener_gives_up_when_the_server_is_gone(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.vertex.q2q import listener as listener_module
    monkeypatch.setattr(listener_module, "RECONNECT_DELAYS", (0.01, 0.01))
    async with identity_lab(tmp_path) as lab:
        bob, bob_certs = await lab.user("bob")
        listener = await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False)
        await lab.listening.close()
        assert listener.connection is not None
        listener.connection.abort()
        failure = await listener.lost
        assert isinstance(failure, ConnectionFailed)
        assert "cannot reach the identity server" in str(failure)
        await listener.close()


async def test_a_server_that_hangs_up_is_one_line(tmp_path: Path) -> None:
    from plait.vertex.q2q import register, request_cert

    class HangUp(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transport.close()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(HangUp, "127.0.0.1", 0)
    where = ("127.0.0.1", server.sockets[0].getsockname()[1])
    expected = f"the identity server 127.0.0.1:{where[1]} closed the connection"
    with pytest.raises(ConnectionFailed) as info:
        await register("alice@example.test", "pw", server=where)
    assert str(info.value) == expected
    with pytest.raises(ConnectionFailed, match="closed the connection"):
        await request_cert("alice@example.test", "pw", CertStore(tmp_path), server=where)
    server.close()


async def test_connect_timeout_is_one_line(tmp_path: Path) -> None:
    from plait.vertex.q2q.commands import Inbound, Listen, ask
    from plait.vertex.q2q.session import ServerConnection, server_session

    class Hanging(ServerConnection):
        @Inbound.responder
        async def _inbound(self, **_: object) -> dict[str, object]:
            await asyncio.Event().wait()
            return {}

    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        conn = await server_session(bob, lab.server, bob_certs, Hanging())
        await ask(conn, Listen, From=bob, protocols=["echo"], description="")
        with pytest.raises(ConnectionFailed) as info:
            await connect(alice, bob, "echo", Collector, certs=alice_certs, server=lab.server,
                          timeout=0.3)
        assert str(info.value) == "cannot connect to bob@example.test in 0.3 s"
        conn.close()


async def test_a_silent_peer_times_the_method_out(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.vertex.q2q import client as client_module
    monkeypatch.setattr(client_module, "HANDSHAKE_TIMEOUT", 0.3)
    loop = asyncio.get_running_loop()
    silent = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)  # accepts, says nothing
    port = silent.sockets[0].getsockname()[1]
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False) as listener:
            listener.methods = lambda: [f"tcp@127.0.0.1:{port}"]  # type: ignore[method-assign]
            with pytest.raises(ConnectionFailed) as info:
                await connect(alice, bob, "echo", Collector, certs=alice_certs,
                              server=lab.server, methods=("tcp",))
            assert str(info.value) == "cannot connect to bob@example.test (tcp: timed out)"
            transport, _ = await connect(alice, bob, "echo", Collector, certs=alice_certs,
                                         server=lab.server, methods=("tcp", "virtual"))
            assert transport.get_extra_info("q2q_method") == "virtual"
            transport.close()
    silent.close()


@pytest.mark.parametrize("method", ["tcp", "virtual"])
async def test_across_domains(tmp_path: Path, method: str) -> None:
    """alice@other.test calls bob@example.test: bob's server brokers without knowing
    other.test's CA; bob checks alice's certificate against it (he trusts it), and alice
    learns example.test's CA from bob's server."""
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    async with identity_lab(tmp_path / "b") as bobs, \
            identity_lab(tmp_path / "a", domain="other.test") as alices:
        alice, alice_certs = await alices.user("alice")
        bob, bob_certs = await bobs.user("bob")
        bob_certs.store_ca("other.test", alices.identity.ca.certificate_pem)  # vertex authorize
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=bobs.server):
            transport, proto = await connect(alice, bob, "echo", lambda: Collector(5),
                                             certs=alice_certs, server=bobs.server,
                                             methods=(method,))
            transport.write(b"howdy")
            assert await proto.done == b"howdy"  # type: ignore[attr-defined]
            assert transport.get_extra_info("q2q_method") == method
            transport.close()
            assert alice_certs.ca_pem("example.test") == bobs.identity.ca.certificate_pem


async def test_across_domains_needs_the_callers_ca(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    async with identity_lab(tmp_path / "b") as bobs, \
            identity_lab(tmp_path / "a", domain="other.test") as alices:
        alice, alice_certs = await alices.user("alice")
        bob, bob_certs = await bobs.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=bobs.server):
            with pytest.raises(CertificateMismatch) as info:
                await connect(alice, bob, "echo", Collector, certs=alice_certs,
                              server=bobs.server, methods=("virtual",))
            assert str(info.value) == ("bob@example.test has no CA certificate for "
                                       "other.test")


async def test_a_stale_address_answering_for_someone_else_falls_through(tmp_path: Path) -> None:
    """bob's advertised TCP address now reaches carol: that method fails on her name,
    the relay still reaches bob."""
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        carol, carol_certs = await lab.user("carol")
        async with await listen(carol, {"echo": Echo}, certs=carol_certs, server=lab.server,
                                ptcp=False) as carols, \
                await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                             ptcp=False) as bobs:
            bobs.methods = carols.methods  # type: ignore[method-assign]
            transport, _ = await connect(alice, bob, "echo", Collector, certs=alice_certs,
                                         server=lab.server, methods=("tcp", "virtual"))
            assert transport.get_extra_info("q2q_method") == "virtual"
            transport.close()
            with pytest.raises(CertificateMismatch, match="this is carol@example.test, not bob"):
                await connect(alice, bob, "echo", Collector, certs=alice_certs,
                              server=lab.server, methods=("tcp",))


async def test_advertised_tcp_addresses(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                host="0.0.0.0", ptcp=False) as listener:
            [method] = listener.methods()
            assert method.startswith("tcp@127.0.0.1:")  # our address towards the server
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server,
                                ptcp=False) as listener:
            assert listener.methods()[0].startswith("tcp@127.0.0.1:")

            class Remote:  # as if the server were reached over another interface
                host = ("192.0.2.7", 40000)

            real, listener.connection = listener.connection, Remote()  # type: ignore[assignment]
            assert listener.methods() == []  # a loopback address is no use to others
            listener.connection = real
