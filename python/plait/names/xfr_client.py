"""Zone transfers in: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, and the SOA check.

A secondary needs three things from a primary: its SOA serial (a plain query, UDP first),
the whole zone (AXFR) and, when it already holds an older copy, only the differences (IXFR).
Every answer is checked before it is believed: the message id, the question echoed, the
RCODE, the first record being the zone's SOA, every record inside the zone, and the
serials of an incremental transfer chaining from the copy we hold to the one announced.
Every transfer is bounded: a total time limit, a record count and a message count.
"""
from __future__ import annotations

import asyncio
import ipaddress
import secrets
import struct
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from .constants import Opcode, Rcode, RRClass, RRType
from .errors import DNSFormatError, TransferError, TransferTimeout
from .message import RR, Message, Question
from .name import Name
from .rdata import SOA
from .zone import Zone

__all__ = ["axfr", "ixfr", "query_soa", "serial_compare"]

_QR = 0x8000
_TC = 0x0200
# RCODEs with which a server says "no IXFR here": the client then asks for the whole zone.
_IXFR_FALLBACK = frozenset({Rcode.NOTIMP, Rcode.REFUSED, Rcode.FORMERR})


def serial_compare(a: int, b: int) -> int:
    """RFC 1982 serial number arithmetic (32 bits): -1 if ``a`` precedes ``b``, 0 if equal,
    1 if ``a`` follows ``b``. Two serials exactly 2**31 apart are incomparable; they are
    reported as "follows" so that a secondary transfers rather than stalls."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    if a == b:
        return 0
    if (a < b and b - a < 2**31) or (a > b and a - b > 2**31):
        return -1
    return 1


def _origin(origin: Name | str) -> Name:
    return Name.from_text(origin) if isinstance(origin, str) else origin


def _new_id() -> int:
    return secrets.randbelow(0x10000)


def _host_family(host: str) -> int:
    try:
        return 6 if ipaddress.ip_address(host).version == 6 else 4
    except ValueError:
        return 0


@asynccontextmanager
async def _tcp(server: tuple[str, int]) -> AsyncIterator[tuple[asyncio.StreamReader,
                                                              asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(server[0], server[1])
    try:
        yield reader, writer
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (TimeoutError, OSError):
            pass


async def _send(writer: asyncio.StreamWriter, message: Message) -> None:
    wire = message.to_wire()
    writer.write(struct.pack("!H", len(wire)) + wire)
    await writer.drain()


async def _receive(reader: asyncio.StreamReader) -> Message | None:
    """The next length-framed message, or None when the server closed between messages."""
    try:
        head = await reader.readexactly(2)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise TransferError("connection closed inside a length prefix") from exc
    (size,) = struct.unpack("!H", head)
    if size == 0:
        raise TransferError("zero-length message")
    try:
        data = await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise TransferError(f"connection closed after {len(exc.partial)} of {size} bytes "
                            "of a message") from exc
    try:
        return Message.from_wire(data)
    except DNSFormatError as exc:
        raise TransferError(f"malformed message from the server: {exc}") from exc


def _check_response(response: Message, query: Message, first: bool) -> None:
    """Raise TransferError unless ``response`` is a good answer to ``query``."""
    if response.id != query.id:
        raise TransferError(f"response id {response.id} does not match query id {query.id}")
    if not response.qr:
        raise TransferError("message from the server is not a response")
    if response.opcode != Opcode.QUERY:
        raise TransferError(f"response has opcode {response.opcode}, not QUERY")
    if response.rcode != Rcode.NOERROR:
        try:
            text = Rcode(response.rcode).name
        except ValueError:
            text = str(response.rcode)
        raise TransferError(f"server answered {text}", response.rcode)
    if response.tc:
        raise TransferError("truncated (TC) response over TCP")
    if (response.questions or first) and response.questions != query.questions:
        raise TransferError(
            f"response question {[str(q) for q in response.questions]} does not match "
            f"{str(query.questions[0])!r}")


def _check_record(rr: RR, origin: Name) -> None:
    if rr.rclass != RRClass.IN:
        raise TransferError(f"record of class {rr.rclass} in an IN zone: {rr}")
    if not rr.name.is_subdomain(origin):
        raise TransferError(f"record outside zone {origin}: {rr}")


def _is_apex_soa(rr: RR, origin: Name) -> bool:
    return rr.rtype == RRType.SOA and rr.name == origin and isinstance(rr.rdata, SOA)


def _soa_serial(rr: RR) -> int:
    assert isinstance(rr.rdata, SOA)
    return rr.rdata.serial


class _Stream:
    """The records of one transfer response, across messages, with the limits enforced."""

    def __init__(self, reader: asyncio.StreamReader, query: Message, origin: Name,
                 max_records: int, max_messages: int) -> None:
        self.reader = reader
        self.query = query
        self.origin = origin
        self.max_records = max_records
        self.max_messages = max_messages
        self.messages = 0
        self.records = 0
        self.pending: list[RR] = []

    async def next_message(self) -> list[RR] | None:
        """The answer records of the next message (None at a clean end of the stream)."""
        message = await _receive(self.reader)
        if message is None:
            return None
        self.messages += 1
        if self.messages > self.max_messages:
            raise TransferError(f"transfer of {self.origin} exceeds {self.max_messages} "
                                "messages")
        _check_response(message, self.query, self.messages == 1)
        self.records += len(message.answers)
        if self.records > self.max_records:
            raise TransferError(f"transfer of {self.origin} exceeds {self.max_records} records")
        for rr in message.answers:
            _check_record(rr, self.origin)
        return list(message.answers)


async def _collect_axfr(stream: _Stream, first: RR, rest: list[RR]) -> Zone:
    """Read the AXFR form: ``first`` (the SOA) ... up to the SOA repeated."""
    origin = stream.origin
    serial = _soa_serial(first)
    records = [first]
    batch = rest
    while True:
        for i, rr in enumerate(batch):
            if _is_apex_soa(rr, origin):
                if _soa_serial(rr) != serial:
                    raise TransferError(f"transfer of {origin} closed with serial "
                                        f"{_soa_serial(rr)}, opened with {serial}")
                if i != len(batch) - 1:
                    raise TransferError(f"records after the closing SOA of {origin}")
                return _zone(origin, records)
            if rr.rtype == RRType.SOA and rr.name == origin:
                raise TransferError(f"malformed SOA inside the transfer of {origin}")
            records.append(rr)
        nxt = await stream.next_message()
        if nxt is None:
            raise TransferError(f"transfer of {origin} ended before its closing SOA "
                                f"({len(records)} records received)")
        batch = nxt


class _NoAnswer(TransferError):
    """The server closed the connection without answering (some do so for IXFR)."""


def _zone(origin: Name, records: Iterable[RR]) -> Zone:
    try:
        return Zone.from_records(origin, records)
    except ValueError as exc:  # ZoneError is a ValueError
        raise TransferError(f"transferred zone {origin} is not valid: {exc}") from exc


async def _first_records(stream: _Stream) -> tuple[RR, list[RR]]:
    batch = await stream.next_message()
    while batch is not None and not batch:
        batch = await stream.next_message()
    if batch is None:
        raise _NoAnswer(f"server closed the transfer of {stream.origin} without an answer")
    first = batch[0]
    if not _is_apex_soa(first, stream.origin):
        raise TransferError(f"transfer of {stream.origin} does not start with its SOA: "
                            f"{first}")
    return first, batch[1:]


async def axfr(server: tuple[str, int], origin: Name | str, *, timeout: float = 30.0,
               max_records: int = 1_000_000, max_messages: int = 1_000_000) -> Zone:
    """Fetch a whole zone from ``server`` (host, port) by AXFR over TCP.

    Raises :class:`TransferError` (carrying the server's RCODE if it answered with an
    error) when the transfer is refused, malformed or over a limit, and
    :class:`TransferTimeout` when it takes longer than ``timeout`` seconds in all.
    """
    name = _origin(origin)
    query = Message(id=_new_id(), questions=(Question(name, RRType.AXFR),))
    try:
        async with asyncio.timeout(timeout):
            async with _tcp(server) as (reader, writer):
                await _send(writer, query)
                stream = _Stream(reader, query, name, max_records, max_messages)
                first, rest = await _first_records(stream)
                return await _collect_axfr(stream, first, rest)
    except TimeoutError as exc:
        if isinstance(exc, TransferError):
            raise
        raise TransferTimeout(f"AXFR of {name} from {server[0]}#{server[1]} took longer "
                              f"than {timeout} s") from exc
    except OSError as exc:
        raise TransferError(f"AXFR of {name} from {server[0]}#{server[1]}: {exc}") from exc


_LONE_SOA_WAIT = 3.0


async def _next_nonempty(stream: _Stream) -> list[RR] | None:
    nxt = await stream.next_message()
    while nxt is not None and not nxt:
        nxt = await stream.next_message()
    return nxt


class _Incremental(TransferError):
    """The IXFR stream cannot be applied to our copy (so a full transfer is needed)."""


def _apply(current: Zone, sequences: list[tuple[RR, list[RR], RR, list[RR]]],
           final: RR) -> Zone:
    """Apply IXFR difference sequences (old SOA, deletions, new SOA, additions) in order."""
    key = _rr_key
    records: dict[Any, RR] = {key(rr): rr for rr in current.records if rr.rtype != RRType.SOA}
    serial = current.serial
    for old_soa, deletions, new_soa, additions in sequences:
        if _soa_serial(old_soa) != serial:
            raise _Incremental(f"IXFR difference starts at serial {_soa_serial(old_soa)}, "
                               f"the copy is at {serial}")
        for rr in deletions:
            if records.pop(key(rr), None) is None:
                raise _Incremental(f"IXFR deletes a record the copy does not hold: {rr}")
        for rr in additions:
            records[key(rr)] = rr
        serial = _soa_serial(new_soa)
    if serial != _soa_serial(final):
        raise _Incremental(f"IXFR ends at serial {serial}, announced {_soa_serial(final)}")
    return _zone(current.origin, [final, *records.values()])


def _rr_key(rr: RR) -> tuple[Name, int, int, Any]:
    return (rr.name, rr.rtype, rr.rclass, rr.rdata)


async def _collect_ixfr(stream: _Stream, current: Zone, first: RR, rest: list[RR]) -> Zone:
    """Read the incremental form (RFC 1995 §4) after its first SOA and apply it."""
    origin = stream.origin
    final_serial = _soa_serial(first)
    sequences: list[tuple[RR, list[RR], RR, list[RR]]] = []
    old_soa: RR | None = None
    new_soa: RR | None = None
    deletions: list[RR] = []
    additions: list[RR] = []
    state = "start"  # start -> deleting -> adding -> deleting ... -> done
    batch = rest
    while True:
        for i, rr in enumerate(batch):
            if state == "done":
                raise TransferError(f"records after the closing SOA of the IXFR of {origin}")
            is_soa = _is_apex_soa(rr, origin)
            if rr.rtype == RRType.SOA and not is_soa:
                raise TransferError(f"SOA outside the apex in the IXFR of {origin}: {rr}")
            if state == "start":
                if not is_soa:
                    raise TransferError(f"IXFR of {origin}: no SOA to open a difference")
                old_soa, deletions, state = rr, [], "deleting"
            elif state == "deleting":
                if is_soa:
                    new_soa, additions, state = rr, [], "adding"
                else:
                    deletions.append(rr)
            else:  # adding
                if is_soa:
                    assert old_soa is not None and new_soa is not None
                    sequences.append((old_soa, deletions, new_soa, additions))
                    if (_soa_serial(rr) == final_serial
                            and _soa_serial(new_soa) == final_serial):
                        state = "done"
                        if i != len(batch) - 1:
                            raise TransferError(
                                f"records after the closing SOA of the IXFR of {origin}")
                    else:
                        old_soa, deletions, state = rr, [], "deleting"
                else:
                    additions.append(rr)
        if state == "done":
            return _apply(current, sequences, first)
        nxt = await stream.next_message()
        if nxt is None:
            raise TransferError(f"IXFR of {origin} ended before its closing SOA")
        batch = nxt


async def ixfr(server: tuple[str, int], current: Zone, *, timeout: float = 30.0,
               max_records: int = 1_000_000, max_messages: int = 1_000_000) -> Zone:
    """Bring ``current`` up to date from ``server`` by IXFR over TCP.

    Returns ``current`` itself when the server says it is up to date (a lone SOA not newer
    than ours). The server may answer with the differences (applied here, serial by
    serial) or with the whole zone. When it answers NOTIMP, REFUSED or FORMERR, closes
    after a newer lone SOA, or sends differences that do not apply to our copy, the zone is
    fetched by AXFR instead, within the same overall ``timeout``; also when it closes the
    connection without answering (what some servers without IXFR do).
    """
    origin = current.origin
    query = Message(id=_new_id(), questions=(Question(origin, RRType.IXFR),),
                    authority=(current.soa,))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    where = f"{server[0]}#{server[1]}"
    try:
        async with asyncio.timeout_at(deadline):
            try:
                async with _tcp(server) as (reader, writer):
                    await _send(writer, query)
                    stream = _Stream(reader, query, origin, max_records, max_messages)
                    first, rest = await _first_records(stream)
                    new_serial = _soa_serial(first)
                    if not rest:
                        # A lone SOA: up to date if not newer; otherwise more may follow.
                        if stream.messages == 1 and serial_compare(new_serial,
                                                                   current.serial) <= 0:
                            nxt = None
                        else:
                            # A server that splits one record per message sends more;
                            # one that has nothing more to say gets a short wait only.
                            wait = min(_LONE_SOA_WAIT, (deadline - loop.time()) / 2)
                            try:
                                nxt = await asyncio.wait_for(_next_nonempty(stream), wait)
                            except TimeoutError:
                                nxt = None
                            if nxt is None and serial_compare(new_serial, current.serial) > 0:
                                raise _Incremental(f"IXFR of {origin}: a lone newer SOA")
                        if nxt is None:
                            return current
                        rest = nxt
                    second = rest[0]
                    if (_is_apex_soa(second, origin) and _soa_serial(second) != new_serial):
                        return await _collect_ixfr(stream, current, first, rest)
                    return await _collect_axfr(stream, first, rest)
            except TransferError as exc:
                if (not isinstance(exc, (_Incremental, _NoAnswer))
                        and exc.rcode not in _IXFR_FALLBACK):
                    raise
            remaining = max(0.001, deadline - loop.time())
            return await axfr(server, origin, timeout=remaining, max_records=max_records,
                              max_messages=max_messages)
    except TimeoutError as exc:
        if isinstance(exc, TransferError):
            raise
        raise TransferTimeout(f"IXFR of {origin} from {where} took longer than {timeout} s") \
            from exc
    except OSError as exc:
        raise TransferError(f"IXFR of {origin} from {where}: {exc}") from exc


class _SOAProtocol(asyncio.DatagramProtocol):
    def __init__(self, query: Message, peer: tuple[str, int]) -> None:
        self.query = query
        self.peer = peer
        self.answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.answer.done():
            return
        try:
            message = Message.from_wire(data)
        except DNSFormatError:
            return  # not an answer to us; keep waiting
        if message.id != self.query.id or not message.qr:
            return
        if message.questions != self.query.questions:
            return
        self.answer.set_result(message)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(TransferError(f"SOA query to {self.peer}: {exc}"))


async def query_soa(server: tuple[str, int], origin: Name | str, *, timeout: float = 5.0,
                    tries: int = 3) -> RR:
    """Ask ``server`` for the SOA of ``origin`` (UDP, ``tries`` sends spread over
    ``timeout``; over TCP if the answer is truncated). Returns the SOA record, which must
    be authoritative (AA) and at the apex; raises :class:`TransferError` otherwise."""
    name = _origin(origin)
    query = Message(id=_new_id(), questions=(Question(name, RRType.SOA),))
    wire = query.to_wire()
    loop = asyncio.get_running_loop()
    per_try = timeout / max(1, tries)
    family = 10 if _host_family(server[0]) == 6 else 2  # AF_INET6 / AF_INET
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _SOAProtocol(query, server), remote_addr=server, family=family)
    except OSError as exc:
        raise TransferError(f"SOA query to {server[0]}#{server[1]}: {exc}") from exc
    try:
        response: Message | None = None
        for _ in range(max(1, tries)):
            transport.sendto(wire)
            try:
                response = await asyncio.wait_for(asyncio.shield(protocol.answer), per_try)
                break
            except TimeoutError:
                continue
        if response is None:
            raise TransferTimeout(f"no answer to the SOA query for {name} from "
                                  f"{server[0]}#{server[1]} in {timeout} s")
    finally:
        transport.close()
        if not protocol.answer.done():
            protocol.answer.cancel()
    if response.tc:
        response = await _query_tcp(server, query, timeout)
    return _soa_from(response, name, server)


async def _query_tcp(server: tuple[str, int], query: Message, timeout: float) -> Message:
    try:
        async with asyncio.timeout(timeout):
            async with _tcp(server) as (reader, writer):
                await _send(writer, query)
                response = await _receive(reader)
    except TimeoutError as exc:
        raise TransferTimeout(f"no answer over TCP from {server[0]}#{server[1]}") from exc
    except OSError as exc:
        raise TransferError(f"query to {server[0]}#{server[1]}: {exc}") from exc
    if response is None:
        raise TransferError(f"{server[0]}#{server[1]} closed without answering")
    if response.id != query.id or not response.qr:
        raise TransferError(f"{server[0]}#{server[1]} answered another query")
    return response


def _soa_from(response: Message, name: Name, server: tuple[str, int]) -> RR:
    where = f"{server[0]}#{server[1]}"
    if response.rcode != Rcode.NOERROR:
        try:
            text = Rcode(response.rcode).name
        except ValueError:
            text = str(response.rcode)
        raise TransferError(f"{where} answered {text} to the SOA query for {name}",
                            response.rcode)
    if not response.aa:
        raise TransferError(f"{where} is not authoritative for {name}")
    for rr in response.answers:
        if _is_apex_soa(rr, name):
            return rr
    raise TransferError(f"{where} sent no SOA for {name}")
