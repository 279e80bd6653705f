"""plait.names: DNS. This slice: the wire codec (native) and the message API.

    >>> from plait.names import Message, RRType
    >>> query = Message.make_query("example.com", RRType.MX, id=7)
    >>> Message.from_wire(query.to_wire()) == query
    True
"""
from __future__ import annotations

from .constants import Opcode, Rcode, RRClass, RRType, class_to_text, type_to_text
from .errors import DNSError, DNSFormatError, DNSRenderError
from .message import RR, Edns, Message, Question
from .name import ROOT, Name
from .rdata import (
    AAAA,
    AFSDB,
    CAA,
    CNAME,
    DNAME,
    DNSKEY,
    DS,
    HINFO,
    MX,
    NAPTR,
    NS,
    NSEC,
    NSEC3,
    NSEC3PARAM,
    PTR,
    RDATA_CLASSES,
    RP,
    RRSIG,
    SOA,
    SPF,
    SRV,
    SSHFP,
    TLSA,
    TXT,
    A,
    Opaque,
    RData,
)
from .zonefile import ZoneFileError, load_zone, parse_zone

__all__ = [
    "AAAA", "AFSDB", "CAA", "CNAME", "DNAME", "DNSKEY", "DS", "HINFO", "MX", "NAPTR", "NS",
    "NSEC", "NSEC3", "NSEC3PARAM", "PTR", "RDATA_CLASSES", "ROOT", "RP", "RR", "RRSIG", "SOA",
    "SPF", "SRV", "SSHFP", "TLSA", "TXT", "A", "DNSError", "DNSFormatError", "DNSRenderError",
    "Edns", "Message", "Name", "Opaque", "Opcode", "Question", "RData", "RRClass", "RRType",
    "Rcode", "ZoneFileError", "class_to_text", "load_zone", "parse_zone", "type_to_text",
]
