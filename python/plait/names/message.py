"""DNS messages: :class:`Message`, :class:`Question`, :class:`RR`, :class:`Edns`.

``Message.from_wire(data)`` parses with the native codec (``plait._native.DnsDecoder``, which
builds the objects below directly) and ``msg.to_wire(max_size=None)`` renders with it,
compressing names and truncating cleanly.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from plait._native import DnsDecoder, dns_render

from .constants import Opcode, Rcode, RRClass, class_to_text, type_to_text
from .errors import DNSRenderError
from .name import Name
from .rdata import RDATA_CLASSES, Opaque, RData

__all__ = ["RR", "Edns", "Message", "Question"]

_QR, _AA, _TC, _RD, _RA, _AD, _CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
_DO = 0x8000


@dataclass(frozen=True, slots=True)
class Question:
    """An entry of the question section."""

    name: Name
    rtype: int
    rclass: int = RRClass.IN

    def __str__(self) -> str:
        return f"{self.name} {class_to_text(self.rclass)} {type_to_text(self.rtype)}"


@dataclass(frozen=True, slots=True)
class RR:
    """A resource record. ``str(rr)`` is its zone-file line."""

    name: Name
    rtype: int
    rclass: int
    ttl: int
    rdata: RData

    @classmethod
    def make(cls, name: Name | str, rdata: RData, ttl: int = 3600,
             rclass: int = RRClass.IN) -> RR:
        """A record whose type is taken from ``rdata``."""
        if isinstance(name, str):
            name = Name.from_text(name)
        return cls(name, rdata.type_code(), rclass, ttl, rdata)

    @classmethod
    def from_text(cls, line: str, origin: Name | str | None = None,
                  default_ttl: int | None = None) -> RR:
        """A record from its zone-file line (see :func:`plait.names.zonefile.rr_from_text`)."""
        from .zonefile import rr_from_text
        return rr_from_text(line, origin, default_ttl)

    def __str__(self) -> str:
        return (f"{self.name} {self.ttl} {class_to_text(self.rclass)} "
                f"{type_to_text(self.rtype)} {self.rdata.to_text()}")


@dataclass(frozen=True, slots=True)
class Edns:
    """EDNS0 parameters (the OPT pseudo-record, RFC 6891); options as ``(code, data)``."""

    udp_size: int = 1232
    version: int = 0
    flags: int = 0
    options: tuple[tuple[int, bytes], ...] = ()

    @property
    def dnssec_ok(self) -> bool:
        """The DO bit."""
        return bool(self.flags & _DO)


def _native_records(records: tuple[RR, ...]) -> list[tuple[Any, ...]]:
    return [(r.name.wire, r.rtype, r.rclass, r.ttl, r.rdata._to_native()) for r in records]


@dataclass(frozen=True, slots=True)
class Message:
    """A whole DNS message.

    ``flags`` is the header's second word without the RCODE bits (see the properties for
    each flag); ``rcode`` is the full response code, extended bits included (they travel in
    the OPT record, which is ``edns`` here, never in ``additional``).
    """

    id: int = 0
    flags: int = 0
    rcode: int = Rcode.NOERROR
    questions: tuple[Question, ...] = ()
    answers: tuple[RR, ...] = ()
    authority: tuple[RR, ...] = ()
    additional: tuple[RR, ...] = ()
    edns: Edns | None = None

    @classmethod
    def from_wire(cls, data: bytes | bytearray | memoryview) -> Message:
        """Parse a message. Raises :class:`~plait.names.errors.DNSFormatError`.

        The native decoder builds the Message, its records and their data directly (see
        ``DnsDecoder`` in ``native/pyext/src/dns/build.rs``). Equal names within a message
        are one Name object; names, address text and EDNS records that recur from message to
        message are shared too (bounded tables, ``native/pyext/src/dns/intern.rs``), which
        is safe because they are immutable. (Replaced below by the decoder's method itself.)
        """
        return _parse(data)  # type: ignore[no-any-return]

    def to_wire(self, max_size: int | None = None) -> bytes:
        """Render the message, names compressed.

        With ``max_size`` (512 for plain UDP, or the EDNS payload size), whole RRsets are
        dropped from the end, additional first, and TC is set if an answer or authority
        RRset had to go. Raises :class:`~plait.names.errors.DNSRenderError`.
        """
        e = self.edns
        try:
            return dns_render(
                self.id, self.flags, self.rcode,
                [(q.name.wire, q.rtype, q.rclass) for q in self.questions],
                _native_records(self.answers), _native_records(self.authority),
                _native_records(self.additional),
                None if e is None else (e.udp_size, e.version, e.flags, list(e.options)),
                max_size,
            )
        except (ValueError, TypeError, OverflowError) as exc:
            raise DNSRenderError(str(exc)) from exc

    @classmethod
    def make_query(cls, name: Name | str, rtype: int, rclass: int = RRClass.IN, *,
                   id: int = 0, rd: bool = True, edns: Edns | None = None) -> Message:
        """A query for one question."""
        if isinstance(name, str):
            name = Name.from_text(name)
        return cls(id=id, flags=_RD if rd else 0, questions=(Question(name, rtype, rclass),),
                   edns=edns)

    def with_flags(self, **flags: bool) -> Message:
        """A copy with the named flags (qr, aa, tc, rd, ra, ad, cd) set or cleared."""
        bits = {"qr": _QR, "aa": _AA, "tc": _TC, "rd": _RD, "ra": _RA, "ad": _AD, "cd": _CD}
        value = self.flags
        for key, on in flags.items():
            value = value | bits[key] if on else value & ~bits[key]
        return replace(self, flags=value)

    @property
    def opcode(self) -> int:
        """The opcode (see :class:`~plait.names.constants.Opcode`)."""
        return (self.flags >> 11) & 0xF

    @property
    def qr(self) -> bool:
        """A response."""
        return bool(self.flags & _QR)

    @property
    def aa(self) -> bool:
        """Authoritative answer."""
        return bool(self.flags & _AA)

    @property
    def tc(self) -> bool:
        """Truncated."""
        return bool(self.flags & _TC)

    @property
    def rd(self) -> bool:
        """Recursion desired."""
        return bool(self.flags & _RD)

    @property
    def ra(self) -> bool:
        """Recursion available."""
        return bool(self.flags & _RA)

    @property
    def ad(self) -> bool:
        """Authentic data."""
        return bool(self.flags & _AD)

    @property
    def cd(self) -> bool:
        """Checking disabled."""
        return bool(self.flags & _CD)

    def __str__(self) -> str:
        opcode = Opcode(self.opcode).name if self.opcode in set(Opcode) else str(self.opcode)
        rcode = Rcode(self.rcode).name if self.rcode in set(Rcode) else str(self.rcode)
        flags = " ".join(f for f in ("qr", "aa", "tc", "rd", "ra", "ad", "cd") if getattr(self, f))
        lines = [f";; id {self.id} opcode {opcode} rcode {rcode} flags {flags}"]
        for title, section in (("QUESTION", self.questions), ("ANSWER", self.answers),
                               ("AUTHORITY", self.authority), ("ADDITIONAL", self.additional)):
            if section:
                lines.append(f";; {title}")
                lines.extend(str(x) for x in section)
        return "\n".join(lines)


_parse = DnsDecoder(
    {"Name": Name, "Message": Message, "Question": Question, "RR": RR, "Edns": Edns,
     "Opaque": Opaque},
    RDATA_CLASSES,
).parse
# The decoder's method itself, without a Python frame in between (a parse is a few
# microseconds, so the frame would be a measurable part of it). It returns a Message.
Message.from_wire = staticmethod(_parse)  # type: ignore[method-assign, assignment]
