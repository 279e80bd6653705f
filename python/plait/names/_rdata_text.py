"""Record data from presentation text: one parser per typed class, RFC 3597 for any type."""
from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
from collections.abc import Callable

from ._tokenizer import Token, ZoneFileError, decode_escapes
from .constants import RRClass, RRType
from .name import Name
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

__all__ = ["Fields", "class_from_text", "parse_rdata", "parse_ttl", "type_from_text"]

_TTL_RE = re.compile(r"(?:\d+[wdhms])+|\d+", re.IGNORECASE)
_TTL_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TYPES = {t.name: int(t) for t in RRType}
_CLASSES = {c.name: int(c) for c in RRClass}


def parse_ttl(text: str) -> int:
    """A TTL: seconds, or units as ``1h30m`` (w d h m s). Raises ValueError."""
    if not _TTL_RE.fullmatch(text):
        raise ValueError(f"bad TTL {text!r}")
    if text.isdigit():
        value = int(text)
    else:
        value = sum(int(num) * _TTL_UNITS[unit.lower()]
                    for num, unit in re.findall(r"(\d+)([a-zA-Z])", text))
    if value > 0x7FFFFFFF:
        raise ValueError(f"TTL {text!r} over 2^31 - 1")
    return value


def type_from_text(text: str) -> int | None:
    """A type mnemonic or ``TYPEnnn`` as its number; None if it is neither."""
    up = text.upper()
    if up in _TYPES:
        return _TYPES[up]
    if up.startswith("TYPE") and up[4:].isdigit() and int(up[4:]) <= 0xFFFF:
        return int(up[4:])
    return None


def class_from_text(text: str) -> int | None:
    """A class mnemonic or ``CLASSnnn`` as its number; None if it is neither."""
    up = text.upper()
    if up in _CLASSES:
        return _CLASSES[up]
    if up.startswith("CLASS") and up[5:].isdigit() and int(up[5:]) <= 0xFFFF:
        return int(up[5:])
    return None


class Fields:
    """The rdata tokens of one record, read in order; errors name the token's line."""

    def __init__(self, tokens: tuple[Token, ...] | list[Token], origin: Name | None,
                 filename: str | None, line: int) -> None:
        self.tokens = list(tokens)
        self.pos = 0
        self.origin = origin
        self.filename = filename
        self.line = line

    def error(self, message: str) -> ZoneFileError:
        if self.pos and self.pos <= len(self.tokens):
            line = self.tokens[self.pos - 1].line
        elif self.tokens:
            line = self.tokens[0].line
        else:
            line = self.line
        return ZoneFileError(message, self.filename, line)

    def more(self) -> bool:
        return self.pos < len(self.tokens)

    def next(self, what: str) -> Token:
        if self.pos >= len(self.tokens):
            raise self.error(f"missing {what}")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def word(self, what: str) -> str:
        tok = self.next(what)
        if tok.quoted:
            raise self.error(f"{what} must not be quoted")
        return tok.text

    def rest(self, what: str) -> str:
        """The remaining tokens joined (base64 and hex may be split by blanks)."""
        if not self.more():
            raise self.error(f"missing {what}")
        parts = []
        while self.more():
            parts.append(self.word(what))
        return "".join(parts)

    def num(self, what: str, bits: int) -> int:
        text = self.word(what)
        if not text.isdigit():
            raise self.error(f"bad {what} {text!r}: not a number")
        value = int(text)
        if value >= 1 << bits:
            raise self.error(f"{what} {value} does not fit in {bits} bits")
        return value

    def ttl(self, what: str) -> int:
        text = self.word(what)
        try:
            return parse_ttl(text)
        except ValueError as exc:
            raise self.error(f"bad {what}: {exc}") from None

    def name(self, what: str) -> Name:
        text = self.word(what)
        return name_from_text(text, self.origin, self.error)

    def string(self, what: str) -> bytes:
        tok = self.next(what)
        try:
            data = decode_escapes(tok.text)
        except ValueError as exc:
            raise self.error(f"bad {what}: {exc}") from None
        if len(data) > 255:
            raise self.error(f"{what} longer than 255 bytes")
        return data

    def hex(self, what: str, allow_empty: bool = False) -> bytes:
        text = self.rest(what) if not allow_empty else self.word(what)
        if allow_empty and text == "-":
            return b""
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise self.error(f"bad {what}: not hexadecimal") from None

    def b64(self, what: str) -> bytes:
        text = self.rest(what)
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise self.error(f"bad {what}: not base64") from None

    def rtype(self, what: str) -> int:
        text = self.word(what)
        value = type_from_text(text)
        if value is None:
            raise self.error(f"unknown type {text!r}")
        return value

    def types(self) -> tuple[int, ...]:
        out = set()
        while self.more():
            out.add(self.rtype("type"))
        return tuple(sorted(out))

    def sigtime(self, what: str) -> int:
        text = self.word(what)
        if len(text) == 14 and text.isdigit():
            try:
                return calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:8]),
                                        int(text[8:10]), int(text[10:12]), int(text[12:]),
                                        0, 0, 0))
            except ValueError:
                raise self.error(f"bad {what} {text!r}") from None
        if text.isdigit() and int(text) < 1 << 32:
            return int(text)
        raise self.error(f"bad {what} {text!r}")

    def done(self) -> None:
        if self.more():
            tok = self.next("")
            raise self.error(f"unexpected {tok.text!r} after the record data")


def name_from_text(text: str, origin: Name | None,
                   error: Callable[[str], ZoneFileError]) -> Name:
    """A name, relative ones completed with ``origin`` (an error if there is none)."""
    if origin is None and text != "." and not (text.endswith(".") and not text.endswith("\\.")):
        raise error(f"relative name {text!r} and no origin")
    try:
        return Name.from_text(text, origin)
    except ValueError as exc:
        raise error(f"bad name {text!r}: {exc}") from None


def _address(f: Fields, version: int) -> str:
    text = f.word("address")
    try:
        addr = ipaddress.IPv4Address(text) if version == 4 else ipaddress.IPv6Address(text)
    except ValueError:
        raise f.error(f"bad IPv{version} address {text!r}") from None
    return str(addr)


def _strings(f: Fields) -> tuple[bytes, ...]:
    out = [f.string("string")]
    while f.more():
        out.append(f.string("string"))
    return tuple(out)


_PARSERS: dict[type[RData], Callable[[Fields], RData]] = {
    A: lambda f: A(_address(f, 4)),
    AAAA: lambda f: AAAA(_address(f, 6)),
    NS: lambda f: NS(f.name("name server")),
    CNAME: lambda f: CNAME(f.name("target")),
    DNAME: lambda f: DNAME(f.name("target")),
    PTR: lambda f: PTR(f.name("target")),
    SOA: lambda f: SOA(f.name("mname"), f.name("rname"), f.num("serial", 32),
                       f.ttl("refresh"), f.ttl("retry"), f.ttl("expire"), f.ttl("minimum")),
    MX: lambda f: MX(f.num("preference", 16), f.name("exchange")),
    TXT: lambda f: TXT(_strings(f)),
    SPF: lambda f: SPF(_strings(f)),
    SRV: lambda f: SRV(f.num("priority", 16), f.num("weight", 16), f.num("port", 16),
                       f.name("target")),
    NAPTR: lambda f: NAPTR(f.num("order", 16), f.num("preference", 16), f.string("flags"),
                           f.string("services"), f.string("regexp"), f.name("replacement")),
    HINFO: lambda f: HINFO(f.string("cpu"), f.string("os")),
    RP: lambda f: RP(f.name("mbox"), f.name("txt")),
    AFSDB: lambda f: AFSDB(f.num("subtype", 16), f.name("hostname")),
    SSHFP: lambda f: SSHFP(f.num("algorithm", 8), f.num("fingerprint type", 8),
                           f.hex("fingerprint")),
    TLSA: lambda f: TLSA(f.num("usage", 8), f.num("selector", 8), f.num("matching type", 8),
                         f.hex("certificate data")),
    CAA: lambda f: CAA(f.num("flags", 8), f.string("tag"), f.string("value")),
    DS: lambda f: DS(f.num("key tag", 16), f.num("algorithm", 8), f.num("digest type", 8),
                     f.hex("digest")),
    DNSKEY: lambda f: DNSKEY(f.num("flags", 16), f.num("protocol", 8), f.num("algorithm", 8),
                             f.b64("key")),
    RRSIG: lambda f: RRSIG(f.rtype("type covered"), f.num("algorithm", 8), f.num("labels", 8),
                           f.ttl("original TTL"), f.sigtime("expiration"),
                           f.sigtime("inception"), f.num("key tag", 16), f.name("signer"),
                           f.b64("signature")),
    NSEC: lambda f: NSEC(f.name("next name"), f.types()),
    NSEC3: lambda f: NSEC3(f.num("algorithm", 8), f.num("flags", 8), f.num("iterations", 16),
                           f.hex("salt", allow_empty=True), _b32hex(f), f.types()),
    NSEC3PARAM: lambda f: NSEC3PARAM(f.num("algorithm", 8), f.num("flags", 8),
                                     f.num("iterations", 16), f.hex("salt", allow_empty=True)),
}


def _b32hex(f: Fields) -> bytes:
    text = f.word("next hashed owner").upper()
    try:
        return base64.b32hexdecode(text + "=" * (-len(text) % 8))
    except binascii.Error:
        raise f.error("bad next hashed owner: not base32hex") from None


def _generic(rtype: int, f: Fields) -> RData:
    f.next("\\#")
    length = f.num("generic data length", 16)
    data = f.hex("generic data") if f.more() else b""
    if len(data) != length:
        raise f.error(f"generic data is {len(data)} bytes, its length says {length}")
    f.done()
    if rtype not in RDATA_CLASSES:
        return Opaque(rtype, data)
    # A typed class: let the native codec read the wire form (that also checks it).
    from .message import RR, Message
    try:
        msg = Message(answers=(RR(Name(b"\x00"), rtype, RRClass.IN, 0, Opaque(rtype, data)),))
        return Message.from_wire(msg.to_wire()).answers[0].rdata
    except ValueError as exc:
        raise f.error(f"bad generic data for this type: {exc}") from None


def parse_rdata(rtype: int, f: Fields) -> RData:
    """The typed data (or :class:`Opaque`) of type ``rtype`` from the fields ``f``."""
    if f.tokens and f.tokens[0].text == "\\#" and not f.tokens[0].quoted:
        return _generic(rtype, f)
    cls = RDATA_CLASSES.get(rtype)
    if cls is None:
        raise f.error(f"type {rtype} has no text form here: use \\# LENGTH HEX (RFC 3597)")
    if rtype in (RRType.OPT, RRType.ANY, RRType.AXFR, RRType.IXFR):
        raise f.error("not a record type for a zone file")
    rdata = _PARSERS[cls](f)
    f.done()
    return rdata
