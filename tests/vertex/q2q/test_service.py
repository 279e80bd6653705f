"""`plait serve` runs the Q2Q identity server for its domain (TCP port, UDP port + 1)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from plait.axiom.store import Store
from plait.vertex.q2q import CertStore, PeerOffline, connect, listen, register, request_cert
from plait.vertex.q2q.service import Q2QService, Q2QServiceMaker, listen_address
from plait.vertex.q2q.udp import ANSWER, REQUEST
from serve_process import ServerProcess
from vertex.q2q.q2q_lab import Collector, Echo


async def test_plait_serve_registers_signs_and_relays(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    try:
        server.wait_ready()
        port = server.q2q_port
        assert f"udp:127.0.0.1:{port + 1}" in "\n".join(server.lines)
        address = ("127.0.0.1", port)
        alice_certs, bob_certs = CertStore(tmp_path / "a"), CertStore(tmp_path / "b")
        for name, certs in (("alice", alice_certs), ("bob", bob_certs)):
            await register(f"{name}@example.test", "pw-" + name, server=address)
            await request_cert(f"{name}@example.test", "pw-" + name, certs, server=address)
        with pytest.raises(PeerOffline):
            await connect("alice@example.test", "bob@example.test", "echo", Collector,
                          certs=alice_certs, server=address)
        async with await listen("bob@example.test", {"echo": Echo}, certs=bob_certs,
                                server=address):
            transport, proto = await connect(
                "alice@example.test", "bob@example.test", "echo", lambda: Collector(4),
                certs=alice_certs, server=address, methods=("virtual",))
            transport.write(b"ping")
            assert await proto.done == b"ping"  # type: ignore[attr-defined]
            transport.close()
            # PTCP learns its public address from the UDP port (TCP + 1) and punches.
            transport, proto = await connect(
                "alice@example.test", "bob@example.test", "echo", lambda: Collector(4),
                certs=alice_certs, server=address, methods=("ptcp",))
            transport.write(b"pong")
            assert await proto.done == b"pong"  # type: ignore[attr-defined]
            assert transport.get_extra_info("q2q_method") == "ptcp"
            transport.close()
        # The UDP port tells a socket where it is seen from.
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[bytes] = asyncio.Queue()

        class Probe(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                answers.put_nowait(data)

        udp, _ = await loop.create_datagram_endpoint(Probe, local_addr=("127.0.0.1", 0))
        me = udp.get_extra_info("sockname")
        udp.sendto(b"garbage", ("127.0.0.1", port + 1))
        udp.sendto(REQUEST + b"n1", ("127.0.0.1", port + 1))
        assert await answers.get() == ANSWER + b"n1 " + f"127.0.0.1:{me[1]}".encode()
        udp.close()
    finally:
        server.ensure_stopped()
    ca_dir = tmp_path / "data" / "q2q" / "example.test"
    assert (ca_dir / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_service_item(tmp_path: Path) -> None:
    store = Store(tmp_path / "site.axiom")
    Q2QServiceMaker().install(store, "tcp:8788:interface=127.0.0.1")
    service = store.find_first(Q2QService)
    assert service is not None
    assert service.endpoints() == ["tcp:127.0.0.1:8788", "udp:127.0.0.1:8789"]
    assert service.served_domain() == "example.test"
    service.domain = "corp.test"
    assert service.served_domain() == "corp.test"
    store.close()


def test_listen_address_wants_tcp() -> None:
    assert listen_address("tcp:0:interface=127.0.0.1") == ("127.0.0.1", 0)
    with pytest.raises(ValueError, match="Q2Q listens on tcp: endpoints"):
        listen_address("udp:8789:interface=127.0.0.1")
