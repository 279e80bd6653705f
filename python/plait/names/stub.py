"""The stub resolver: send a query to recursive servers and wait for a trustworthy answer.

Each UDP query gets a random ID and its own socket (so a random source port from the
kernel), connected to the server so that datagrams from anyone else never reach us. A
datagram that does not parse, is not a response, or does not match the ID and question is
ignored and the wait goes on (a spoofing attempt must guess both). A truncated answer is
asked again over TCP. A server that fails (SERVFAIL, REFUSED, NOTIMP, FORMERR, timeout,
ICMP unreachable) is passed over for the next; every wait is bounded by ``timeout`` and the
whole query by ``attempts`` rounds over the servers.
"""
from __future__ import annotations

import asyncio
import secrets
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .constants import Rcode, RRClass
from .errors import DNSFormatError, DNSTimeoutError, error_for_rcode
from .message import Edns, Message
from .name import Name

__all__ = ["MAX_TCP_MESSAGES", "Exchange", "StubResolver", "matches"]

_DO = 0x8000
MAX_TCP_MESSAGES = 64      # responses read on one TCP connection before giving up on a match


@dataclass(frozen=True, slots=True)
class Exchange:
    """A response and how it came: from which server, over TCP or not, its size in bytes."""

    response: Message
    server: tuple[str, int]
    tcp: bool
    size: int


def matches(query: Message, response: Message) -> bool:
    """Whether ``response`` answers ``query``: a response, same ID and opcode, and the same
    question (names compared without case). A FORMERR/NOTIMP may come without a question."""
    if not response.qr or response.id != query.id or response.opcode != query.opcode:
        return False
    if not response.questions and response.rcode in (Rcode.FORMERR, Rcode.NOTIMP):
        return True
    return response.questions == query.questions


class _UDPWaiter(asyncio.DatagramProtocol):
    """One query's socket: resolves ``future`` with the first matching response."""

    def __init__(self, query: Message, server: tuple[str, int]) -> None:
        self.query = query
        self.server = server
        self.future: asyncio.Future[tuple[Message, int]] = (
            asyncio.get_running_loop().create_future())
        self.ignored = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.future.done():
            return
        # The socket is connected, so the kernel already filters; check anyway (the host
        # part only: an IPv6 address may come back with flow info and scope).
        if addr[1] != self.server[1] or not _same_host(str(addr[0]), self.server[0]):
            self.ignored += 1
            return
        try:
            response = Message.from_wire(data)
        except (DNSFormatError, ValueError):
            self.ignored += 1
            return
        if not matches(self.query, response):
            self.ignored += 1
            return
        self.future.set_result((response, len(data)))

    def error_received(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.future.done():
            self.future.set_exception(exc or ConnectionError("socket closed"))


def _same_host(a: str, b: str) -> bool:
    a, b = a.partition("%")[0], b.partition("%")[0]
    if a == b:
        return True
    try:
        return socket.inet_pton(_family(a), a) == socket.inet_pton(_family(b), b)
    except OSError:
        return False


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class StubResolver:
    """Ask ``servers`` (``(address, port)`` pairs) in turn.

    ``timeout`` bounds each wait for one server, ``attempts`` the rounds over all of them;
    ``edns_payload`` is the UDP size advertised with EDNS0 (None: no EDNS). With ``rotate``
    each query starts at the next server (resolv.conf's ``options rotate``).
    """

    def __init__(self, servers: Sequence[tuple[str, int]], *, timeout: float = 2.0,
                 attempts: int = 2, edns_payload: int | None = 1232,
                 rotate: bool = False) -> None:
        if not servers:
            raise ValueError("a stub resolver needs at least one server")
        if timeout <= 0 or attempts < 1:
            raise ValueError("timeout must be positive and attempts at least 1")
        if edns_payload is not None and not 512 <= edns_payload <= 65535:
            raise ValueError("edns_payload must be between 512 and 65535")
        self.servers = [(str(h), int(p)) for h, p in servers]
        self.timeout = timeout
        self.attempts = attempts
        self.edns_payload = edns_payload
        self.rotate = rotate
        self._next = 0

    def make_query(self, name: Name | str, rtype: int, rclass: int = RRClass.IN, *,
                   rd: bool = True, dnssec: bool = False, cd: bool = False) -> Message:
        """A query with a fresh random ID and this resolver's EDNS settings."""
        edns = None
        if self.edns_payload is not None or dnssec:
            edns = Edns(udp_size=self.edns_payload or 1232, flags=_DO if dnssec else 0)
        if isinstance(name, str):
            name = Name.from_text(name if name.endswith(".") else name + ".")
        query = Message.make_query(name, rtype, rclass, id=secrets.randbelow(65536), rd=rd,
                                   edns=edns)
        return query.with_flags(cd=True) if cd else query

    async def query(self, name: Name | str, rtype: int, rclass: int = RRClass.IN, *,
                    tcp: bool = False, rd: bool = True, dnssec: bool = False,
                    raise_for_rcode: bool = True) -> Message:
        """Resolve one question. Returns the first NOERROR or NXDOMAIN response; with
        ``raise_for_rcode`` false, also whatever failure the last server answered.

        Raises :class:`DNSTimeoutError` when no server answered, else (with
        ``raise_for_rcode``) the error of the last failure rcode (DNSServerError, ...).
        """
        return await self.send(self.make_query(name, rtype, rclass, rd=rd, dnssec=dnssec),
                               tcp=tcp, raise_for_rcode=raise_for_rcode)

    async def send(self, query: Message, *, tcp: bool = False,
                   raise_for_rcode: bool = True) -> Message:
        """Send a prepared query (its ID is replaced on each try) and return the response,
        with the retries and failover of :meth:`query`."""
        got = await self.send_exchange(query, tcp=tcp, raise_for_rcode=raise_for_rcode)
        return got.response

    async def send_exchange(self, query: Message, *, tcp: bool = False,
                            raise_for_rcode: bool = True) -> Exchange:
        """:meth:`send`, telling which server answered, over what, and the size."""
        query.to_wire()      # a query that cannot be rendered is our error: raise it now
        order = list(self.servers)
        if self.rotate:
            start = self._next % len(order)
            self._next += 1
            order = order[start:] + order[:start]
        last_failure: Exchange | None = None
        errors: list[str] = []
        for _ in range(self.attempts):
            for server in order:
                attempt = replace(query, id=secrets.randbelow(65536))
                try:
                    got = await self._exchange(attempt, server, tcp)
                except (TimeoutError, OSError, EOFError) as exc:
                    errors.append(f"{server[0]}#{server[1]}: {_describe(exc)}")
                    continue
                if got.response.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN):
                    return got
                last_failure = got
        if last_failure is not None:
            if raise_for_rcode:
                rcode = last_failure.response.rcode
                raise error_for_rcode(rcode, f"{_question(query)}: every server failed, "
                                             f"the last with rcode {_rcode_text(rcode)}")
            return last_failure
        raise DNSTimeoutError(f"{_question(query)}: no answer from "
                              f"{', '.join(f'{h}#{p}' for h, p in order)}"
                              f" ({'; '.join(errors[-3:])})")

    async def exchange(self, query: Message, server: tuple[str, int], *,
                       tcp: bool = False) -> Message:
        """One query to one server: UDP (then TCP if truncated) or TCP alone. A FORMERR or
        NOTIMP to an EDNS query without an OPT in it is retried without EDNS (RFC 6891 §7).
        Raises TimeoutError, OSError (ICMP errors, refused TCP) or EOFError (TCP closed)."""
        return (await self._exchange(query, server, tcp)).response

    async def _exchange(self, query: Message, server: tuple[str, int], tcp: bool) -> Exchange:
        got = await (self._tcp(query, server) if tcp else self._udp(query, server))
        if (query.edns is not None and got.response.edns is None
                and got.response.rcode in (Rcode.FORMERR, Rcode.NOTIMP)):
            query = replace(query, edns=None)
            got = await (self._tcp(query, server) if tcp else self._udp(query, server))
        if got.response.tc and not tcp:
            got = await self._tcp(query, server)
        return got

    async def _udp(self, query: Message, server: tuple[str, int]) -> Exchange:
        loop = asyncio.get_running_loop()
        waiter = _UDPWaiter(query, server)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: waiter, remote_addr=server, family=_family(server[0]))
        try:
            transport.sendto(query.to_wire())
            async with asyncio.timeout(self.timeout):
                response, size = await waiter.future
                return Exchange(response, server, False, size)
        finally:
            transport.close()

    async def _tcp(self, query: Message, server: tuple[str, int]) -> Exchange:
        wire = query.to_wire()
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(server[0], server[1])
            try:
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
                for _ in range(MAX_TCP_MESSAGES):
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(size)
                    try:
                        response = Message.from_wire(data)
                    except (DNSFormatError, ValueError):
                        continue
                    if matches(query, response):
                        return Exchange(response, server, True, size)
                raise ConnectionError(f"no matching response in {MAX_TCP_MESSAGES} messages")
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except OSError:
                    pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed before a whole message"
    return str(exc) or type(exc).__name__


def _question(query: Message) -> str:
    return str(query.questions[0]) if query.questions else "query"


def _rcode_text(rcode: int) -> str:
    return Rcode(rcode).name if rcode in set(Rcode) else str(rcode)
