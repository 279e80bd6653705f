"""The identity server's UDP port: tells a PTCP socket its public address (for hole punching).

Why UDP: a NAT maps each UDP socket separately, so the address a peer must punch towards is
the one the server sees *this* socket's datagrams come from; TCP's ``who-am-i`` cannot say.
Request ``q2q-who-am-i NONCE``; answer ``q2q-you-are NONCE host:port``.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any

from .commands import HostPort, parse_host_port

__all__ = ["MAX_REQUEST", "PROBE_TRIES", "WhoAmIDatagrams", "public_udp_address"]

REQUEST = b"q2q-who-am-i "
ANSWER = b"q2q-you-are "
#: Longest request answered (anything longer, or anything else, is ignored).
MAX_REQUEST = 128
#: Probes sent, and seconds waited for each answer.
PROBE_TRIES = 3
PROBE_WAIT = 1.0

_HOST_PORT = HostPort()


class WhoAmIDatagrams(asyncio.DatagramProtocol):
    """The server side: answers each well-formed probe with the address it came from."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.transport is None or len(data) > MAX_REQUEST or not data.startswith(REQUEST):
            return
        nonce = data[len(REQUEST):]
        if not nonce or b" " in nonce:
            return
        where = _HOST_PORT.to_bytes((str(addr[0]), int(addr[1])))
        self.transport.sendto(ANSWER + nonce + b" " + where, addr)


async def public_udp_address(sock: Any, server: tuple[str, int]) -> tuple[str, int]:
    """Where ``server`` sees ``sock``'s datagrams come from; OSError if it never answers."""
    loop = asyncio.get_running_loop()
    nonce = os.urandom(8).hex().encode("ascii")
    found: asyncio.Future[tuple[str, int]] = loop.create_future()
    previous = sock.on_foreign_datagram

    def on_datagram(data: bytes, addr: Any) -> None:
        prefix = ANSWER + nonce + b" "
        if data.startswith(prefix) and not found.done():
            try:
                found.set_result(parse_host_port(data[len(prefix):].decode("ascii")))
            except (ValueError, UnicodeDecodeError):
                return
        elif previous is not None:
            previous(data, addr)

    sock.on_foreign_datagram = on_datagram
    try:
        for _ in range(PROBE_TRIES):
            sock.send_datagram(server, REQUEST + nonce)
            try:
                return await asyncio.wait_for(asyncio.shield(found), PROBE_WAIT)
            except TimeoutError:
                continue
        raise OSError(f"the identity server's UDP port {server[0]}:{server[1]} did not answer")
    finally:
        sock.on_foreign_datagram = previous
