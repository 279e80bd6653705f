"""plait.names.server: UDP and TCP adapters, pipelining, limits, dispatch of passed queries."""
from __future__ import annotations

import asyncio
import socket
import struct

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from plait.names import server as server_mod
from plait.names.catalog import ZoneCatalog
from plait.names.message import Message
from plait.names.server import serve
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone

ZONE_TEXT = """\
$TTL 300
@    IN SOA ns1 hostmaster 2026112401 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.10
www  IN AAAA 2001:db8::10
"""


@pytest.fixture(autouse=True, params=["pump", "asyncio"])
def udp_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both UDP paths: the native pump (Linux) and asyncio's."""
    if request.param == "asyncio":
        monkeypatch.setenv("PLAIT_DNS_UDP_PUMP", "0")
    else:
        monkeypatch.delenv("PLAIT_DNS_UDP_PUMP", raising=False)
        if not server_mod.pump_available():
            pytest.skip("no native UDP pump on this platform")
    return str(request.param)


def example_zone() -> Zone:
    return Zone.from_records("example.test", parse_zone(ZONE_TEXT, "example.test"))


def make_catalog(**kw: object) -> ZoneCatalog:
    catalog = ZoneCatalog(**kw)  # type: ignore[arg-type]
    catalog.put(example_zone())
    return catalog


async def udp(query: dns.message.Message, port: int, timeout: float = 2.0) -> dns.message.Message:
    return await asyncio.to_thread(dns.query.udp, query, "127.0.0.1", timeout=timeout, port=port)


async def tcp(query: dns.message.Message, port: int, timeout: float = 2.0) -> dns.message.Message:
    return await asyncio.to_thread(dns.query.tcp, query, "127.0.0.1", timeout=timeout, port=port)


def frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


async def read_frame(reader: asyncio.StreamReader) -> dns.message.Message:
    size = struct.unpack("!H", await reader.readexactly(2))[0]
    return dns.message.from_wire(await reader.readexactly(size))


async def test_udp_and_tcp_answers() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        assert srv.port > 0
        assert srv.endpoints() == [f"udp:127.0.0.1:{srv.port}", f"tcp:127.0.0.1:{srv.port}"]
        for ask in (udp, tcp):
            r = await ask(dns.message.make_query("www.example.test", "A"), srv.port)
            assert r.rcode() == dns.rcode.NOERROR
            assert r.flags & dns.flags.AA
            assert [str(rd) for rd in r.answer[0]] == ["192.0.2.10"]
        r = await udp(dns.message.make_query("nope.example.test", "A"), srv.port)
        assert r.rcode() == dns.rcode.NXDOMAIN
        r = await udp(dns.message.make_query("elsewhere.invalid", "A"), srv.port)
        assert r.rcode() == dns.rcode.REFUSED
    finally:
        await srv.close()


async def test_tcp_pipelined_queries_all_answered() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        names = ["www.example.test", "ns1.example.test", "missing.example.test"] * 5
        queries = [dns.message.make_query(n, "A") for n in names]
        for i, q in enumerate(queries):
            q.id = 1000 + i
        writer.write(b"".join(frame(q.to_wire()) for q in queries))  # all at once
        await writer.drain()
        got = {}
        for _ in queries:
            r = await asyncio.wait_for(read_frame(reader), 5)
            got[r.id] = r
        assert sorted(got) == [q.id for q in queries]
        assert got[1000].answer[0][0].address == "192.0.2.10"
        assert got[1001].answer[0][0].address == "127.0.0.1"
        assert got[1002].rcode() == dns.rcode.NXDOMAIN
        writer.close()
    finally:
        await srv.close()


async def test_tcp_frames_split_into_single_bytes() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        q = dns.message.make_query("www.example.test", "AAAA")
        for b in frame(q.to_wire()):
            writer.write(bytes((b,)))
            await writer.drain()
        r = await asyncio.wait_for(read_frame(reader), 5)
        assert r.id == q.id and r.answer[0][0].address == "2001:db8::10"
        writer.close()
    finally:
        await srv.close()


async def test_idle_timeout_closes_connection() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0, tcp_idle_timeout=0.2)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        t0 = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(1), 5) == b""   # closed by the server
        assert asyncio.get_running_loop().time() - t0 < 3
        writer.close()
    finally:
        await srv.close()


@pytest.mark.parametrize("garbage", [
    b"\x00\x05hello",                     # shorter than a header
    frame(b"\x12\x34\x80\x00" + bytes(8)),  # a response, not a query
])
async def test_bad_tcp_framing_closes_only_that_connection(garbage: bytes) -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        good_r, good_w = await asyncio.open_connection("127.0.0.1", srv.port)
        bad_r, bad_w = await asyncio.open_connection("127.0.0.1", srv.port)
        bad_w.write(garbage)
        await bad_w.drain()
        assert await asyncio.wait_for(bad_r.read(100), 5) == b""
        q = dns.message.make_query("www.example.test", "A")
        good_w.write(frame(q.to_wire()))
        r = await asyncio.wait_for(read_frame(good_r), 5)
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
        # And a new connection is still served.
        r2 = await tcp(dns.message.make_query("ns1.example.test", "A"), srv.port)
        assert r2.answer
        good_w.close()
        bad_w.close()
    finally:
        await srv.close()


async def test_udp_garbage_ignored_and_server_keeps_serving() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(("127.0.0.1", srv.port))
        await loop.sock_sendall(sock, b"\x01\x02")     # shorter than a header: dropped
        await loop.sock_sendall(sock, bytes(12))       # a header, no question: FORMERR
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
        assert dns.message.from_wire(data, question_only=True).rcode() == dns.rcode.FORMERR
        sock.close()
        r = await udp(dns.message.make_query("www.example.test", "A"), srv.port)
        assert r.answer
    finally:
        await srv.close()


async def test_max_tcp_connections() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0, max_tcp_connections=2)
    try:
        conns = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(2)]
        await asyncio.sleep(0.05)
        r3, w3 = await asyncio.open_connection("127.0.0.1", srv.port)
        assert await asyncio.wait_for(r3.read(10), 5) == b""    # the third is closed
        q = dns.message.make_query("www.example.test", "A")
        conns[0][1].write(frame(q.to_wire()))
        assert (await asyncio.wait_for(read_frame(conns[0][0]), 5)).answer
        for _, w in conns:
            w.close()
        w3.close()
        await asyncio.sleep(0.05)
        # Once they are gone, new clients are served again.
        assert (await tcp(q, srv.port)).answer
    finally:
        await srv.close()


async def test_notify_without_handler_is_notimp_and_with_handler_is_dispatched() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        n = dns.message.make_query("example.test", "SOA")
        n.set_opcode(dns.opcode.NOTIFY)
        r = await udp(n, srv.port)
        assert r.rcode() == dns.rcode.NOTIMP and r.opcode() == dns.opcode.NOTIFY
    finally:
        await srv.close()
    seen: list[tuple[Message, tuple[str, int]]] = []

    async def handler(message: Message, peer: tuple[str, int]) -> Message | None:
        seen.append((message, peer))
        return Message(id=message.id, flags=0x8000 | 0x0400 | (message.flags & 0x7800),
                       questions=message.questions)

    srv = await serve(make_catalog(), "127.0.0.1", 0, notify_handler=handler)
    try:
        r = await udp(n, srv.port)
        assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
        assert str(seen[0][0].questions[0].name) == "example.test."
        assert seen[0][1][0] == "127.0.0.1"
    finally:
        await srv.close()


class FakeResolver:
    """Answers every name with one A record, or fails for names starting with 'fail'."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.release.set()
        self.calls = 0

    async def resolve_message(self, query: Message) -> Message:
        self.calls += 1
        await self.release.wait()
        name = query.questions[0].name
        if str(name).startswith("fail"):
            raise OSError("upstream unreachable")
        from plait.names.message import RR
        from plait.names.rdata import A
        return Message(id=0, flags=0x8000, questions=query.questions,
                       answers=(RR.make(name, A("198.51.100.7"), 60),))


async def test_recursive_queries_go_to_the_resolver() -> None:
    resolver = FakeResolver()
    srv = await serve(make_catalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
    try:
        r = await udp(dns.message.make_query("host.elsewhere.example", "A"), srv.port)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.RA
        assert r.answer[0][0].address == "198.51.100.7"
        r = await tcp(dns.message.make_query("fail.elsewhere.example", "A"), srv.port)
        assert r.rcode() == dns.rcode.SERVFAIL
        # Our own zones are still answered authoritatively, not by the resolver.
        calls = resolver.calls
        r = await udp(dns.message.make_query("www.example.test", "A"), srv.port)
        assert r.flags & dns.flags.AA and resolver.calls == calls
        # Without RD the name is refused, not resolved.
        q = dns.message.make_query("host.elsewhere.example", "A")
        q.flags &= ~dns.flags.RD
        assert (await udp(q, srv.port)).rcode() == dns.rcode.REFUSED
    finally:
        await srv.close()


async def test_slow_passed_query_does_not_hold_back_later_tcp_answers() -> None:
    resolver = FakeResolver()
    resolver.release.clear()
    srv = await serve(make_catalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        slow = dns.message.make_query("slow.elsewhere.example", "A")
        fast = dns.message.make_query("www.example.test", "A")
        slow.id, fast.id = 1, 2
        writer.write(frame(slow.to_wire()) + frame(fast.to_wire()))
        first = await asyncio.wait_for(read_frame(reader), 5)
        assert first.id == 2                     # answered while the slow one waits
        resolver.release.set()
        second = await asyncio.wait_for(read_frame(reader), 5)
        assert second.id == 1 and second.answer
        writer.close()
    finally:
        await srv.close()


async def test_handler_exception_answers_servfail(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(message: Message, peer: tuple[str, int]) -> Message | None:
        raise RuntimeError("bug in handler")

    srv = await serve(make_catalog(), "127.0.0.1", 0, notify_handler=broken)
    try:
        n = dns.message.make_query("example.test", "SOA")
        n.set_opcode(dns.opcode.NOTIFY)
        assert (await udp(n, srv.port)).rcode() == dns.rcode.SERVFAIL
        assert (await tcp(n, srv.port)).rcode() == dns.rcode.SERVFAIL
        assert (await udp(dns.message.make_query("www.example.test", "A"), srv.port)).answer
    finally:
        await srv.close()


async def test_udp_pending_limit_drops_excess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_mod, "MAX_UDP_PENDING", 2)
    resolver = FakeResolver()
    resolver.release.clear()
    srv = await serve(make_catalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
    try:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(("127.0.0.1", srv.port))
        for i in range(5):
            q = dns.message.make_query(f"h{i}.elsewhere.example", "A")
            q.id = i
            await loop.sock_sendall(sock, q.to_wire())
        await asyncio.sleep(0.2)
        assert resolver.calls == 2          # three dropped at the limit
        resolver.release.set()
        ids = set()
        for _ in range(2):
            data = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
            ids.add(dns.message.from_wire(data).id)
        assert ids == {0, 1}
        sock.close()
    finally:
        await srv.close()


async def test_close_cancels_in_flight_and_frees_port() -> None:
    resolver = FakeResolver()
    resolver.release.clear()
    srv = await serve(make_catalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(frame(dns.message.make_query("slow.elsewhere.example", "A").to_wire()))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(srv.close(), 5)
    assert await asyncio.wait_for(reader.read(10), 5) == b""
    writer.close()
    # The port can be bound again.
    srv2 = await serve(make_catalog(), "127.0.0.1", srv.port)
    await srv2.close()


async def test_serve_argument_errors() -> None:
    with pytest.raises(ValueError):
        await serve(make_catalog(), "127.0.0.1", 0, udp=False, tcp=False)
    with pytest.raises(ValueError):
        await serve(make_catalog(), "127.0.0.1", 0, tcp_idle_timeout=0)
    with pytest.raises(ValueError):
        await serve(make_catalog(), "127.0.0.1", 0, transfer_allow=["not-a-net"])


async def test_in_flight_limit_pauses_reading_until_answers_go_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_mod, "MAX_IN_FLIGHT", 2)
    resolver = FakeResolver()
    resolver.release.clear()
    srv = await serve(make_catalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        slow = [dns.message.make_query(f"s{i}.elsewhere.example", "A") for i in range(3)]
        fast = dns.message.make_query("www.example.test", "A")
        for i, q in enumerate([*slow, fast]):
            q.id = i
        writer.write(b"".join(frame(q.to_wire()) for q in [*slow, fast]))
        await asyncio.sleep(0.3)
        assert resolver.calls == 2        # the third slow query and the fast one wait
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read_frame(reader), 0.2)
        resolver.release.set()
        ids = sorted([(await asyncio.wait_for(read_frame(reader), 5)).id for _ in range(4)])
        assert ids == [0, 1, 2, 3] and resolver.calls == 3
        writer.close()
    finally:
        await srv.close()


async def test_client_that_does_not_read_is_dropped() -> None:
    catalog = ZoneCatalog()
    big = "".join(f'big TXT "{"x" * 250}"\n' for _ in range(50))     # ~13 KB answer
    catalog.put(Zone.from_records("example.test",
                                  parse_zone(ZONE_TEXT + big.replace("TXT", "IN TXT"),
                                             "example.test")))
    srv = await serve(catalog, "127.0.0.1", 0, tcp_idle_timeout=0.3)
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        q = dns.message.make_query("big.example.test", "TXT")
        q.id = 1
        chunk = frame(q.to_wire()) * 200
        closed = False
        deadline = loop.time() + 20
        while loop.time() < deadline and not closed:   # write, never read
            try:
                sock.send(chunk)
            except BlockingIOError:
                await asyncio.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError):
                closed = True
            await asyncio.sleep(0)
        assert closed, "the server kept a client that never reads"
        sock.close()
        assert (await tcp(dns.message.make_query("www.example.test", "A"), srv.port)).answer
    finally:
        await srv.close()


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_loopback() -> None:
    srv = await serve(make_catalog(), "::1", 0)
    try:
        assert srv.endpoints() == [f"udp:[::1]:{srv.port}", f"tcp:[::1]:{srv.port}"]
        q = dns.message.make_query("www.example.test", "AAAA")
        r = await asyncio.to_thread(dns.query.udp, q, "::1", timeout=2, port=srv.port)
        assert r.answer[0][0].address == "2001:db8::10"
        r = await asyncio.to_thread(dns.query.tcp, q, "::1", timeout=2, port=srv.port)
        assert r.answer[0][0].address == "2001:db8::10"
    finally:
        await srv.close()


async def test_trickling_client_dropped_within_frame_timeout() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0, tcp_idle_timeout=0.3)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        data = frame(dns.message.make_query("www.example.test", "A").to_wire())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        closed_after = None
        for b in data[:-1]:              # one byte every 0.1 s, never the last
            try:
                writer.write(bytes((b,)))
                await writer.drain()
            except ConnectionError:
                break
            try:
                if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                    closed_after = loop.time() - t0
                    break
            except TimeoutError:
                pass
        assert closed_after is not None and closed_after < 1.5
        writer.close()
    finally:
        await srv.close()
