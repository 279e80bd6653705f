"""The stub resolver against small in-test servers: retries, failover, spoofed answers
ignored, TC -> TCP, rcodes, EDNS fallback; and against unbound."""
from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Self

import pytest

from plait.names.constants import Rcode, RRClass, RRType
from plait.names.errors import (
    DNSQueryRefusedError,
    DNSServerError,
    DNSTimeoutError,
)
from plait.names.message import RR, Message
from plait.names.name import Name
from plait.names.rdata import TXT, A
from plait.names.stub import StubResolver, matches

HOST = "127.0.0.1"
NAME = Name.from_text("www.example.test.")

# A handler gets (query, tcp) and returns the messages (or raw bytes) to send back, in order.
Reply = Message | bytes
Handler = Callable[[Message, bool], list[Reply]]


def answer(query: Message, *records: RR, rcode: int = Rcode.NOERROR, tc: bool = False,
           edns: bool = True) -> Message:
    """The response to ``query`` with ``records``."""
    flags = 0x8000 | 0x0400 | (query.flags & 0x0100) | (0x0200 if tc else 0)
    return Message(id=query.id, flags=flags, rcode=rcode, questions=query.questions,
                   answers=records, edns=query.edns if edns else None)


def a_record(query: Message, address: str = "192.0.2.1", ttl: int = 300) -> RR:
    return RR(query.questions[0].name, RRType.A, RRClass.IN, ttl, A(address))


def answer_a(query: Message, tcp: bool) -> list[Reply]:
    return [answer(query, a_record(query))]


@dataclass
class FakeServer:
    """A DNS server on 127.0.0.x, UDP and TCP on one port, answering through ``handler``."""

    handler: Handler
    host: str = HOST
    port: int = 0
    udp_queries: list[tuple[Message, tuple[str, int]]] = field(default_factory=list)
    tcp_queries: list[Message] = field(default_factory=list)
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    async def start(self) -> FakeServer:
        loop = asyncio.get_running_loop()
        for _ in range(20 if self.port == 0 else 1):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UDP(self), local_addr=(self.host, self.port))
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                transport.close()
                continue
            self._udp, self.port = transport, port
            return self
        raise RuntimeError("no port free for both UDP and TCP")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                query = Message.from_wire(await reader.readexactly(size))
                self.tcp_queries.append(query)
                for reply in self.handler(query, True):
                    wire = reply if isinstance(reply, bytes) else reply.to_wire()
                    writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = Message.from_wire(data)
        self.server.udp_queries.append((query, addr))
        for reply in self.server.handler(query, False):
            wire = reply if isinstance(reply, bytes) else reply.to_wire()
            self.transport.sendto(wire, addr)  # type: ignore[attr-defined]


def silent(query: Message, tcp: bool) -> list[Reply]:
    return []


async def test_answer_with_random_ids_and_ports() -> None:
    async with FakeServer(answer_a) as server:
        stub = StubResolver([server.address])
        for _ in range(4):
            response = await stub.query("www.example.test", RRType.A)
            assert response.rcode == Rcode.NOERROR
            assert response.answers[0].rdata == A("192.0.2.1")
        ids = {q.id for q, _ in server.udp_queries}
        ports = {addr[1] for _, addr in server.udp_queries}
        assert len(ids) >= 3 and len(ports) >= 3      # random each time (a clash is rare)
        query = server.udp_queries[0][0]
        assert query.rd and query.edns is not None and query.edns.udp_size == 1232
        got = await stub.send_exchange(stub.make_query(NAME, RRType.A))
        assert not got.tcp and got.server == server.address
        assert got.size == len(got.response.to_wire())


async def test_silent_server_then_a_good_one() -> None:
    async with FakeServer(silent) as dead, FakeServer(answer_a) as good:
        stub = StubResolver([dead.address, good.address], timeout=0.3, attempts=1)
        start = time.monotonic()
        response = await stub.query(NAME, RRType.A)
        assert response.answers
        assert 0.3 <= time.monotonic() - start < 5.0
        assert len(dead.udp_queries) == 1 and len(good.udp_queries) == 1


async def test_retry_after_a_dropped_query() -> None:
    seen: list[int] = []

    def drop_first(query: Message, tcp: bool) -> list[Reply]:
        seen.append(query.id)
        return [] if len(seen) == 1 else answer_a(query, tcp)

    async with FakeServer(drop_first) as server:
        response = await StubResolver([server.address], timeout=0.3, attempts=2).query(
            NAME, RRType.A)
        assert response.answers and len(seen) == 2 and seen[0] != seen[1]
    seen.clear()
    async with FakeServer(drop_first) as server:
        with pytest.raises(DNSTimeoutError) as info:
            await StubResolver([server.address], timeout=0.3, attempts=1).query(NAME, RRType.A)
        assert "timed out" in str(info.value)
        assert info.value.rcode == Rcode.SERVFAIL


async def test_spoofed_and_garbage_answers_ignored() -> None:
    def spoofing(query: Message, tcp: bool) -> list[Reply]:
        wrong_id = answer(replace(query, id=(query.id + 1) % 65536), a_record(query, "6.6.6.6"))
        other_q = answer(Message.make_query("evil.test", RRType.A, id=query.id),
                         a_record(query, "6.6.6.7"))
        not_response = replace(answer(query, a_record(query, "6.6.6.8")), flags=0)
        return [b"\x00\x01garbage", wrong_id, other_q, not_response,
                answer(query, a_record(query))]

    async with FakeServer(spoofing) as server:
        response = await StubResolver([server.address], timeout=1.0).query(NAME, RRType.A)
        assert response.answers[0].rdata == A("192.0.2.1")


async def test_only_spoofed_answers_time_out() -> None:
    def spoof_only(query: Message, tcp: bool) -> list[Reply]:
        return [answer(replace(query, id=(query.id + 1) % 65536), a_record(query, "6.6.6.6"))]

    async with FakeServer(spoof_only) as server:
        with pytest.raises(DNSTimeoutError):
            await StubResolver([server.address], timeout=0.3, attempts=1).query(NAME, RRType.A)


async def test_question_compared_without_case() -> None:
    def upper(query: Message, tcp: bool) -> list[Reply]:
        q = query.questions[0]
        shouted = replace(q, name=Name.from_text(str(q.name).upper()))
        return [replace(answer(query, a_record(query)), questions=(shouted,))]

    async with FakeServer(upper) as server:
        response = await StubResolver([server.address], timeout=1.0).query(NAME, RRType.A)
        assert response.answers


async def test_truncated_answer_retried_over_tcp() -> None:
    big = TXT((b"x" * 200,) * 5)

    def truncating(query: Message, tcp: bool) -> list[Reply]:
        if not tcp:
            return [answer(query, tc=True)]
        return [answer(query, *(RR(NAME, RRType.TXT, RRClass.IN, 60, big) for _ in range(3)))]

    async with FakeServer(truncating) as server:
        response = await StubResolver([server.address]).query(NAME, RRType.TXT)
        assert not response.tc and len(response.answers) == 3
        assert len(server.udp_queries) == 1 and len(server.tcp_queries) == 1
        got = await StubResolver([server.address]).send_exchange(
            Message.make_query(NAME, RRType.TXT))
        assert got.tcp and got.server == server.address
        assert got.size == len(got.response.to_wire()) > 512


async def test_tcp_directly_and_mismatch_skipped_on_tcp() -> None:
    def tcp_only(query: Message, tcp: bool) -> list[Reply]:
        if not tcp:
            return []
        return [answer(replace(query, id=(query.id + 7) % 65536), a_record(query, "6.6.6.6")),
                b"\x00",
                answer(query, a_record(query))]

    async with FakeServer(tcp_only) as server:
        response = await StubResolver([server.address], timeout=1.0).query(
            NAME, RRType.A, tcp=True)
        assert response.answers[0].rdata == A("192.0.2.1")
        assert not server.udp_queries


async def test_rcodes() -> None:
    def servfail(query: Message, tcp: bool) -> list[Reply]:
        return [answer(query, rcode=Rcode.SERVFAIL)]

    def refused(query: Message, tcp: bool) -> list[Reply]:
        return [answer(query, rcode=Rcode.REFUSED)]

    def nxdomain(query: Message, tcp: bool) -> list[Reply]:
        return [answer(query, rcode=Rcode.NXDOMAIN)]

    async with FakeServer(servfail) as bad, FakeServer(refused) as no, \
            FakeServer(nxdomain) as nx, FakeServer(answer_a) as good:
        # a failing server is passed over
        response = await StubResolver([bad.address, good.address]).query(NAME, RRType.A)
        assert response.answers
        # NXDOMAIN is an answer, not a failure: the next server is not asked
        response = await StubResolver([nx.address, good.address]).query(NAME, RRType.A)
        assert response.rcode == Rcode.NXDOMAIN and not good.udp_queries[1:]
        with pytest.raises(DNSServerError) as info:
            await StubResolver([bad.address], attempts=2).query(NAME, RRType.A)
        assert info.value.rcode == Rcode.SERVFAIL and len(bad.udp_queries) == 3
        with pytest.raises(DNSQueryRefusedError) as refusal:
            await StubResolver([no.address], attempts=1).query(NAME, RRType.A)
        assert refusal.value.rcode == Rcode.REFUSED
        kept = await StubResolver([bad.address], attempts=1).query(
            NAME, RRType.A, raise_for_rcode=False)
        assert kept.rcode == Rcode.SERVFAIL


async def test_formerr_to_edns_retried_without() -> None:
    def old_server(query: Message, tcp: bool) -> list[Reply]:
        if query.edns is not None:
            return [Message(id=query.id, flags=0x8000, rcode=Rcode.FORMERR)]
        return [answer(query, a_record(query), edns=False)]

    async with FakeServer(old_server) as server:
        response = await StubResolver([server.address]).query(NAME, RRType.A)
        assert response.answers
        assert [q.edns is None for q, _ in server.udp_queries] == [False, True]


async def test_no_edns_and_dnssec_flags() -> None:
    async with FakeServer(answer_a) as server:
        await StubResolver([server.address], edns_payload=None).query(NAME, RRType.A, rd=False)
        await StubResolver([server.address], edns_payload=4096).query(NAME, RRType.A,
                                                                       dnssec=True)
        plain, dnssec = (q for q, _ in server.udp_queries)
        assert plain.edns is None and not plain.rd
        assert dnssec.edns is not None and dnssec.edns.dnssec_ok
        assert dnssec.edns.udp_size == 4096


async def test_rotate() -> None:
    async with FakeServer(answer_a) as one, FakeServer(answer_a) as two:
        stub = StubResolver([one.address, two.address], rotate=True)
        for _ in range(4):
            await stub.query(NAME, RRType.A)
        assert len(one.udp_queries) == 2 and len(two.udp_queries) == 2
        fixed = StubResolver([one.address, two.address])
        for _ in range(3):
            await fixed.query(NAME, RRType.A)
        assert len(one.udp_queries) == 5 and len(two.udp_queries) == 2


async def test_unreachable_port_fails_over_quickly() -> None:
    async with FakeServer(answer_a) as gone:
        closed = gone.address
    async with FakeServer(answer_a) as good:
        start = time.monotonic()
        response = await StubResolver([closed, good.address], timeout=20.0).query(
            NAME, RRType.A)
        assert response.answers
        assert time.monotonic() - start < 5.0    # ICMP unreachable, not a 20 s timeout


async def test_attempts_bound_the_total_time() -> None:
    async with FakeServer(silent) as a, FakeServer(silent) as b:
        start = time.monotonic()
        with pytest.raises(DNSTimeoutError):
            await StubResolver([a.address, b.address], timeout=0.2, attempts=2).query(
                NAME, RRType.A)
        assert 0.8 <= time.monotonic() - start < 5.0
        assert len(a.udp_queries) == 2 and len(b.udp_queries) == 2


def test_matches() -> None:
    query = Message.make_query(NAME, RRType.A, id=5)
    good = answer(query)
    assert matches(query, good)
    assert not matches(query, replace(good, id=6))
    assert not matches(query, replace(good, flags=0))
    assert not matches(query, replace(good, questions=()))
    assert matches(query, replace(good, questions=(), rcode=Rcode.FORMERR))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        StubResolver([])
    with pytest.raises(ValueError):
        StubResolver([(HOST, 53)], timeout=0)
    with pytest.raises(ValueError):
        StubResolver([(HOST, 53)], attempts=0)
    with pytest.raises(ValueError):
        StubResolver([(HOST, 53)], edns_payload=100)


# ---------------------------------------------------------------- real peers

ZONE = """\
$TTL 300
@       IN SOA ns1 hostmaster 2026112401 3600 600 86400 60
        IN NS  ns1
ns1     IN A   127.0.0.1
www     IN A   192.0.2.80
        IN AAAA 2001:db8::80
mail    IN MX  10 mx1
big     IN TXT "{}"
""".format("y" * 250) + "".join(f'big IN TXT "{i:03d}{"z" * 200}"\n' for i in range(8))


def test_against_nsd_and_unbound() -> None:
    """Stub-resolve through unbound (whose stub zone points at nsd) and from nsd directly."""
    from names.peers import NSD, Unbound, primary

    # Not under test.: unbound answers NXDOMAIN for the RFC 6761 names itself (local-zone).
    async def run(nsd_addr: tuple[str, int], unbound_addr: tuple[str, int]) -> None:
        direct = StubResolver([nsd_addr], timeout=2.0)
        r = await direct.query("www.client.example", RRType.AAAA, rd=False)
        assert r.aa and [str(x.rdata) for x in r.answers] == ["2001:db8::80"]
        nx = await direct.query("nothing.client.example", RRType.A)
        assert nx.rcode == Rcode.NXDOMAIN and nx.authority[0].rtype == RRType.SOA
        small = StubResolver([nsd_addr], edns_payload=None)
        big = await small.query("big.client.example", RRType.TXT)     # TC over UDP -> TCP
        assert len(big.answers) == 9
        via = StubResolver([unbound_addr], timeout=3.0)
        r = await via.query("www.client.example", RRType.A)
        assert r.ra and [str(x.rdata) for x in r.answers] == ["192.0.2.80"]
        mx = await via.query("mail.client.example", RRType.MX)
        assert str(mx.answers[0].rdata) == "10 mx1.client.example."
        big = await via.query("big.client.example", RRType.TXT, tcp=True)
        assert len(big.answers) == 9

    with NSD([primary("client.example.", ZONE)]) as nsd, \
            Unbound({"client.example.": [nsd.address]}) as unbound:
        asyncio.run(run(nsd.address, unbound.address))


async def test_unrenderable_query_raises_at_once() -> None:
    from plait.names.errors import DNSRenderError
    async with FakeServer(answer_a) as server:
        with pytest.raises(DNSRenderError):
            await StubResolver([server.address]).query(NAME, 70000)
        assert not server.udp_queries


async def test_ipv6_server() -> None:
    def truncating(query: Message, tcp: bool) -> list[Reply]:
        return answer_a(query, tcp) if tcp else [answer(query, tc=True)]

    async with FakeServer(truncating, host="::1") as server:
        response = await StubResolver([server.address]).query(NAME, RRType.A)
        assert response.answers[0].rdata == A("192.0.2.1")
        assert server.udp_queries[0][1][0] == "::1" and len(server.tcp_queries) == 1
