"""Typed record data (RDATA) for the common types, and :class:`Opaque` for every other.

Each class is a frozen dataclass of the fields in wire order; ``to_text()`` gives the
zone-file (presentation) form. Names are :class:`~plait.names.name.Name`, addresses text,
character-strings and binary fields ``bytes``.
"""
from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from operator import attrgetter
from typing import Any, ClassVar, TypeAlias

from .constants import RRType, SvcParamKey, rcode_to_text, type_to_text
from .name import Name

__all__ = [
    "AAAA", "AFSDB", "CAA", "CNAME", "DNAME", "DNSKEY", "DS", "HINFO", "HTTPS", "MX", "NAPTR",
    "NS", "NSEC", "NSEC3", "NSEC3PARAM", "PTR", "RDATA_CLASSES", "RP", "RRSIG", "SOA", "SPF",
    "SRV", "SSHFP", "SVCB", "TLSA", "TSIG", "TXT", "A", "Opaque", "RData", "SvcValue",
    "svc_key_to_text",
]


def quote(data: bytes) -> str:
    """A character-string in quotes, ``"`` and ``\\`` escaped, non-printables as ``\\DDD``."""
    out = []
    for c in data:
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return '"' + "".join(out) + '"'


def _hex(data: bytes) -> str:
    return data.hex().upper() if data else "-"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sigtime(t: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def _types(types: tuple[int, ...]) -> str:
    return " ".join(type_to_text(t) for t in types)


@dataclass(frozen=True, slots=True)
class RData:
    """Base of record data."""

    RTYPE: ClassVar[int] = 0
    _NAMES: ClassVar[tuple[int, ...]] = ()  # indices of fields that hold Names

    def type_code(self) -> int:
        """The record type this data belongs to."""
        return self.RTYPE

    def _to_native(self) -> tuple[Any, ...] | bytes:
        values: tuple[Any, ...] = _GETTERS[type(self)](self)
        if self._NAMES:
            fields = list(values)
            for i in self._NAMES:
                fields[i] = fields[i].wire
            return tuple(fields)
        return values

    @classmethod
    def from_text(cls, text: str, origin: Name | str | None = None) -> RData:
        """The data of this class from its presentation form (``\\# LEN HEX`` allowed)."""
        from .zonefile import rdata_from_text
        if not cls.RTYPE:
            raise TypeError(f"{cls.__name__} has no type of its own: use rdata_from_text")
        return rdata_from_text(cls.RTYPE, text, origin)

    def _values(self) -> list[Any]:
        slots: tuple[str, ...] = self.__match_args__  # type: ignore[attr-defined]
        return [getattr(self, f) for f in slots]

    def to_text(self) -> str:
        """Presentation form of the data (what follows the type in a zone file)."""
        return " ".join(str(v) for v in self._values())

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True, slots=True)
class A(RData):
    """IPv4 address."""

    RTYPE = RRType.A
    address: str

    def _to_native(self) -> tuple[Any, ...] | bytes:
        return (self.address,)


@dataclass(frozen=True, slots=True)
class AAAA(RData):
    """IPv6 address."""

    RTYPE = RRType.AAAA
    address: str

    def _to_native(self) -> tuple[Any, ...] | bytes:
        return (self.address,)


@dataclass(frozen=True, slots=True)
class _OneName(RData):
    """Data that is one name."""

    target: Name

    def _to_native(self) -> tuple[Any, ...] | bytes:
        return (self.target.wire,)


@dataclass(frozen=True, slots=True)
class NS(_OneName):
    """Authoritative name server."""

    RTYPE = RRType.NS


@dataclass(frozen=True, slots=True)
class CNAME(_OneName):
    """Canonical name (alias target)."""

    RTYPE = RRType.CNAME


@dataclass(frozen=True, slots=True)
class DNAME(_OneName):
    """Delegation of a subtree's names (RFC 6672)."""

    RTYPE = RRType.DNAME


@dataclass(frozen=True, slots=True)
class PTR(_OneName):
    """Domain name pointer."""

    RTYPE = RRType.PTR


@dataclass(frozen=True, slots=True)
class SOA(RData):
    """Start of a zone of authority."""

    RTYPE = RRType.SOA
    _NAMES = (0, 1)
    mname: Name
    rname: Name
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


@dataclass(frozen=True, slots=True)
class MX(RData):
    """Mail exchange."""

    RTYPE = RRType.MX
    _NAMES = (1,)
    preference: int
    exchange: Name


@dataclass(frozen=True, slots=True)
class TXT(RData):
    """Text: one or more character-strings."""

    RTYPE = RRType.TXT
    strings: tuple[bytes, ...]

    def _to_native(self) -> tuple[Any, ...] | bytes:
        return (self.strings,)

    def to_text(self) -> str:
        return " ".join(quote(s) for s in self.strings)


@dataclass(frozen=True, slots=True)
class SPF(TXT):
    """Sender policy (RFC 4408; the same shape as TXT)."""

    RTYPE = RRType.SPF


@dataclass(frozen=True, slots=True)
class SRV(RData):
    """Service location (RFC 2782)."""

    RTYPE = RRType.SRV
    _NAMES = (3,)
    priority: int
    weight: int
    port: int
    target: Name


@dataclass(frozen=True, slots=True)
class NAPTR(RData):
    """Naming authority pointer (RFC 3403)."""

    RTYPE = RRType.NAPTR
    _NAMES = (5,)
    order: int
    preference: int
    flags: bytes
    services: bytes
    regexp: bytes
    replacement: Name

    def to_text(self) -> str:
        return (f"{self.order} {self.preference} {quote(self.flags)} {quote(self.services)} "
                f"{quote(self.regexp)} {self.replacement}")


@dataclass(frozen=True, slots=True)
class HINFO(RData):
    """Host information."""

    RTYPE = RRType.HINFO
    cpu: bytes
    os: bytes

    def to_text(self) -> str:
        return f"{quote(self.cpu)} {quote(self.os)}"


@dataclass(frozen=True, slots=True)
class RP(RData):
    """Responsible person (RFC 1183)."""

    RTYPE = RRType.RP
    _NAMES = (0, 1)
    mbox: Name
    txt: Name


@dataclass(frozen=True, slots=True)
class AFSDB(RData):
    """AFS database location (RFC 1183)."""

    RTYPE = RRType.AFSDB
    _NAMES = (1,)
    subtype: int
    hostname: Name


@dataclass(frozen=True, slots=True)
class SSHFP(RData):
    """SSH key fingerprint (RFC 4255)."""

    RTYPE = RRType.SSHFP
    algorithm: int
    fp_type: int
    fingerprint: bytes

    def to_text(self) -> str:
        return f"{self.algorithm} {self.fp_type} {_hex(self.fingerprint)}"


@dataclass(frozen=True, slots=True)
class TLSA(RData):
    """TLS certificate association (RFC 6698)."""

    RTYPE = RRType.TLSA
    usage: int
    selector: int
    mtype: int
    data: bytes

    def to_text(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {_hex(self.data)}"


@dataclass(frozen=True, slots=True)
class CAA(RData):
    """Certification authority authorization (RFC 8659)."""

    RTYPE = RRType.CAA
    flags: int
    tag: bytes
    value: bytes

    def to_text(self) -> str:
        return f"{self.flags} {self.tag.decode('ascii', 'replace')} {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class DS(RData):
    """Delegation signer (RFC 4034)."""

    RTYPE = RRType.DS
    key_tag: int
    algorithm: int
    digest_type: int
    digest: bytes

    def to_text(self) -> str:
        return f"{self.key_tag} {self.algorithm} {self.digest_type} {_hex(self.digest)}"


@dataclass(frozen=True, slots=True)
class DNSKEY(RData):
    """DNSSEC public key (RFC 4034)."""

    RTYPE = RRType.DNSKEY
    flags: int
    protocol: int
    algorithm: int
    key: bytes

    def to_text(self) -> str:
        return f"{self.flags} {self.protocol} {self.algorithm} {_b64(self.key)}"


@dataclass(frozen=True, slots=True)
class RRSIG(RData):
    """DNSSEC signature (RFC 4034)."""

    RTYPE = RRType.RRSIG
    _NAMES = (7,)
    type_covered: int
    algorithm: int
    labels: int
    original_ttl: int
    expiration: int
    inception: int
    key_tag: int
    signer: Name
    signature: bytes

    def to_text(self) -> str:
        return (f"{type_to_text(self.type_covered)} {self.algorithm} {self.labels} "
                f"{self.original_ttl} {_sigtime(self.expiration)} {_sigtime(self.inception)} "
                f"{self.key_tag} {self.signer} {_b64(self.signature)}")


@dataclass(frozen=True, slots=True)
class NSEC(RData):
    """Authenticated denial of existence (RFC 4034)."""

    RTYPE = RRType.NSEC
    _NAMES = (0,)
    next: Name
    types: tuple[int, ...]

    def to_text(self) -> str:
        return f"{self.next} {_types(self.types)}".rstrip()


@dataclass(frozen=True, slots=True)
class NSEC3(RData):
    """Hashed authenticated denial of existence (RFC 5155)."""

    RTYPE = RRType.NSEC3
    algorithm: int
    flags: int
    iterations: int
    salt: bytes
    next: bytes
    types: tuple[int, ...]

    def to_text(self) -> str:
        nxt = base64.b32hexencode(self.next).decode("ascii").rstrip("=")
        return (f"{self.algorithm} {self.flags} {self.iterations} {_hex(self.salt)} {nxt} "
                f"{_types(self.types)}").rstrip()


@dataclass(frozen=True, slots=True)
class NSEC3PARAM(RData):
    """NSEC3 parameters (RFC 5155)."""

    RTYPE = RRType.NSEC3PARAM
    algorithm: int
    flags: int
    iterations: int
    salt: bytes

    def to_text(self) -> str:
        return f"{self.algorithm} {self.flags} {self.iterations} {_hex(self.salt)}"


SvcValue: TypeAlias = "tuple[int, ...] | tuple[bytes, ...] | tuple[str, ...] | int | bytes | None"
"""A SvcParam value: mandatory a tuple of keys, alpn a tuple of ids, ipv4hint/ipv6hint a tuple
of address text, port an int, no-default-alpn None, ech and any other key bytes."""

_SVC_LISTS = (SvcParamKey.MANDATORY, SvcParamKey.ALPN, SvcParamKey.IPV4HINT,
              SvcParamKey.IPV6HINT)


def svc_key_to_text(key: int) -> str:
    """A SvcParamKey's presentation name: ``alpn``, ``no-default-alpn``, ``key667``."""
    if key in _SVC_KEY_NAMES:
        return _SVC_KEY_NAMES[key]
    return f"key{key}"


_SVC_KEY_NAMES = {int(k): k.name.lower().replace("_", "-") for k in SvcParamKey}


def _list_escape(item: bytes) -> bytes:
    # A comma or backslash inside one item of a value list (RFC 9460 Appendix A.1).
    return item.replace(b"\\", b"\\\\").replace(b",", b"\\,")


def _svc_param_text(key: int, value: SvcValue) -> str:
    name = svc_key_to_text(key)
    if value is None or value == b"":
        return name
    if isinstance(value, int):
        return f"{name}={value}"
    if isinstance(value, bytes):
        return f"{name}={_b64(value)}" if key == SvcParamKey.ECH else f"{name}={quote(value)}"
    items: tuple[Any, ...] = value
    if key == SvcParamKey.MANDATORY:
        return name + "=" + ",".join(svc_key_to_text(int(k)) for k in items)
    if key == SvcParamKey.ALPN:
        return name + "=" + quote(b",".join(_list_escape(bytes(i)) for i in items))
    return name + "=" + ",".join(str(a) for a in items)


@dataclass(frozen=True, slots=True)
class SVCB(RData):
    """Service binding (RFC 9460): ``priority`` 0 is AliasMode, ``params`` the SvcParams.

    ``params`` is ``((key, value), ...)`` in strictly increasing key order (given in any
    order, it is sorted; a repeated key is a ValueError); see :data:`SvcValue` for the value
    of each key. The wire form is checked when rendered and parsed (RFC 9460 §2.2).
    """

    RTYPE = RRType.SVCB
    _NAMES = (1,)
    priority: int
    target: Name
    params: tuple[tuple[int, SvcValue], ...] = ()

    def __post_init__(self) -> None:
        params = []
        for key, value in self.params:
            if key in _SVC_LISTS and not isinstance(value, tuple):
                value = tuple(value)  # type: ignore[arg-type]
            if key == SvcParamKey.MANDATORY:
                value = tuple(sorted(value))  # type: ignore[arg-type, assignment]
            params.append((int(key), value))
        params.sort(key=lambda p: p[0])
        if any(a[0] == b[0] for a, b in pairwise(params)):
            raise ValueError("SVCB parameter key given twice")
        object.__setattr__(self, "params", tuple(params))

    def param(self, key: int) -> SvcValue:
        """The value of parameter ``key``. Raises KeyError if the record does not have it."""
        for k, v in self.params:
            if k == key:
                return v
        raise KeyError(svc_key_to_text(key))

    def to_text(self) -> str:
        parts = [str(self.priority), self.target.to_text()]
        parts.extend(_svc_param_text(k, v) for k, v in self.params)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class HTTPS(SVCB):
    """Service binding for HTTPS (RFC 9460 §9; the same shape as SVCB)."""

    RTYPE = RRType.HTTPS


@dataclass(frozen=True, slots=True)
class TSIG(RData):
    """Transaction signature (RFC 8945); ``time_signed`` is seconds, 48 bits."""

    RTYPE = RRType.TSIG
    _NAMES = (0,)
    algorithm: Name
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes = b""

    def to_text(self) -> str:
        # As dnspython prints it: lengths before the base64 fields, "" for an empty MAC.
        mac = _b64(self.mac) or '""'
        text = (f"{self.algorithm} {self.time_signed} {self.fudge} {len(self.mac)} {mac} "
                f"{self.original_id} "
                f"{rcode_to_text(self.error, tsig=True)} {len(self.other)}")
        return f"{text} {_b64(self.other)}" if self.other else text


@dataclass(frozen=True, slots=True)
class Opaque(RData):
    """Data of a type without a class here, kept as received (RFC 3597)."""

    rtype: int
    data: bytes

    def type_code(self) -> int:
        return self.rtype

    def _to_native(self) -> tuple[Any, ...] | bytes:
        return self.data

    def to_text(self) -> str:
        return f"\\# {len(self.data)} {self.data.hex().upper()}".rstrip()


RDATA_CLASSES: dict[int, type[RData]] = {
    cls.RTYPE: cls
    for cls in (A, AAAA, NS, CNAME, DNAME, PTR, SOA, MX, TXT, SPF, SRV, NAPTR, HINFO, RP,
                AFSDB, SSHFP, TLSA, CAA, DS, DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, SVCB, HTTPS,
                TSIG)
}


# Multi-field classes: one C call that reads every field into a tuple, in wire order.
def _getter(cls: type[RData]) -> Callable[[RData], tuple[Any, ...]] | None:
    names: tuple[str, ...] = vars(cls)["__match_args__"]
    return attrgetter(names[0], names[1], *names[2:]) if len(names) > 1 else None


_GETTERS = {cls: g for cls in RDATA_CLASSES.values() if (g := _getter(cls)) is not None}

