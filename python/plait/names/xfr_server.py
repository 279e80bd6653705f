"""Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) answered from a catalog.

Why here and not in the native authority: a transfer is many messages on one TCP stream,
paced by the client, and allowed only to some networks. The records come from the
:class:`~plait.names.zone.Zone` values of a :class:`~plait.names.catalog.ZoneCatalog`.

Over TCP both AXFR and IXFR get the whole zone: SOA, every record, SOA again, in messages of
at most :data:`MAX_MESSAGE` bytes with compressed names (IXFR answered this way is allowed
by RFC 1995 §4). Over UDP an IXFR gets the SOA alone ("use TCP", RFC 1995 §2) and an AXFR
is REFUSED. Clients outside the allow-list are REFUSED; a zone we do not hold is NOTAUTH.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from .catalog import ZoneCatalog
from .constants import Rcode, RRType
from .errors import DNSRenderError
from .message import RR, Message
from .zone import Zone

__all__ = ["DEFAULT_ALLOW", "MAX_MESSAGE", "XfrServer", "error_response"]

DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
MAX_MESSAGE = 65535
_QR, _AA, _RD = 0x8000, 0x0400, 0x0100
_FIRST_BATCH = 256
_MAX_BATCH = 8192

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def error_response(query: Message, rcode: int) -> Message:
    """The reply to ``query`` carrying only ``rcode`` (question and opcode kept)."""
    flags = _QR | (query.flags & (0x7800 | _RD))
    return Message(id=query.id, flags=flags, rcode=rcode, questions=query.questions[:1],
                   edns=None if query.edns is None else type(query.edns)())


def parse_networks(allow: Sequence[str]) -> tuple[Network, ...]:
    """``("10.0.0.0/8", "::1")`` as networks; ValueError names a bad one."""
    out = []
    for text in allow:
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"bad network {text!r} in the transfer allow-list") from None
    return tuple(out)


class XfrServer:
    """Answers AXFR and IXFR queries from ``catalog`` to peers in ``allow``."""

    def __init__(self, catalog: ZoneCatalog, allow: Sequence[str] = DEFAULT_ALLOW) -> None:
        self.catalog = catalog
        self.allow = parse_networks(allow)

    def allowed(self, host: str) -> bool:
        """Whether a peer at ``host`` may transfer zones."""
        try:
            addr = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.allow)

    def responses(self, query: Message, peer: tuple[str, int] | tuple[str, int, int, int],
                  tcp: bool) -> Iterator[bytes]:
        """The wire messages that answer the transfer ``query`` from ``peer``, in order."""
        question = query.questions[0]
        if not tcp and question.rtype == RRType.AXFR:
            yield error_response(query, Rcode.REFUSED).to_wire()
            return
        if not self.allowed(str(peer[0])):
            yield error_response(query, Rcode.REFUSED).to_wire()
            return
        zone = self.catalog.get(question.name)
        if zone is None:
            yield error_response(query, Rcode.NOTAUTH).to_wire()
            return
        if not tcp:
            # IXFR over UDP: the SOA alone tells the client to come back over TCP.
            yield self._message(query, (zone.soa,), True).to_wire(512)
            return
        yield from self.transfer(query, zone)

    def transfer(self, query: Message, zone: Zone) -> Iterator[bytes]:
        """``zone`` as AXFR messages of at most :data:`MAX_MESSAGE` bytes each."""
        records: list[RR] = [*zone.records, zone.soa]
        pos = 0
        batch = _FIRST_BATCH
        first = True
        while pos < len(records):
            n = min(batch, len(records) - pos)
            while True:
                wire = self._message(query, tuple(records[pos:pos + n]), first).to_wire()
                if len(wire) <= MAX_MESSAGE:
                    break
                if n == 1:
                    raise DNSRenderError(f"record too large for a transfer: {records[pos]}")
                n //= 2
            yield wire
            pos += n
            first = False
            # Grow the batch while messages stay under half the limit, shrink it when not.
            batch = min(n * 2, _MAX_BATCH) if len(wire) < MAX_MESSAGE // 2 else max(n, 1)

    @staticmethod
    def _message(query: Message, answers: tuple[RR, ...], first: bool) -> Message:
        return Message(id=query.id, flags=_QR | _AA | (query.flags & 0x7800),
                       questions=query.questions[:1] if first else (), answers=answers)
