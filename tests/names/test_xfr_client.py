"""Zone transfers in (plait.names.xfr_client) against small in-test TCP/UDP primaries that
answer with messages rendered here: good transfers split every way, and every way a
transfer can go wrong."""
from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Self

import pytest

from plait.names.constants import Rcode, RRType
from plait.names.errors import TransferError, TransferTimeout
from plait.names.message import RR, Message
from plait.names.rdata import SOA, A
from plait.names.xfr_client import TransferReader, axfr, ixfr, query_soa, serial_compare
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone

ORIGIN = "example.test."
_QR, _AA = 0x8000, 0x0400

ZONE_TEXT = """
$TTL 300
@ SOA ns1 hostmaster 10 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
$GENERATE 1-40 h$ A 192.0.2.$
www CNAME h1
@ MX 10 h2
"""

# What a fake primary does for one query: a list of Message (sent framed), bytes (written
# raw), or the string "hang" (stay silent until the client gives up).
Step = Message | bytes | str
Responder = Callable[[Message], Sequence[Step]]


def make_zone(serial: int = 10, extra: str = "") -> Zone:
    text = ZONE_TEXT.replace(" 10 3600", f" {serial} 3600") + extra
    return Zone.from_records(ORIGIN, parse_zone(text, ORIGIN))


def soa_with(zone: Zone, serial: int) -> RR:
    rdata = zone.soa.rdata
    assert isinstance(rdata, SOA)
    return replace(zone.soa, rdata=replace(rdata, serial=serial))


def answer(query: Message, records: Sequence[RR], *, rcode: int = Rcode.NOERROR,
           question: bool = True, mid: int | None = None) -> Message:
    return Message(id=query.id if mid is None else mid, flags=_QR | _AA, rcode=rcode,
                   questions=query.questions if question else (), answers=tuple(records))


def axfr_messages(query: Message, zone: Zone, per_message: int) -> list[Step]:
    stream = [*zone.records, zone.soa]
    return [answer(query, stream[i:i + per_message], question=(i == 0))
            for i in range(0, len(stream), per_message)]


def frame(message: Message) -> bytes:
    wire = message.to_wire()
    return struct.pack("!H", len(wire)) + wire


class FakePrimary:
    """A TCP (and UDP, same port) listener on 127.0.0.1 answering with ``responder``."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.queries: list[Message] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        for _ in range(20):
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=("127.0.0.1", self.port))
                break
            except OSError:
                self._server.close()
                await self._server.wait_closed()
        else:
            raise RuntimeError("no port free for both TCP and UDP")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._udp is not None
        self._server.close()
        self._udp.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    query = Message.from_wire(await reader.readexactly(size))
                except asyncio.IncompleteReadError:
                    return
                self.queries.append(query)
                for step in self.responder(query):
                    if step == "hang":
                        await asyncio.sleep(30)
                    elif step == "close":
                        writer.close()
                        return
                    elif isinstance(step, Message):
                        writer.write(frame(step))
                    else:
                        assert isinstance(step, bytes)
                        writer.write(step)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, primary: FakePrimary) -> None:
        self.primary = primary
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        query = Message.from_wire(data)
        self.primary.queries.append(query)
        assert self.transport is not None
        for step in self.primary.responder(query):
            if isinstance(step, Message):
                self.transport.sendto(step.to_wire(), addr)
            elif isinstance(step, bytes):
                self.transport.sendto(step, addr)


def serving(zone: Zone, per_message: int = 7) -> Responder:
    def respond(query: Message) -> list[Step]:
        q = query.questions[0]
        if q.rtype == RRType.SOA:
            return [answer(query, [zone.soa])]
        return axfr_messages(query, zone, per_message)
    return respond


# --- serial arithmetic ----------------------------------------------------------------------

def test_serial_compare() -> None:
    assert serial_compare(1, 1) == 0
    assert serial_compare(1, 2) == -1
    assert serial_compare(2, 1) == 1
    assert serial_compare(0xFFFFFFFF, 0) == -1  # wraps
    assert serial_compare(0, 0xFFFFFFFF) == 1
    assert serial_compare(5, 5 + 2**31 - 1) == -1
    assert serial_compare(5 + 2**31 - 1, 5) == 1


# --- AXFR -------------------------------------------------------------------------------------

@pytest.mark.parametrize("per_message", [1, 7, 1000])
async def test_axfr_across_messages(per_message: int) -> None:
    zone = make_zone()
    async with FakePrimary(serving(zone, per_message)) as primary:
        got = await axfr(primary.address, ORIGIN, timeout=5)
    assert got == zone
    assert len(got.records) == len(zone.records) == 45
    (query,) = primary.queries
    assert query.questions[0].rtype == RRType.AXFR


async def _axfr_error(responder: Responder, **kw: Any) -> TransferError:
    async with FakePrimary(responder) as primary:
        with pytest.raises(TransferError) as info:
            await axfr(primary.address, ORIGIN, **{"timeout": 5, **kw})
    return info.value


async def test_axfr_refused_carries_rcode() -> None:
    err = await _axfr_error(lambda q: [answer(q, [], rcode=Rcode.REFUSED)])
    assert err.rcode == Rcode.REFUSED
    assert "REFUSED" in str(err)


async def test_axfr_notauth_carries_rcode() -> None:
    err = await _axfr_error(lambda q: [answer(q, [], rcode=Rcode.NOTAUTH)])
    assert err.rcode == Rcode.NOTAUTH


async def test_axfr_first_record_not_soa() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: [answer(q, [*zone.records[1:], zone.soa])])
    assert "does not start with its SOA" in str(err)


async def test_axfr_first_record_soa_of_another_zone() -> None:
    other = Zone.from_records("other.test.", parse_zone(
        "@ 300 SOA ns1 h 1 2 3 4 5\n@ 300 NS ns1\n", "other.test."))
    err = await _axfr_error(lambda q: [answer(q, [other.soa, other.records[1], other.soa])])
    assert "outside zone" in str(err) or "does not start" in str(err)


async def test_axfr_record_outside_zone() -> None:
    zone = make_zone()
    stray = RR.make("evil.example.", A("203.0.113.9"), 300)
    err = await _axfr_error(lambda q: [answer(q, [zone.soa, stray, zone.soa])])
    assert "outside zone" in str(err) and "evil.example." in str(err)


async def test_axfr_ends_before_closing_soa() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: axfr_messages(q, zone, 7)[:-1] + ["close"])
    assert "ended before its closing SOA" in str(err)


async def test_axfr_connection_closed_inside_a_message() -> None:
    zone = make_zone()

    def respond(q: Message) -> list[Step]:
        steps = axfr_messages(q, zone, 7)
        last = frame(steps[-1])  # type: ignore[arg-type]
        return [*steps[:-1], last[:len(last) // 2], "close"]
    err = await _axfr_error(respond)
    assert "closed after" in str(err)


async def test_axfr_garbled_message() -> None:
    zone = make_zone()

    def respond(q: Message) -> list[Step]:
        good = frame(answer(q, zone.records))
        bad = good[:2] + good[2:14] + b"\xff" * (len(good) - 14)  # header fine, body garbage
        return [bad]
    err = await _axfr_error(respond)
    assert "malformed" in str(err)


async def test_axfr_wrong_id() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: [answer(q, [*zone.records, zone.soa],
                                              mid=(q.id + 1) & 0xFFFF)])
    assert "does not match query id" in str(err)


async def test_axfr_wrong_question() -> None:
    zone = make_zone()

    def respond(q: Message) -> list[Step]:
        other = Message.make_query("other.test", RRType.AXFR, id=q.id)
        return [answer(other, [*zone.records, zone.soa])]
    err = await _axfr_error(respond)
    assert "question" in str(err)


async def test_axfr_records_after_closing_soa() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: [answer(q, [*zone.records, zone.soa, zone.records[2]])])
    assert "after the closing SOA" in str(err)


async def test_axfr_closing_serial_differs() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: [answer(q, [*zone.records, soa_with(zone, 11)])])
    assert "closed with serial 11" in str(err)


async def test_axfr_invalid_zone_is_an_error() -> None:
    zone = make_zone()
    no_ns = [rr for rr in zone.records if rr.rtype != RRType.NS]
    err = await _axfr_error(lambda q: [answer(q, [*no_ns, zone.soa])])
    assert "not valid" in str(err)


async def test_axfr_max_records() -> None:
    zone = make_zone()
    err = await _axfr_error(serving(zone, 7), max_records=20)
    assert "exceeds 20 records" in str(err)
    async with FakePrimary(serving(zone, 7)) as primary:
        assert await axfr(primary.address, ORIGIN, max_records=46) == zone


async def test_axfr_max_messages() -> None:
    zone = make_zone()
    err = await _axfr_error(serving(zone, 1), max_messages=10)
    assert "exceeds 10 messages" in str(err)


async def test_axfr_empty_messages_bounded() -> None:
    zone = make_zone()
    err = await _axfr_error(lambda q: [answer(q, [])] * 50 + [answer(q, zone.records)],
                            max_messages=20)
    assert "exceeds 20 messages" in str(err)


async def test_axfr_timeout() -> None:
    zone = make_zone()
    async with FakePrimary(lambda q: [answer(q, zone.records[:3]), "hang"]) as primary:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TransferTimeout) as info:
            await axfr(primary.address, ORIGIN, timeout=0.3)
        assert loop.time() - start < 2.0
    assert isinstance(info.value, TimeoutError)


async def test_axfr_connection_refused() -> None:
    async with FakePrimary(lambda q: []) as primary:
        address = primary.address
    with pytest.raises(TransferError):
        await axfr(address, ORIGIN, timeout=2)


# --- IXFR -------------------------------------------------------------------------------------

def ixfr_stream(old: Zone, steps: Sequence[tuple[Zone, Zone]]) -> list[RR]:
    """The incremental answer taking ``old`` through each (from, to) pair."""
    final = steps[-1][1]
    out = [final.soa]
    for a, b in steps:
        before, after = set(a.records[1:]), set(b.records[1:])
        out.append(a.soa)
        out.extend(rr for rr in a.records[1:] if rr not in after)
        out.append(b.soa)
        out.extend(rr for rr in b.records[1:] if rr not in before)
    out.append(final.soa)
    return out


def ixfr_server(full: Zone, stream: Sequence[RR] | None, per_message: int = 3,
                rcode: int = Rcode.NOERROR) -> Responder:
    def respond(q: Message) -> list[Step]:
        if q.questions[0].rtype == RRType.AXFR:
            return axfr_messages(q, full, 9)
        assert q.questions[0].rtype == RRType.IXFR
        if rcode != Rcode.NOERROR:
            return [answer(q, [], rcode=rcode)]
        assert stream is not None
        return [answer(q, stream[i:i + per_message], question=(i == 0))
                for i in range(0, len(stream), per_message)]
    return respond


async def test_ixfr_up_to_date() -> None:
    zone = make_zone()
    async with FakePrimary(ixfr_server(zone, [zone.soa])) as primary:
        got = await ixfr(primary.address, zone, timeout=5)
    assert got is zone
    (query,) = primary.queries
    assert query.questions[0].rtype == RRType.IXFR
    assert query.authority == (zone.soa,)


@pytest.mark.parametrize("per_message", [1, 3, 500])
async def test_ixfr_incremental(per_message: int) -> None:
    v10 = make_zone(10)
    v11 = make_zone(11, "new1 A 198.51.100.1\n")
    v12 = Zone.from_records(ORIGIN, [soa_with(v11, 12)] + [
        rr for rr in v11.records[1:] if str(rr.name) != "h5.example.test."]
        + [RR.make("new2.example.test.", A("198.51.100.2"), 60)])
    stream = ixfr_stream(v10, [(v10, v11), (v11, v12)])
    async with FakePrimary(ixfr_server(make_zone(99), stream, per_message)) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got.serial == 12
    assert set(got.records) == set(v12.records)
    assert [q.questions[0].rtype for q in primary.queries] == [RRType.IXFR]


async def test_ixfr_answered_in_axfr_form() -> None:
    v10, v13 = make_zone(10), make_zone(13, "late A 198.51.100.3\n")
    async with FakePrimary(ixfr_server(v13, [*v13.records, v13.soa], 5)) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v13
    assert [q.questions[0].rtype for q in primary.queries] == [RRType.IXFR]


@pytest.mark.parametrize("rcode", [Rcode.NOTIMP, Rcode.REFUSED, Rcode.FORMERR])
async def test_ixfr_falls_back_to_axfr(rcode: int) -> None:
    v10, v11 = make_zone(10), make_zone(11, "x A 198.51.100.4\n")
    async with FakePrimary(ixfr_server(v11, None, rcode=rcode)) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v11
    assert [q.questions[0].rtype for q in primary.queries] == [RRType.IXFR, RRType.AXFR]


async def test_ixfr_servfail_is_an_error() -> None:
    v10 = make_zone(10)
    async with FakePrimary(ixfr_server(v10, None, rcode=Rcode.SERVFAIL)) as primary:
        with pytest.raises(TransferError) as info:
            await ixfr(primary.address, v10, timeout=5)
    assert info.value.rcode == Rcode.SERVFAIL


async def test_ixfr_inconsistent_difference_falls_back() -> None:
    v10, v11 = make_zone(10), make_zone(11, "x A 198.51.100.4\n")
    ghost = RR.make("ghost.example.test.", A("198.51.100.66"), 60)
    stream = [v11.soa, v10.soa, ghost, v11.soa, v11.records[-1], v11.soa]
    async with FakePrimary(ixfr_server(v11, stream)) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v11
    assert [q.questions[0].rtype for q in primary.queries] == [RRType.IXFR, RRType.AXFR]


async def test_ixfr_difference_from_another_serial_falls_back() -> None:
    v10, v11 = make_zone(10), make_zone(11)
    stream = [v11.soa, soa_with(v10, 7), soa_with(v10, 11), v11.soa]
    async with FakePrimary(ixfr_server(v11, stream)) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v11
    assert len(primary.queries) == 2


async def test_ixfr_lone_newer_soa_then_close_falls_back() -> None:
    v10, v11 = make_zone(10), make_zone(11)
    respond = ixfr_server(v11, [v11.soa])

    def closing(q: Message) -> list[Step]:
        steps = list(respond(q))
        return steps + ["close"] if q.questions[0].rtype == RRType.IXFR else steps
    async with FakePrimary(closing) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v11
    assert len(primary.queries) == 2


async def test_ixfr_lone_newer_soa_then_silence_falls_back() -> None:
    v10, v11 = make_zone(10), make_zone(11)
    async with FakePrimary(ixfr_server(v11, [v11.soa])) as primary:
        loop = asyncio.get_running_loop()
        start = loop.time()
        got = await ixfr(primary.address, v10, timeout=2)
        assert loop.time() - start < 1.9
    assert got == v11
    assert len(primary.queries) == 2


async def test_ixfr_closed_without_answer_falls_back() -> None:
    v10, v11 = make_zone(10), make_zone(11)
    full = ixfr_server(v11, None)

    def respond(q: Message) -> list[Step]:
        return ["close"] if q.questions[0].rtype == RRType.IXFR else list(full(q))
    async with FakePrimary(respond) as primary:
        got = await ixfr(primary.address, v10, timeout=5)
    assert got == v11
    assert [q.questions[0].rtype for q in primary.queries] == [RRType.IXFR, RRType.AXFR]
    async with FakePrimary(lambda q: ["close"]) as primary:
        with pytest.raises(TransferError, match="without an answer"):
            await axfr(primary.address, ORIGIN, timeout=5)


async def test_ixfr_truncated_is_an_error() -> None:
    v10, v11 = make_zone(10), make_zone(11, "x A 198.51.100.4\n")
    stream = ixfr_stream(v10, [(v10, v11)])[:-1]

    def respond(q: Message) -> list[Step]:
        return [answer(q, stream), "close"]
    async with FakePrimary(respond) as primary:
        with pytest.raises(TransferError, match="ended before its closing SOA"):
            await ixfr(primary.address, v10, timeout=5)


async def test_ixfr_timeout() -> None:
    v10 = make_zone(10)
    async with FakePrimary(lambda q: ["hang"]) as primary:
        with pytest.raises(TransferTimeout):
            await ixfr(primary.address, v10, timeout=0.3)


# --- SOA query ------------------------------------------------------------------------------

async def test_query_soa_udp() -> None:
    zone = make_zone(42)
    async with FakePrimary(serving(zone)) as primary:
        rr = await query_soa(primary.address, ORIGIN, timeout=2)
    assert rr == zone.soa
    assert isinstance(rr.rdata, SOA) and rr.rdata.serial == 42


async def test_query_soa_truncated_retries_over_tcp() -> None:
    zone = make_zone(42)

    def respond(q: Message) -> list[Step]:
        return [answer(q, [zone.soa])]
    udp_tc = True

    def responder(q: Message) -> list[Step]:
        nonlocal udp_tc
        if udp_tc:
            udp_tc = False
            return [answer(q, []).with_flags(tc=True)]
        return respond(q)
    async with FakePrimary(responder) as primary:
        rr = await query_soa(primary.address, ORIGIN, timeout=2)
    assert rr == zone.soa
    assert len(primary.queries) == 2


async def test_query_soa_errors() -> None:
    async with FakePrimary(lambda q: [answer(q, [], rcode=Rcode.REFUSED)]) as primary:
        with pytest.raises(TransferError) as info:
            await query_soa(primary.address, ORIGIN, timeout=2)
    assert info.value.rcode == Rcode.REFUSED
    zone = make_zone()
    not_aa = lambda q: [answer(q, [zone.soa]).with_flags(aa=False)]
    async with FakePrimary(not_aa) as primary:
        with pytest.raises(TransferError, match="not authoritative"):
            await query_soa(primary.address, ORIGIN, timeout=2)


async def test_query_soa_timeout_retries() -> None:
    async with FakePrimary(lambda q: []) as primary:
        with pytest.raises(TransferTimeout):
            await query_soa(primary.address, ORIGIN, timeout=0.6, tries=3)
    assert len(primary.queries) == 3


# --- the sans-IO reader, fed every split of a stream ----------------------------------------

def splits(records: Sequence[RR], seed: int) -> list[list[RR]]:
    """``records`` cut at random places (one record per message, all in one, and between)."""
    rng = random.Random(seed)
    out: list[list[RR]] = []
    i = 0
    while i < len(records):
        n = [1, len(records), rng.randint(1, 9)][seed % 3]
        out.append(list(records[i:i + n]))
        i += n
    return out


@pytest.mark.parametrize("seed", range(9))
def test_reader_axfr_every_split(seed: int) -> None:
    zone = make_zone(10)
    query = Message(id=5, questions=(Message.make_query(ORIGIN, RRType.AXFR).questions))
    reader = TransferReader(query)
    parts = splits([*zone.records, zone.soa], seed)
    for i, part in enumerate(parts):
        done = reader.receive(answer(query, part, question=(i == 0)))
        assert done == (i == len(parts) - 1)
    assert reader.result() == zone
    reader.end_of_stream()  # after completion, a close is fine
    with pytest.raises(TransferError, match="after the end"):
        reader.receive(answer(query, [zone.soa]))


@pytest.mark.parametrize("seed", range(9))
def test_reader_ixfr_every_split(seed: int) -> None:
    v10 = make_zone(10)
    v11 = make_zone(11, "new1 A 198.51.100.1\n")
    v12 = make_zone(12, "new2 A 198.51.100.2\n")
    query = Message(id=6, questions=(Message.make_query(ORIGIN, RRType.IXFR).questions),
                    authority=(v10.soa,))
    reader = TransferReader(query, current=v10)
    for i, part in enumerate(splits(ixfr_stream(v10, [(v10, v11), (v11, v12)]), seed)):
        reader.receive(answer(query, part, question=(i == 0)))
    assert reader.done and reader.result() == v12


def test_reader_states() -> None:
    v10, v11 = make_zone(10), make_zone(11)
    query = Message(id=7, questions=(Message.make_query(ORIGIN, RRType.IXFR).questions),
                    authority=(v10.soa,))
    with pytest.raises(ValueError):
        TransferReader(query)  # an IXFR needs the current copy
    up_to_date = TransferReader(query, current=v10)
    assert up_to_date.receive(answer(query, [v10.soa])) and up_to_date.result() is v10
    newer = TransferReader(query, current=v10)
    assert not newer.receive(answer(query, [v11.soa])) and newer.lone_newer_soa
    with pytest.raises(TransferError, match="lone newer SOA"):
        newer.end_of_stream()
    empty = TransferReader(query, current=v10)
    with pytest.raises(TransferError, match="without an answer"):
        empty.end_of_stream()
    partial = TransferReader(query, current=v10)
    partial.receive(answer(query, [v11.soa, *v11.records[1:5]]))
    with pytest.raises(TransferError, match="not complete"):
        partial.result()
    with pytest.raises(TransferError, match="ended before its closing SOA"):
        partial.end_of_stream()
