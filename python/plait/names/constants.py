"""Numbers of the DNS protocol: record types, classes, opcodes and response codes."""
from __future__ import annotations

from enum import IntEnum

__all__ = [
    "Opcode", "RRClass", "RRType", "Rcode", "SvcParamKey", "class_to_text", "rcode_to_text",
    "type_to_text",
]


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
    SVCB = 64
    HTTPS = 65
    SPF = 99
    TSIG = 250
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
    DSOTYPENI = 11
    BADVERS = 16
    BADKEY = 17
    BADTIME = 18
    BADMODE = 19
    BADNAME = 20
    BADALG = 21
    BADTRUNC = 22
    BADCOOKIE = 23


class SvcParamKey(IntEnum):
    """SVCB/HTTPS parameter keys (RFC 9460 §14.3.2); others are written ``keyNNNNN``."""

    MANDATORY = 0
    ALPN = 1
    NO_DEFAULT_ALPN = 2
    PORT = 3
    IPV4HINT = 4
    ECH = 5
    IPV6HINT = 6


_TYPE_NAMES = {t.value: t.name for t in RRType}
_CLASS_NAMES = {c.value: c.name for c in RRClass}
_RCODE_NAMES = {r.value: r.name for r in Rcode}


def type_to_text(rtype: int) -> str:
    """The mnemonic of a type, or ``TYPEnnn`` (RFC 3597)."""
    return _TYPE_NAMES.get(rtype) or f"TYPE{rtype}"


def rcode_to_text(rcode: int, tsig: bool = False) -> str:
    """The mnemonic of a response code, or its number; in TSIG, 16 is BADSIG (RFC 8945)."""
    if tsig and rcode == 16:
        return "BADSIG"
    return _RCODE_NAMES.get(rcode) or str(rcode)


def class_to_text(rclass: int) -> str:
    """The mnemonic of a class, or ``CLASSnnn`` (RFC 3597)."""
    return _CLASS_NAMES.get(rclass) or f"CLASS{rclass}"
