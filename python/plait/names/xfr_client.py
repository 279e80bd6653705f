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

__all__ = ["TransferReader", "axfr", "ixfr", "query_soa", "serial_compare"]

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


class _NoAnswer(TransferError):
    """The server closed the connection without answering (some do so for IXFR)."""


class _Incremental(TransferError):
    """The IXFR answer cannot be applied to our copy (so a full transfer is needed)."""


def _zone(origin: Name, records: Iterable[RR]) -> Zone:
    try:
        return Zone.from_records(origin, records)
    except ValueError as exc:  # ZoneError is a ValueError
        raise TransferError(f"transferred zone {origin} is not valid: {exc}") from exc


def _rr_key(rr: RR) -> tuple[Name, int, int, Any]:
    return (rr.name, rr.rtype, rr.rclass, rr.rdata)


_Sequence = tuple[RR, list[RR], RR, list[RR]]  # old SOA, deletions, new SOA, additions


class TransferReader:
    """The sans-IO half of a transfer in: feed it the response messages of one AXFR or
    IXFR ``query`` in order (:meth:`receive`), tell it when the stream ends
    (:meth:`end_of_stream`), and take :meth:`result` once ``done``.

    ``current`` is the copy an IXFR starts from. The reader checks each message (id,
    response bit, opcode, RCODE, TC, question) and each record (class IN, inside the zone),
    enforces ``max_records`` and ``max_messages``, recognises the three IXFR answers (a lone
    SOA, the incremental form, the AXFR form) and applies differences serial by serial.
    """

    def __init__(self, query: Message, *, current: Zone | None = None,
                 max_records: int = 1_000_000, max_messages: int = 1_000_000) -> None:
        self.query = query
        self.origin = query.questions[0].name
        self.ixfr = query.questions[0].rtype == RRType.IXFR
        if self.ixfr and current is None:
            raise ValueError("an IXFR needs the current copy of the zone")
        self.current = current
        self.max_records = max_records
        self.max_messages = max_messages
        self.messages = 0
        self.records = 0
        self.done = False
        self._state = "first"    # first, second, axfr, deleting, adding, done
        self._first: RR | None = None
        self._soa_message = 0    # the message that brought the first SOA
        self._final = 0          # the serial the transfer brings us to
        self._kept: list[RR] = []  # AXFR form: the zone's records
        self._sequences: list[_Sequence] = []
        self._old: RR | None = None
        self._new: RR | None = None
        self._deletions: list[RR] = []
        self._additions: list[RR] = []
        self._result: Zone | None = None

    @property
    def lone_newer_soa(self) -> bool:
        """An IXFR answered so far by a newer SOA alone: more should follow, but a server
        with nothing more to say may just stop (the caller waits briefly, then falls back)."""
        return self.ixfr and self._state == "second"

    def receive(self, message: Message) -> bool:
        """Take the next response message; True once the transfer is complete."""
        if self.done:
            raise TransferError(f"message after the end of the transfer of {self.origin}")
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
            if self._state == "done":
                raise TransferError(f"records after the closing SOA of {self.origin}")
            self._record(rr)
        if self._state == "second" and self._soa_message == self.messages:
            assert self.current is not None
            if serial_compare(self._final, self.current.serial) <= 0:
                self._finish(self.current)  # a lone SOA not newer than ours: up to date
        return self.done

    def end_of_stream(self) -> None:
        """The server closed the connection: an error unless the transfer is complete."""
        if self.done:
            return
        if self._state == "first":
            raise _NoAnswer(f"server closed the transfer of {self.origin} without an answer")
        if self.lone_newer_soa:
            raise _Incremental(f"IXFR of {self.origin}: a lone newer SOA")
        raise TransferError(f"transfer of {self.origin} ended before its closing SOA "
                            f"({self.records} records received)")

    def result(self) -> Zone:
        """The transferred zone (``current`` itself when an IXFR found it up to date)."""
        if self._result is None:
            raise TransferError(f"transfer of {self.origin} is not complete")
        return self._result

    def _finish(self, zone: Zone) -> None:
        self._result = zone
        self._state = "done"
        self.done = True

    def _record(self, rr: RR) -> None:
        origin = self.origin
        soa = _is_apex_soa(rr, origin)
        if rr.rtype == RRType.SOA and not soa:
            raise TransferError(f"SOA outside the apex in the transfer of {origin}: {rr}")
        state = self._state
        if state == "first":
            if not soa:
                raise TransferError(f"transfer of {origin} does not start with its SOA: {rr}")
            self._first, self._final = rr, _soa_serial(rr)
            self._soa_message = self.messages
            self._kept = [rr]
            self._state = "second" if self.ixfr else "axfr"
        elif state == "second":
            if soa and _soa_serial(rr) != self._final:
                self._state = "deleting"  # the incremental form: a difference opens
                self._old, self._deletions = rr, []
            else:
                self._state = "axfr"
                self._axfr(rr, soa)
        elif state == "axfr":
            self._axfr(rr, soa)
        elif state == "deleting":
            if soa:
                self._new, self._additions, self._state = rr, [], "adding"
            else:
                self._deletions.append(rr)
        elif soa:  # adding, and an SOA ends this difference
            assert self._old is not None and self._new is not None
            self._sequences.append((self._old, self._deletions, self._new, self._additions))
            if _soa_serial(rr) == self._final and _soa_serial(self._new) == self._final:
                assert self.current is not None and self._first is not None
                self._finish(_apply(self.current, self._sequences, self._first))
            else:
                self._old, self._deletions, self._state = rr, [], "deleting"
        else:
            self._additions.append(rr)

    def _axfr(self, rr: RR, soa: bool) -> None:
        if not soa:
            self._kept.append(rr)
            return
        if _soa_serial(rr) != self._final:
            raise TransferError(f"transfer of {self.origin} closed with serial "
                                f"{_soa_serial(rr)}, opened with {self._final}")
        self._finish(_zone(self.origin, self._kept))


def _apply(current: Zone, sequences: list[_Sequence], final: RR) -> Zone:
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


# How long an IXFR waits, after a lone newer SOA, for the rest before asking for AXFR.
_LONE_SOA_WAIT = 3.0


async def _run(server: tuple[str, int], reader: TransferReader, deadline: float) -> Zone:
    """Send the reader's query over TCP and feed it the responses until it is done."""
    loop = asyncio.get_running_loop()
    async with _tcp(server) as (stream, writer):
        await _send(writer, reader.query)
        while not reader.done:
            if reader.lone_newer_soa:
                wait = min(_LONE_SOA_WAIT, (deadline - loop.time()) / 2)
                try:
                    message = await asyncio.wait_for(_receive(stream), wait)
                except TimeoutError:
                    message = None
            else:
                message = await _receive(stream)
            if message is None:
                reader.end_of_stream()
                break
            reader.receive(message)
    return reader.result()


async def axfr(server: tuple[str, int], origin: Name | str, *, timeout: float = 30.0,
               max_records: int = 1_000_000, max_messages: int = 1_000_000) -> Zone:
    """Fetch a whole zone from ``server`` (host, port) by AXFR over TCP.

    Raises :class:`TransferError` (carrying the server's RCODE if it answered with an
    error) when the transfer is refused, malformed or over a limit, and
    :class:`TransferTimeout` when it takes longer than ``timeout`` seconds in all.
    """
    name = _origin(origin)
    query = Message(id=_new_id(), questions=(Question(name, RRType.AXFR),))
    reader = TransferReader(query, max_records=max_records, max_messages=max_messages)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            return await _run(server, reader, deadline)
    except TimeoutError as exc:
        if isinstance(exc, TransferError):
            raise
        raise TransferTimeout(f"AXFR of {name} from {server[0]}#{server[1]} took longer "
                              f"than {timeout} s") from exc
    except OSError as exc:
        raise TransferError(f"AXFR of {name} from {server[0]}#{server[1]}: {exc}") from exc


async def ixfr(server: tuple[str, int], current: Zone, *, timeout: float = 30.0,
               max_records: int = 1_000_000, max_messages: int = 1_000_000) -> Zone:
    """Bring ``current`` up to date from ``server`` by IXFR over TCP.

    Returns ``current`` itself when the server says it is up to date (a lone SOA not newer
    than ours). The server may answer with the differences (applied here, serial by
    serial) or with the whole zone. When it answers NOTIMP, REFUSED or FORMERR, sends a
    newer lone SOA and nothing more, sends differences that do not apply to our copy, or
    closes the connection without answering (what some servers without IXFR do), the zone
    is fetched by AXFR instead, within the same overall ``timeout``.
    """
    origin = current.origin
    query = Message(id=_new_id(), questions=(Question(origin, RRType.IXFR),),
                    authority=(current.soa,))
    reader = TransferReader(query, current=current, max_records=max_records,
                            max_messages=max_messages)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    where = f"{server[0]}#{server[1]}"
    try:
        async with asyncio.timeout_at(deadline):
            try:
                return await _run(server, reader, deadline)
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
