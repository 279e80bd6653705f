"""plait.names: DNS: the native wire codec, zones, an authoritative server with transfers
and NOTIFY, a secondary, and the stub and iterative resolvers.

    >>> from plait.names import Message, RRType
    >>> query = Message.make_query("example.com", RRType.MX, id=7)
    >>> Message.from_wire(query.to_wire()) == query
    True

Serving a zone::

    catalog = ZoneCatalog()
    catalog.put(Zone.from_bind_file("example.test.zone"))
    server = await serve(catalog, "127.0.0.1", 5353)

Asking one::

    resolver = Resolver(servers=[("127.0.0.1", 5353)])
    answers, authority, additional = await resolver.lookup_address("www.example.test")
"""
from __future__ import annotations

from .authority import Authority
from .cache import Cache
from .catalog import ZoneCatalog
from .constants import (
    Opcode,
    Rcode,
    RRClass,
    RRType,
    SvcParamKey,
    class_to_text,
    type_to_text,
)
from .errors import (
    DNSError,
    DNSFormatError,
    DNSNameError,
    DNSQueryRefusedError,
    DNSRenderError,
    DNSServerError,
    DNSTimeoutError,
    TransferError,
    ZoneError,
)
from .hosts import Hosts
from .message import RR, Edns, Message, Question
from .name import ROOT, Name
from .notify import Notifier
from .rdata import (
    AAAA,
    AFSDB,
    CAA,
    CNAME,
    DNAME,
    DNSKEY,
    DS,
    HINFO,
    HTTPS,
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
    SVCB,
    TLSA,
    TSIG,
    TXT,
    A,
    Opaque,
    RData,
)
from .resolv_conf import ResolvConf, load_resolv_conf
from .resolver import Resolver, Result
from .root import RootResolver
from .secondary import Secondaries, SecondaryZone
from .server import DNSServer, serve
from .stub import StubResolver
from .xfr_client import axfr, ixfr
from .zone import Zone
from .zonefile import ZoneFileError, load_zone, parse_zone

__all__ = [
    "AAAA", "AFSDB", "CAA", "CNAME", "DNAME", "DNSKEY", "DS", "HINFO", "HTTPS", "MX", "NAPTR",
    "NS", "NSEC", "NSEC3", "NSEC3PARAM", "PTR", "RDATA_CLASSES", "ROOT", "RP", "RR", "RRSIG",
    "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TSIG", "TXT", "A", "Authority", "Cache",
    "DNSError", "DNSFormatError", "DNSNameError", "DNSQueryRefusedError", "DNSRenderError",
    "DNSServer", "DNSServerError", "DNSTimeoutError", "Edns", "Hosts", "Message", "Name",
    "Notifier", "Opaque", "Opcode", "Question", "RData", "RRClass", "RRType", "Rcode",
    "ResolvConf", "Resolver", "Result", "RootResolver", "Secondaries", "SecondaryZone",
    "StubResolver", "SvcParamKey", "TransferError", "Zone", "ZoneCatalog", "ZoneError",
    "ZoneFileError", "axfr", "class_to_text", "ixfr", "load_resolv_conf", "load_zone",
    "parse_zone", "serve", "type_to_text",
]
