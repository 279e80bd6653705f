"""plait's DNS server fed bad input over UDP and TCP: it answers FORMERR or nothing, never
crashes, and keeps answering the next good query (from dig) and other clients."""
from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.rcode
import pytest

from names.peers import PlaitServer, dig

pytestmark = pytest.mark.interop

ZONE = """$ORIGIN example.com.
$TTL 300
@    IN SOA ns1 hostmaster 1 7200 900 1209600 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.80
"""
RANDOM_DATAGRAMS = 300
RANDOM_TCP_CONNECTIONS = 25
WAIT = 0.5          # seconds to wait for a reply that should not come
FORMERR = dns.rcode.FORMERR


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def plait(request: pytest.FixtureRequest) -> Iterator[PlaitServer]:
    with PlaitServer([("example.com.", ZONE)], loop=request.param,
                     tcp_idle_timeout=5.0) as server:
        yield server


def still_serving(server: PlaitServer) -> None:
    """dig gets the right answer over UDP and over TCP."""
    for transport in ("+notcp", "+tcp"):
        out = dig("+short", transport, "www.example.com", "A", server=server.address)
        assert out.split() == ["192.0.2.80"], out


def header(qid: int = 0x1234, flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0,
           ar: int = 0) -> bytes:
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


QUESTION_TAIL = struct.pack("!HH", 1, 1)   # type A, class IN
GOOD = header() + b"\x03www\x07example\x03com\x00" + QUESTION_TAIL


def udp_exchange(server: PlaitServer, data: bytes, wait: float = WAIT) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        s.sendto(data, server.address)
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def rcode_of(reply: bytes) -> int:
    return reply[3] & 0x0F


def test_the_good_query_is_good(plait: PlaitServer) -> None:
    reply = udp_exchange(plait, GOOD)
    assert reply is not None and rcode_of(reply) == dns.rcode.NOERROR
    assert dns.message.from_wire(reply).answer


# (case, datagram, expected: an rcode, or None for no answer at all)
MALFORMED: list[tuple[str, bytes, int | None]] = [
    ("empty", b"", None),
    ("short-header", b"\x12\x34\x01", None),
    ("11-bytes", header()[:11], None),
    ("header-only-qd1", header(), FORMERR),
    ("is-a-response", header(flags=0x8100) + GOOD[12:], None),
    ("pointer-loop", header() + b"\xc0\x0c" + QUESTION_TAIL, FORMERR),
    ("pointer-chain-loop", header() + b"\x01a\xc0\x0e" + QUESTION_TAIL, FORMERR),
    ("name-over-255", header() + (b"\x3f" + b"a" * 63) * 5 + b"\x00" + QUESTION_TAIL, FORMERR),
    ("label-type-0x40", header() + b"\x41" + b"a" * 65 + b"\x00" + QUESTION_TAIL, FORMERR),
    ("label-past-end", header() + b"\x20abc", FORMERR),
    ("no-qtype", header() + b"\x03www\x00", FORMERR),
    ("half-qtype", header() + b"\x03www\x00\x00", FORMERR),
    ("qdcount-2", header(qd=2) + GOOD[12:] * 2, FORMERR),
    ("qdcount-0", header(qd=0), FORMERR),
    ("ancount-lies", header(an=5) + GOOD[12:], FORMERR),
    ("arcount-lies", header(ar=3) + GOOD[12:], FORMERR),
    ("opt-truncated", header(ar=1) + GOOD[12:] + b"\x00\x00\x29\x04", FORMERR),
]


@pytest.mark.parametrize(("data", "want"), [(d, w) for _, d, w in MALFORMED],
                         ids=[c for c, _, _ in MALFORMED])
def test_malformed_udp(plait: PlaitServer, data: bytes, want: int | None) -> None:
    reply = udp_exchange(plait, data)
    if want is None:
        assert reply is None, reply
    else:
        assert reply is not None, "no answer"
        assert reply[:2] == data[:2], "the id is echoed"
        assert reply[2] & 0x80, "QR is set"
        assert rcode_of(reply) == want, reply
    still_serving(plait)


def test_random_garbage_udp(plait: PlaitServer) -> None:
    rng = random.Random(5)
    sent: dict[bytes, bytes] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(WAIT)
        for i in range(RANDOM_DATAGRAMS):
            size = rng.choice((rng.randrange(0, 16), rng.randrange(16, 600)))
            data = bytearray(rng.randbytes(size))
            if size >= 4:
                data[0:2] = struct.pack("!H", i)  # ids we can match replies to
                data[2] &= 0x7F if i % 2 else 0xFF  # half are queries (QR=0)
            sent[bytes(data[:2])] = bytes(data)
            s.sendto(bytes(data), plait.address)
        replies = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                replies.append(s.recv(65535))
            except TimeoutError:
                break
    for reply in replies:
        assert len(reply) >= 12 and reply[2] & 0x80, reply
        query = sent.get(reply[:2])
        assert query is not None, "a reply to nothing we sent"
        assert not query[2] & 0x80, "a response was answered"
        rcode = rcode_of(reply)
        if rcode == dns.rcode.NOERROR:   # random bytes that happen to be a fine query
            dns.message.from_wire(reply)
        else:
            assert rcode in (FORMERR, dns.rcode.NOTIMP, dns.rcode.REFUSED, dns.rcode.NXDOMAIN,
                             dns.rcode.SERVFAIL), reply
    still_serving(plait)


def tcp_connect(server: PlaitServer) -> socket.socket:
    s = socket.create_connection(server.address, timeout=5)
    s.settimeout(5)
    return s


def tcp_read(s: socket.socket) -> bytes | None:
    """One length-prefixed message, or None when the server closed the connection."""
    def exactly(n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    size = exactly(2)
    if size is None:
        return None
    return exactly(struct.unpack("!H", size)[0])


def frame(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def test_tcp_good_then_formerr_on_one_connection(plait: PlaitServer) -> None:
    with tcp_connect(plait) as s:
        s.sendall(frame(GOOD))
        reply = tcp_read(s)
        assert reply is not None and rcode_of(reply) == dns.rcode.NOERROR
        s.sendall(frame(header() + b"\xc0\x0c" + QUESTION_TAIL))
        reply = tcp_read(s)
        # FORMERR, or the connection closed on the bad frame: either way no crash
        assert reply is None or rcode_of(reply) == FORMERR
    still_serving(plait)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x12\x34\x01\x00\x00"],
                         ids=["empty-frame", "1-byte", "5-bytes"])
def test_tcp_frame_shorter_than_a_header_closes_that_connection(
        plait: PlaitServer, data: bytes) -> None:
    with tcp_connect(plait) as s:
        s.sendall(frame(data))
        try:
            assert tcp_read(s) is None
        except ConnectionResetError:
            pass
    still_serving(plait)


def test_tcp_huge_length_does_not_block_others(plait: PlaitServer) -> None:
    with tcp_connect(plait) as hog:
        hog.sendall(b"\xff\xff" + b"\x00" * 100)   # promises 65535 bytes, sends 100
        still_serving(plait)                       # other clients, UDP and TCP, are served
        with tcp_connect(plait) as other:
            other.sendall(frame(GOOD))
            reply = tcp_read(other)
            assert reply is not None and rcode_of(reply) == dns.rcode.NOERROR
    still_serving(plait)


def test_tcp_close_mid_message(plait: PlaitServer) -> None:
    for cut in (1, 2, 7, len(GOOD)):
        with tcp_connect(plait) as s:
            s.sendall(frame(GOOD)[:cut])
    with tcp_connect(plait) as s:   # half-closed after a partial frame
        s.sendall(frame(GOOD)[:9])
        s.shutdown(socket.SHUT_WR)
        try:
            assert tcp_read(s) is None
        except ConnectionResetError:
            pass
    still_serving(plait)


def test_tcp_pipelined_queries_around_garbage(plait: PlaitServer) -> None:
    ids = [0x0101, 0x0202, 0x0303]
    queries = [frame(struct.pack("!H", i) + GOOD[2:]) for i in ids]
    with tcp_connect(plait) as s:
        s.sendall(b"".join(queries))
        got = set()
        for _ in ids:
            reply = tcp_read(s)
            assert reply is not None and rcode_of(reply) == dns.rcode.NOERROR
            got.add(struct.unpack("!H", reply[:2])[0])
        assert got == set(ids)


def test_tcp_random_garbage(plait: PlaitServer) -> None:
    rng = random.Random(7)
    for _ in range(RANDOM_TCP_CONNECTIONS):
        with tcp_connect(plait) as s:
            s.settimeout(0.3)
            try:
                s.sendall(rng.randbytes(rng.randrange(1, 400)))
                if rng.random() < 0.8:   # most say "that's all"; the rest wait out the timeout
                    s.shutdown(socket.SHUT_WR)
                while tcp_read(s) is not None:   # a reply or a close; bounded by the timeout
                    pass
            except (TimeoutError, ConnectionResetError, BrokenPipeError):
                pass
    still_serving(plait)


def test_tcp_idle_connection_does_not_block(plait: PlaitServer) -> None:
    idle = [tcp_connect(plait) for _ in range(5)]
    try:
        still_serving(plait)
    finally:
        for s in idle:
            s.close()


def test_oversized_udp_query_is_formerr_or_dropped(plait: PlaitServer) -> None:
    # a query whose additional section claims records that run past 4 kB of junk
    data = header(ar=200) + GOOD[12:] + bytes(4000)
    reply = udp_exchange(plait, data)
    assert reply is None or rcode_of(reply) == FORMERR
    still_serving(plait)


def test_response_flags_survive_dnspython(plait: PlaitServer) -> None:
    """The FORMERR plait makes for a truncated question is a message dnspython reads."""
    reply = udp_exchange(plait, header() + b"\x03www\x00")
    assert reply is not None
    msg = dns.message.from_wire(reply, question_only=True)
    assert msg.flags & dns.flags.QR and msg.rcode() == FORMERR
