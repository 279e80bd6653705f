"""The identity server against real clients on 127.0.0.1: registration, signing,
identify, who-am-i, and every refusal as a one-line error."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from plait.core.errors import ConnectionLost
from plait.vertex.q2q import (
    AddressTaken,
    BadCertificateRequest,
    BadPassword,
    CertStore,
    NoSuchUser,
    NotAuthorized,
    PeerOffline,
    Q2QAddress,
    RegistrationClosed,
    WrongDomain,
    connect,
    listen,
    register,
    request_cert,
)
from plait.vertex.q2q.ca import load_certificate, verify_certificate
from plait.vertex.q2q.commands import Identify, Inbound, Listen, Sign, Virtual, WhoAmI, ask
from plait.vertex.q2q.identity import ServerLimits
from plait.vertex.q2q.session import (
    ServerConnection,
    fetch_ca,
    open_server,
    secure_anonymously,
    server_session,
)
from vertex.q2q.q2q_lab import Collector, Echo, Lab, identity_lab


async def _anonymous(server: tuple[str, int]) -> ServerConnection:
    conn = await open_server(server, ServerConnection())
    await secure_anonymously(conn, "example.test",
                             await fetch_ca(conn, Q2QAddress.parse("x@example.test")))
    return conn


async def test_register_sign_identify(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, certs = await lab.user("alice")
        account = lab.identity.login_system.account_by_address("alice@example.test")  # type: ignore[union-attr]
        assert account is not None
        cert = certs.certificate(alice)
        ca = certs.ca_certificate("example.test")
        assert ca == lab.identity.ca.certificate
        verify_certificate(cert, ca, alice)
        conn = await open_server(lab.server, ServerConnection())
        answer = await ask(conn, Identify, subject=Q2QAddress.parse("bob@example.test"))
        assert load_certificate(answer["certificate"]) == ca
        conn.close()


async def test_who_am_i_is_the_callers_address(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        alice, certs = await lab.user("alice")
        conn = await server_session(alice, lab.server, certs, ServerConnection())
        answer = await ask(conn, WhoAmI)
        assert answer["address"] == conn.host[:2]
        conn.close()


async def test_register_twice(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        await register("alice@example.test", "one", server=lab.server)
        with pytest.raises(AddressTaken) as info:
            await register("alice@example.test", "two", server=lab.server)
        assert str(info.value) == "alice@example.test is already registered"


async def test_register_another_domain(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        conn = await _anonymous(lab.server)
        from plait.vertex.q2q.commands import Register
        with pytest.raises(WrongDomain, match="serves example.test, not other.test"):
            await ask(conn, Register, address=Q2QAddress.parse("a@other.test"), password="p")
        conn.close()


async def test_registration_closed(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        lab.identity.allow_registration = False
        with pytest.raises(RegistrationClosed, match="example.test does not take registrations"):
            await register("alice@example.test", "pw", server=lab.server)


async def test_account_limit(tmp_path: Path) -> None:
    async with identity_lab(tmp_path, limits=ServerLimits(max_accounts=1)) as lab:
        await register("alice@example.test", "pw", server=lab.server)
        with pytest.raises(RegistrationClosed, match="as many accounts as it allows"):
            await register("bob@example.test", "pw", server=lab.server)


async def test_empty_password(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        with pytest.raises(BadPassword, match="the password is empty"):
            await register("alice@example.test", "", server=lab.server)


async def test_unknown_user(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        with pytest.raises(NoSuchUser) as info:
            await request_cert("carol@example.test", "pw", CertStore(tmp_path / "c"),
                               server=lab.server)
        assert str(info.value) == "carol@example.test has no account on example.test"


async def test_wrong_password(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        await register("alice@example.test", "right", server=lab.server)
        certs = CertStore(tmp_path / "c")
        with pytest.raises(BadPassword) as info:
            await request_cert("alice@example.test", "wrong", certs, server=lab.server)
        assert str(info.value) == "wrong password for alice@example.test"
        assert not certs.has_certificate(Q2QAddress.parse("alice@example.test"))


async def test_disabled_account(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        await register("alice@example.test", "pw", server=lab.server)
        lab.identity.login_system.disable("alice@example.test")  # type: ignore[union-attr]
        with pytest.raises(NotAuthorized, match="the account alice@example.test is disabled"):
            await request_cert("alice@example.test", "pw", CertStore(tmp_path / "c"),
                               server=lab.server)


async def test_password_failures_close_the_connection(tmp_path: Path) -> None:
    limit = 3
    async with identity_lab(tmp_path, limits=ServerLimits(max_password_failures=limit)) as lab:
        await register("alice@example.test", "right", server=lab.server)
        certs = CertStore(tmp_path / "c")
        csr = certs.request_for(Q2QAddress.parse("alice@example.test"))
        conn = await _anonymous(lab.server)
        for _ in range(limit):
            with pytest.raises(BadPassword):
                await ask(conn, Sign, certificate_request=csr, password="wrong")
        with pytest.raises(ConnectionLost):
            await ask(conn, Sign, certificate_request=csr, password="right")


async def test_passwords_need_tls(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        certs = CertStore(tmp_path / "c")
        csr = certs.request_for(Q2QAddress.parse("alice@example.test"))
        conn = await open_server(lab.server, ServerConnection())
        with pytest.raises(NotAuthorized, match="only taken over a secured connection"):
            await ask(conn, Sign, certificate_request=csr, password="pw")
        conn.close()


async def test_unreadable_request(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        conn = await _anonymous(lab.server)
        with pytest.raises(BadCertificateRequest, match="unreadable certificate request"):
            await ask(conn, Sign, certificate_request=b"not a csr", password="pw")
        conn.close()


async def test_listen_needs_a_secured_identity(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        conn = await _anonymous(lab.server)
        with pytest.raises(NotAuthorized) as info:
            await ask(conn, Listen, From=Q2QAddress.parse("bob@example.test"),
                      protocols=["echo"], description="")
        assert str(info.value) == "secure the connection as bob@example.test first"
        conn.close()


async def test_identify_another_domain(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        conn = await open_server(lab.server, ServerConnection())
        with pytest.raises(WrongDomain):
            await ask(conn, Identify, subject=Q2QAddress.parse("a@other.test"))
        conn.close()


async def test_request_cert_refuses_a_changed_ca(tmp_path: Path) -> None:
    """A cert store that trusts one CA for example.test refuses a server with another."""
    from plait.vertex.q2q import CertificateMismatch
    from plait.vertex.q2q.ca import DomainCA
    async with identity_lab(tmp_path) as lab:
        await register("alice@example.test", "pw", server=lab.server)
        certs = CertStore(tmp_path / "c")
        certs.store_ca("example.test", DomainCA.create("example.test").certificate_pem)
        with pytest.raises(CertificateMismatch, match="is not the one in"):
            await request_cert("alice@example.test", "pw", certs, server=lab.server)


async def test_server_unreachable(tmp_path: Path) -> None:
    from plait.vertex.q2q import ConnectionFailed
    async with identity_lab(tmp_path) as lab:
        server = lab.server
    with pytest.raises(ConnectionFailed) as info:
        await register("alice@example.test", "pw", server=server)
    assert str(info.value) == (f"cannot reach the identity server {server[0]}:{server[1]}: "
                               "Connection refused")


class _Hanging(ServerConnection):
    """A listener that never answers ``inbound``."""

    @Inbound.responder
    async def _inbound(self, **_: object) -> dict[str, object]:
        await asyncio.Event().wait()
        return {}


async def _listening_as(lab: Lab, name: str, proto: ServerConnection,
                        protocols: list[str]) -> ServerConnection:
    address = Q2QAddress.parse(f"{name}@example.test")
    conn = await server_session(address, lab.server, lab.certs[name], proto)
    await ask(conn, Listen, From=address, protocols=protocols, description="")
    return conn


async def test_a_listener_that_does_not_answer(tmp_path: Path) -> None:
    async with identity_lab(tmp_path, limits=ServerLimits(forward_timeout=0.3)) as lab:
        alice, alice_certs = await lab.user("alice")
        await lab.user("bob")
        await lab.user("carol")
        hanging = await _listening_as(lab, "bob", _Hanging(), ["echo"])
        with pytest.raises(PeerOffline, match="the listener did not answer in 0.3 s"):
            await connect(alice, "bob@example.test", "echo", Collector, certs=alice_certs,
                          server=lab.server)
        mute = await _listening_as(lab, "carol", ServerConnection(), ["echo"])
        with pytest.raises(PeerOffline, match="the listener failed to answer"):
            await connect(alice, "carol@example.test", "echo", Collector, certs=alice_certs,
                          server=lab.server)
        hanging.close()
        mute.close()


async def test_listen_limits(tmp_path: Path) -> None:
    limits = ServerLimits(max_protocols=2, max_listeners_per_address=1)
    async with identity_lab(tmp_path, limits=limits) as lab:
        await lab.user("bob")
        with pytest.raises(NotAuthorized, match="listen for 1 to 2 protocols"):
            await _listening_as(lab, "bob", ServerConnection(), ["a", "b", "c"])
        first = await _listening_as(lab, "bob", ServerConnection(), ["a"])
        with pytest.raises(NotAuthorized, match="already listens on 1 connections"):
            await _listening_as(lab, "bob", ServerConnection(), ["a"])
        first.close()
        await first.wait_closed()
        for _ in range(100):  # the server notices the close
            if not lab.identity.listeners:
                break
            await asyncio.sleep(0.01)
        again = await _listening_as(lab, "bob", ServerConnection(), ["a"])
        again.close()


async def test_relay_limit(tmp_path: Path) -> None:
    async with identity_lab(tmp_path, limits=ServerLimits(max_relays_per_connection=1)) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs, server=lab.server):
            conn = await server_session(alice, lab.server, alice_certs, ServerConnection())
            await ask(conn, Virtual, id=1, From=alice, to=bob, protocol="echo")
            with pytest.raises(PeerOffline, match="too many relayed connections"):
                await ask(conn, Virtual, id=2, From=alice, to=bob, protocol="echo")
            with pytest.raises(NotAuthorized, match="virtual channel 1 is already in use"):
                await ask(conn, Virtual, id=1, From=alice, to=bob, protocol="echo")
            conn.close()


async def test_garbage_does_not_stop_the_server(tmp_path: Path) -> None:
    async with identity_lab(tmp_path) as lab:
        reader, writer = await asyncio.open_connection(*lab.server)
        writer.write(b"\x01\x00" + b"k" * 256)  # a key longer than AMP allows
        await writer.drain()
        assert await reader.read() == b""  # the server dropped this connection
        writer.close()
        await register("alice@example.test", "pw", server=lab.server)  # and serves others


async def test_source_ip(tmp_path: Path) -> None:
    from plait.vertex.q2q.commands import SourceIP
    async with identity_lab(tmp_path) as lab:
        conn = await open_server(lab.server, ServerConnection())
        assert await ask(conn, SourceIP) == {"ip": "127.0.0.1"}
        conn.close()


async def test_password_length_limit(tmp_path: Path) -> None:
    async with identity_lab(tmp_path, limits=ServerLimits(max_password_length=8)) as lab:
        with pytest.raises(BadPassword, match="longer than 8 characters"):
            await register("alice@example.test", "123456789", server=lab.server)
        await register("alice@example.test", "12345678", server=lab.server)


async def test_methods_limit(tmp_path: Path) -> None:
    """A listener advertising too many methods is cut to the limit (virtual stays last)."""
    async with identity_lab(tmp_path, limits=ServerLimits(max_methods=2)) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"echo": Echo}, certs=bob_certs,
                                server=lab.server) as listener:
            listener.methods = lambda: [f"tcp@127.0.0.1:{n}" for n in range(1, 6)]  # type: ignore[method-assign]
            conn = await server_session(alice, lab.server, alice_certs, ServerConnection())
            answer = await ask(conn, Inbound, From=alice, to=bob, protocol="echo",
                               udp_source=None)
            assert answer["methods"] == ["tcp@127.0.0.1:1", "tcp@127.0.0.1:2", "virtual"]
            conn.close()
