"""The native batched UDP path: ``plait._native.DnsUdpPump`` alone and inside ``serve()``."""
from __future__ import annotations

import asyncio
import gc
import random
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from names.test_server import example_zone, make_catalog, udp
from plait import _native
from plait.names import server as server_mod
from plait.names.authority import Authority
from plait.names.message import Message
from plait.names.name import Name
from plait.names.server import serve

pytestmark = pytest.mark.skipif(getattr(_native, "DnsUdpPump", None) is None,
                                reason="the native UDP pump is Linux only")

THREAD_NAME = "plait-dns-udp"


def pump_threads() -> int:
    """How many pump threads this process has (Linux names threads in /proc)."""
    count = 0
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            count += comm.read_text().strip() == THREAD_NAME
        except OSError:
            continue
    return count


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def settled(pump: _native.DnsUdpPump, timeout: float = 5.0) -> dict[str, int]:
    """The pump's counters once it has read nothing new for a while (the kernel may drop
    datagrams from a burst when the receive buffer is full, so counts are not exact)."""
    deadline = time.monotonic() + timeout
    last = pump.stats()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = pump.stats()
        if now == last and now["received"] > 0:
            return now
        last = now
    raise AssertionError(f"the pump never settled: {last}")


@pytest.fixture
def authority() -> Authority:
    auth = Authority()
    zone = example_zone()
    auth.set_zone(zone.origin, zone.records)
    return auth


@pytest.fixture
def bound() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, server_mod.UDP_BUFFER_SIZE)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def notify(qid: int) -> bytes:
    q = dns.message.make_query("example.test", "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.id = qid
    return q.to_wire()


# ----------------------------------------------------------------- the pump on its own


def test_pump_answers_natively_without_python(authority: Authority, bound: socket.socket,
                                              client: socket.socket) -> None:
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog)
    try:
        addr = bound.getsockname()
        for i in range(50):
            q = dns.message.make_query("www.example.test", "A")
            q.id = i
            client.sendto(q.to_wire(), addr)
        ids = set()
        for _ in range(50):
            r = dns.message.from_wire(client.recv(4096))
            assert r.answer[0][0].address == "192.0.2.10"
            ids.add(r.id)
        assert ids == set(range(50))
        stats = pump.stats()
        assert stats["received"] == 50 and stats["answered"] == 50
        assert 1 <= stats["batches"] <= 50 and stats["passed"] == 0
        assert pump.pending == 0 and pump.running
    finally:
        pump.close()
    assert not pump.running


def test_zone_changes_apply_at_once(authority: Authority, bound: socket.socket,
                                    client: socket.socket) -> None:
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog)
    try:
        q = dns.message.make_query("new.example.test", "A")
        client.sendto(q.to_wire(), bound.getsockname())
        assert dns.message.from_wire(client.recv(4096)).rcode() == dns.rcode.NXDOMAIN
        zone = example_zone()
        from plait.names.message import RR
        from plait.names.rdata import A
        extra = RR.make(Name.from_text("new.example.test."), A("192.0.2.99"), 60)
        authority.set_zone(zone.origin, (*zone.records, extra))
        client.sendto(q.to_wire(), bound.getsockname())
        assert dns.message.from_wire(client.recv(4096)).answer[0][0].address == "192.0.2.99"
    finally:
        pump.close()


def test_passed_queries_queue_bounded_and_overflow_counted(
        authority: Authority, bound: socket.socket, client: socket.socket) -> None:
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog, max_queue=4)
    try:
        assert pump.max_queue == 4
        for i in range(20):
            client.sendto(notify(i), bound.getsockname())
        wait_for(lambda: pump.stats()["received"] == 20)
        stats = pump.stats()
        assert stats["passed"] == 4 and stats["overflow"] == 16 and stats["answered"] == 0
        assert pump.pending == 4
        readable, _, _ = select.select([pump.wakeup_fd], [], [], 5)
        assert readable == [pump.wakeup_fd]
        first = pump.drain(3)
        assert [dns.message.from_wire(d).id for d, _ in first] == [0, 1, 2]
        assert all(a == client.getsockname() for _, a in first)
        # One left: the wakeup stays readable until it is taken too.
        assert select.select([pump.wakeup_fd], [], [], 0)[0] == [pump.wakeup_fd]
        (last,) = pump.drain()
        assert dns.message.from_wire(last[0]).id == 3
        assert pump.pending == 0 and pump.drain() == []
        assert select.select([pump.wakeup_fd], [], [], 0)[0] == []
        # Room again: the next one is queued.
        client.sendto(notify(99), bound.getsockname())
        wait_for(lambda: pump.pending == 1)
    finally:
        pump.close()
    # What was queued before close can still be taken.
    assert [dns.message.from_wire(d).id for d, _ in pump.drain()] == [99]


def test_garbage_is_survived(authority: Authority, bound: socket.socket,
                             client: socket.socket) -> None:
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog)
    rng = random.Random(7)
    try:
        addr = bound.getsockname()
        good = dns.message.make_query("www.example.test", "A")
        response = dns.message.make_response(good).to_wire()
        junk = [b"", b"\x01", bytes(11), response, bytes(60000),
                *(rng.randbytes(rng.randrange(12, 600)) for _ in range(300))]
        for data in junk:
            client.sendto(data, addr)
        stats = settled(pump)
        assert 0 < stats["received"] <= len(junk)
        client.settimeout(0.2)
        replies = []
        try:
            while True:
                replies.append(client.recv(65535))
        except TimeoutError:
            pass
        client.settimeout(5)
        assert stats["panics"] == 0 and pump.running
        assert stats["answered"] == len(replies) > 0
        assert stats["answered"] + stats["dropped"] + stats["passed"] + stats["overflow"] \
            + stats["send_errors"] == stats["received"]
        for wire in replies:
            assert wire[2] & 0x80          # every reply is a response
        client.sendto(good.to_wire(), addr)
        assert dns.message.from_wire(client.recv(4096)).answer
    finally:
        pump.close()


def test_close_with_queries_in_flight_is_prompt(authority: Authority,
                                                bound: socket.socket) -> None:
    before = pump_threads()
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog)
    wait_for(lambda: pump_threads() == before + 1)   # the thread names itself as it starts
    stop = threading.Event()
    wire = dns.message.make_query("www.example.test", "A").to_wire()
    addr = bound.getsockname()

    def flood() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            for _ in range(200_000):
                if stop.is_set():
                    return
                try:
                    s.sendto(wire, addr)
                except OSError:
                    time.sleep(0.001)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        wait_for(lambda: pump.stats()["answered"] > 100)
        t0 = time.monotonic()
        pump.close()
        assert time.monotonic() - t0 < 1.0
        assert not pump.running
        pump.close()                      # a second close is harmless
        assert pump_threads() == before
    finally:
        stop.set()
        flooder.join(10)


def test_drop_without_close_stops_the_thread(authority: Authority,
                                             bound: socket.socket) -> None:
    before = pump_threads()
    pump = _native.DnsUdpPump(bound.fileno(), authority._catalog)
    wait_for(lambda: pump_threads() == before + 1)   # the thread names itself as it starts
    del pump
    gc.collect()
    assert pump_threads() == before


def test_caller_keeps_its_socket(authority: Authority, client: socket.socket) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    addr = sock.getsockname()
    pump = _native.DnsUdpPump(sock.fileno(), authority._catalog)
    pump.close()
    # The pump's duplicate is gone, the caller's descriptor still works.
    sock.setblocking(False)
    client.sendto(b"x" * 20, addr)
    select.select([sock], [], [], 5)
    assert sock.recvfrom(100)[0] == b"x" * 20
    sock.close()
    # Closing both frees the port.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(addr)


def test_bad_arguments(authority: Authority, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for bad in (0, 1 << 21):
            with pytest.raises(ValueError, match="max_queue"):
                _native.DnsUdpPump(s.fileno(), authority._catalog, max_queue=bad)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, \
            pytest.raises(ValueError, match="UDP"):
        _native.DnsUdpPump(s.fileno(), authority._catalog)
    with open(tmp_path / "f", "wb") as f, pytest.raises(OSError, match="not a socket"):
        _native.DnsUdpPump(f.fileno(), authority._catalog)
    with pytest.raises(ValueError):
        _native.DnsUdpPump(-1, authority._catalog)
    with pytest.raises(TypeError):
        _native.DnsUdpPump(0, object())  # type: ignore[arg-type]


# ------------------------------------------------------------------- inside serve()


async def test_serve_uses_the_pump_by_default() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        assert srv.udp_pump is not None and srv.udp_pump.running
        r = await udp(dns.message.make_query("www.example.test", "AAAA"), srv.port)
        assert r.answer[0][0].address == "2001:db8::10"
        assert srv.udp_pump.stats()["answered"] == 1
        assert srv.endpoints() == [f"udp:127.0.0.1:{srv.port}", f"tcp:127.0.0.1:{srv.port}"]
    finally:
        pump = srv.udp_pump
        await srv.close()
    assert pump is not None and not pump.running


async def test_notify_and_ixfr_over_udp_reach_python() -> None:
    seen: list[tuple[Message, tuple[str, int]]] = []

    async def handler(message: Message, peer: tuple[str, int]) -> Message | None:
        seen.append((message, peer))
        return Message(id=message.id, flags=0x8000 | 0x0400 | (message.flags & 0x7800),
                       questions=message.questions)

    srv = await serve(make_catalog(), "127.0.0.1", 0, notify_handler=handler)
    try:
        pump = srv.udp_pump
        assert pump is not None
        n = dns.message.from_wire(notify(4321))
        r = await udp(n, srv.port)
        assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
        assert r.id == 4321 and seen[0][1][0] == "127.0.0.1"
        q = dns.message.make_query("example.test", "IXFR")
        q.authority.append(dns.rrset.from_text("example.test.", 0, "IN", "SOA",
                                               "ns1.example.test. h.example.test. 1 1 1 1 1"))
        r = await udp(q, srv.port)
        assert len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA
        assert r.answer[0][0].serial == 2026112401
        r = await udp(dns.message.make_query("example.test", "AXFR"), srv.port)
        assert r.rcode() == dns.rcode.REFUSED
        assert pump.stats()["passed"] == 3 and pump.stats()["answered"] == 0
    finally:
        await srv.close()


async def test_serve_close_with_queries_in_flight() -> None:
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    stop = threading.Event()
    wire = dns.message.make_query("www.example.test", "A").to_wire()
    port = srv.port

    def flood() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            for _ in range(200_000):
                if stop.is_set():
                    return
                try:
                    s.sendto(wire, ("127.0.0.1", port))
                except OSError:
                    time.sleep(0.001)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        pump = srv.udp_pump
        assert pump is not None
        deadline = time.monotonic() + 5
        while pump.stats()["answered"] < 100 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        await srv.close()
        assert time.monotonic() - t0 < 1.0 and not pump.running
    finally:
        stop.set()
        await asyncio.to_thread(flooder.join, 10)
    srv2 = await serve(make_catalog(), "127.0.0.1", port)   # the port is free again
    await srv2.close()


async def test_passed_flood_bounded_by_the_pump_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_mod, "PUMP_QUEUE", 3)
    monkeypatch.setattr(server_mod, "MAX_UDP_PENDING", 100)
    release = asyncio.Event()
    seen: list[int] = []

    async def handler(message: Message, peer: tuple[str, int]) -> Message | None:
        seen.append(message.id)
        await release.wait()
        return None

    srv = await serve(make_catalog(), "127.0.0.1", 0, notify_handler=handler)
    try:
        pump = srv.udp_pump
        assert pump is not None and pump.max_queue == 3
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # Sent faster than the loop runs: the loop is blocked in this coroutine.
            for i in range(30):
                s.sendto(notify(i), ("127.0.0.1", srv.port))
            deadline = time.monotonic() + 5
            while pump.stats()["received"] < 30 and time.monotonic() < deadline:
                time.sleep(0.01)   # noqa: ASYNC251 - the loop must not drain yet
        stats = pump.stats()
        assert stats["passed"] == 3 and stats["overflow"] == 27
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.01)
        assert sorted(seen) == [0, 1, 2]
        release.set()
    finally:
        await srv.close()


async def test_disabled_by_environment_or_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    q = dns.message.make_query("www.example.test", "A")
    srv = await serve(make_catalog(), "127.0.0.1", 0, udp_pump=False)
    try:
        assert srv.udp_pump is None
        assert (await udp(q, srv.port)).answer
    finally:
        await srv.close()
    monkeypatch.setenv("PLAIT_DNS_UDP_PUMP", "0")
    assert not server_mod.pump_available()
    srv = await serve(make_catalog(), "127.0.0.1", 0)
    try:
        assert srv.udp_pump is None
        assert (await udp(q, srv.port)).answer
    finally:
        await srv.close()
    monkeypatch.setenv("PLAIT_DNS_UDP_PUMP", "1")
    assert server_mod.pump_available()


async def test_udp_socket_buffers_enlarged() -> None:
    limit = int(Path("/proc/sys/net/core/rmem_max").read_text())
    for pump in (True, False):
        srv = await serve(make_catalog(), "127.0.0.1", 0, udp_pump=pump)
        try:
            udp_obj = srv._udp
            sock = udp_obj.sock if pump else udp_obj.get_extra_info("socket")  # type: ignore[union-attr]
            # The kernel doubles what it grants, up to rmem_max unless we are privileged.
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= \
                min(server_mod.UDP_BUFFER_SIZE, limit)
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
async def test_ipv6_passed_query_address() -> None:
    peers: list[tuple[str, int]] = []

    async def handler(message: Message, peer: tuple[str, int]) -> Message | None:
        peers.append(peer)
        return Message(id=message.id, flags=0x8000 | 0x0400 | (message.flags & 0x7800),
                       questions=message.questions)

    srv = await serve(make_catalog(), "::1", 0, notify_handler=handler)
    try:
        n = dns.message.from_wire(notify(7))
        r = await asyncio.to_thread(dns.query.udp, n, "::1", timeout=2, port=srv.port)
        assert r.id == 7 and peers[0][0] == "::1"
        q = dns.message.make_query("www.example.test", "A")
        r = await asyncio.to_thread(dns.query.udp, q, "::1", timeout=2, port=srv.port)
        assert r.answer[0][0].address == "192.0.2.10"
    finally:
        await srv.close()

