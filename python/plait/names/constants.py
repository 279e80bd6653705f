"""Numbers of the DNS protocol: record types, classes, opcodes and response codes."""
from __future__ import annotations

from enum import IntEnum

__all__ = ["Opcode", "RRClass", "RRType", "Rcode", "class_to_text", "type_to_text"]


class RRType(IntEnum):
    """Resource record types (and QTYPEs)."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    HINFO = 13
    MX = 15
    TXT = 16
    RP = 17
    AFSDB = 18
    AAAA = 28
    SRV = 33
    NAPTR = 35
    DNAME = 39
    OPT = 41
    DS = 43
    SSHFP = 44
    RRSIG = 46
    NSEC = 47
    DNSKEY = 48
    NSEC3 = 50
    NSEC3PARAM = 51
    TLSA = 52
    SPF = 99
    IXFR = 251
    AXFR = 252
    ANY = 255
    CAA = 257


class RRClass(IntEnum):
    """Classes (and QCLASSes)."""

    IN = 1
    CH = 3
    HS = 4
    NONE = 254
    ANY = 255


class Opcode(IntEnum):
    """Header opcodes."""

    QUERY = 0
    IQUERY = 1
    STATUS = 2
    NOTIFY = 4
    UPDATE = 5


class Rcode(IntEnum):
    """Response codes, extended (EDNS) ones included."""

    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    YXDOMAIN = 6
    YXRRSET = 7
    NXRRSET = 8
    NOTAUTH = 9
    NOTZONE = 10
    BADVERS = 16


_TYPE_NAMES = {t.value: t.name for t in RRType}
_CLASS_NAMES = {c.value: c.name for c in RRClass}


def type_to_text(rtype: int) -> str:
    """The mnemonic of a type, or ``TYPEnnn`` (RFC 3597)."""
    return _TYPE_NAMES.get(rtype) or f"TYPE{rtype}"


def class_to_text(rclass: int) -> str:
    """The mnemonic of a class, or ``CLASSnnn`` (RFC 3597)."""
    return _CLASS_NAMES.get(rclass) or f"CLASS{rclass}"
