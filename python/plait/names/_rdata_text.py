"""Record data from presentation text: one parser per typed class, RFC 3597 for any type."""
from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
from collections.abc import Callable

from ._tokenizer import Token, ZoneFileError, decode_escapes
from .constants import Rcode, RRClass, RRType, SvcParamKey
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
    SvcValue,
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


# ---------------------------------------------------------------- SVCB / HTTPS (RFC 9460)

_SVC_KEYS = {k.name.lower().replace("_", "-"): int(k) for k in SvcParamKey}
_SVC_KEYS.update({"dohpath": 7, "ohttp": 8})  # RFC 9461 and RFC 9540: kept as bytes here
_SVC_KEY_RE = re.compile(r"key(0|[1-9]\d{0,4})")


def _svc_key(f: Fields, text: str) -> tuple[int, bool]:
    """A key number from its name or ``keyNNNNN``; True if it was given as a number."""
    if text in _SVC_KEYS:
        return _SVC_KEYS[text], False
    m = _SVC_KEY_RE.fullmatch(text)
    if m is None or int(m.group(1)) > 0xFFFF:
        raise f.error(f"unknown SVCB parameter key {text!r}")
    return int(m.group(1)), True


def _svc_split(f: Fields, data: bytes) -> list[bytes]:
    """A value list: items split at commas, ``\\,`` and ``\\\\`` escaped (RFC 9460 A.1)."""
    items, cur, i = [], bytearray(), 0
    while i < len(data):
        c = data[i]
        if c == 0x5C:
            if i + 1 >= len(data) or data[i + 1] not in b",\\":
                raise f.error("bad escape in an SVCB value list")
            cur.append(data[i + 1])
            i += 2
            continue
        if c == 0x2C:
            items.append(bytes(cur))
            cur.clear()
        else:
            cur.append(c)
        i += 1
    items.append(bytes(cur))
    return items


def _svc_addresses(f: Fields, key: int, text: str) -> tuple[str, ...]:
    factory = ipaddress.IPv4Address if key == SvcParamKey.IPV4HINT else ipaddress.IPv6Address
    try:
        return tuple(str(factory(a)) for a in text.split(","))
    except ValueError:
        raise f.error(f"bad address in {text!r}") from None


def _svc_value(f: Fields, key: int, raw: str | None) -> SvcValue:
    """The typed value of ``key`` from its text (escapes not yet decoded; None if absent)."""
    try:
        data = decode_escapes(raw) if raw is not None else b""
    except ValueError as exc:
        raise f.error(f"bad SVCB value: {exc}") from None
    name = next((n for n, k in _SVC_KEYS.items() if k == key), f"key{key}")
    if key in (SvcParamKey.NO_DEFAULT_ALPN, 8):
        if data:
            raise f.error(f"SVCB {name} takes no value")
        return None
    if key > SvcParamKey.IPV6HINT:
        return data
    if not data:
        raise f.error(f"SVCB {name} needs a value")
    text = data.decode("utf-8", "replace")
    if key == SvcParamKey.MANDATORY:
        return tuple(_svc_key(f, k)[0] for k in text.split(","))
    if key == SvcParamKey.ALPN:
        ids = _svc_split(f, data)
        if any(not i or len(i) > 255 for i in ids):
            raise f.error("SVCB alpn ids must be 1 to 255 bytes")
        return tuple(ids)
    if key == SvcParamKey.PORT:
        if not text.isdigit() or int(text) > 0xFFFF:
            raise f.error(f"bad SVCB port {text!r}")
        return int(text)
    if key == SvcParamKey.ECH:
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise f.error("bad SVCB ech: not base64") from None
    return _svc_addresses(f, key, text)


def _svc_generic(f: Fields, key: int, raw: str | None) -> SvcValue:
    """A key 0 to 6 written ``keyN=``: its value is the wire bytes, read by the native codec."""
    try:
        data = decode_escapes(raw) if raw is not None else b""
    except ValueError as exc:
        raise f.error(f"bad SVCB value: {exc}") from None
    wire = b"\x00\x01\x00" + key.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    from .message import RR, Message
    try:
        msg = Message(answers=(RR(Name(b"\x00"), RRType.SVCB, RRClass.IN, 0,
                                  Opaque(RRType.SVCB, wire)),))
        rdata = Message.from_wire(msg.to_wire()).answers[0].rdata
    except ValueError as exc:
        raise f.error(f"bad key{key} value: {exc}") from None
    assert isinstance(rdata, SVCB)
    return rdata.params[0][1]


def _svcb(cls: type[SVCB]) -> Callable[[Fields], RData]:
    def parse(f: Fields) -> RData:
        priority = f.num("priority", 16)
        target = f.name("target")
        params: dict[int, SvcValue] = {}
        while f.more():
            tok = f.next("parameter")
            if tok.quoted:
                raise f.error(f"SVCB parameter {tok.text!r} is not key=value")
            key_text, eq, raw = tok.text.partition("=")
            value: str | None = raw if eq else None
            if eq and not raw and f.more() and f.tokens[f.pos].quoted:
                value = f.next("value").text  # key="quoted value"
            if "\\" in key_text or not key_text:
                raise f.error(f"bad SVCB parameter {tok.text!r}")
            key, numeric = _svc_key(f, key_text)
            if key in params:
                raise f.error(f"SVCB parameter {key_text} given twice")
            if numeric and key <= SvcParamKey.IPV6HINT:
                params[key] = _svc_generic(f, key, value)
            else:
                params[key] = _svc_value(f, key, value)
        if priority == 0 and params:
            raise f.error("SVCB AliasMode (priority 0) takes no parameters")
        mandatory = params.get(SvcParamKey.MANDATORY)
        keys: tuple[int, ...] = mandatory if isinstance(mandatory, tuple) else ()  # type: ignore[assignment]
        for key in keys:
            if key == SvcParamKey.MANDATORY or key not in params:
                raise f.error(f"SVCB mandatory key {key} is not among the parameters")
        if len(set(keys)) != len(keys):
            raise f.error("SVCB mandatory lists a key twice")
        if SvcParamKey.NO_DEFAULT_ALPN in params and SvcParamKey.ALPN not in params:
            raise f.error("SVCB no-default-alpn without alpn")
        return cls(priority, target, tuple(params.items()))
    return parse


# ---------------------------------------------------------------- TSIG (RFC 8945)

_RCODES = {r.name: int(r) for r in Rcode} | {"BADSIG": 16}


def _tsig(f: Fields) -> RData:
    algorithm = f.name("algorithm")
    time_signed = f.num("time signed", 48)
    fudge = f.num("fudge", 16)
    mac_len = f.num("MAC size", 16)
    mac = _b64_token(f, "MAC")
    if len(mac) != mac_len:
        raise f.error(f"TSIG MAC is {len(mac)} bytes, its size says {mac_len}")
    original_id = f.num("original id", 16)
    text = f.word("error")
    if text.upper() in _RCODES:
        error = _RCODES[text.upper()]
    elif text.isdigit() and int(text) <= 0xFFFF:
        error = int(text)
    else:
        raise f.error(f"bad TSIG error {text!r}")
    other_len = f.num("other size", 16)
    other = _b64_token(f, "other data") if other_len else b""
    if len(other) != other_len:
        raise f.error(f"TSIG other data is {len(other)} bytes, its size says {other_len}")
    return TSIG(algorithm, time_signed, fudge, mac, original_id, error, other)


def _b64_token(f: Fields, what: str) -> bytes:
    tok = f.next(what)
    try:
        return base64.b64decode(tok.text, validate=True)
    except binascii.Error:
        raise f.error(f"bad {what}: not base64") from None


_PARSERS.update({SVCB: _svcb(SVCB), HTTPS: _svcb(HTTPS), TSIG: _tsig})


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
        # the additional section: the one where every type may go (TSIG must)
        msg = Message(additional=(RR(Name(b"\x00"), rtype, RRClass.IN, 0, Opaque(rtype, data)),))
        return Message.from_wire(msg.to_wire()).additional[0].rdata
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
