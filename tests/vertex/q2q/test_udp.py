"""The identity server's UDP probe: a socket learns the address it is seen from."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from plait.vertex.q2q import udp
from plait.vertex.q2q.udp import ANSWER, MAX_REQUEST, REQUEST, WhoAmIDatagrams, public_udp_address


class UdpSocket(asyncio.DatagramProtocol):
    """A plain UDP socket with PtcpSocket's datagram surface (what the probe uses)."""

    def __init__(self) -> None:
        self.on_foreign_datagram: Callable[[bytes, Any], None] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.on_foreign_datagram is not None:
            self.on_foreign_datagram(data, addr)

    def send_datagram(self, addr: tuple[str, int], data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)


async def _udp(factory: Callable[[], asyncio.DatagramProtocol]) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(factory, local_addr=("127.0.0.1", 0))


async def test_probe_learns_the_address() -> None:
    server, _ = await _udp(WhoAmIDatagrams)
    client_transport, client = await _udp(UdpSocket)
    others: list[bytes] = []
    client.on_foreign_datagram = lambda data, addr: others.append(data)
    found = await public_udp_address(client, server.get_extra_info("sockname"))
    assert found == client_transport.get_extra_info("sockname")[:2]
    assert client.on_foreign_datagram is not None  # the previous handler is back
    server.close()
    client_transport.close()


async def test_server_ignores_what_is_not_a_probe() -> None:
    server, _ = await _udp(WhoAmIDatagrams)
    where = server.get_extra_info("sockname")
    got: asyncio.Queue[bytes] = asyncio.Queue()
    client_transport, client = await _udp(UdpSocket)
    client.on_foreign_datagram = lambda data, addr: got.put_nowait(data)
    for junk in (b"", b"hello", REQUEST, REQUEST + b"a b",
                 REQUEST + b"x" * (MAX_REQUEST - len(REQUEST) + 1)):
        client.send_datagram(where, junk)
    client.send_datagram(where, REQUEST + b"last")
    assert (await got.get()).startswith(ANSWER + b"last ")  # the only answer
    assert got.empty()
    server.close()
    client_transport.close()


async def test_no_answer_is_an_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(udp, "PROBE_WAIT", 0.05)
    silent, _ = await _udp(asyncio.DatagramProtocol)
    client_transport, client = await _udp(UdpSocket)
    where = silent.get_extra_info("sockname")
    with pytest.raises(OSError, match="did not answer"):
        await public_udp_address(client, where)
    silent.close()
    client_transport.close()
