"""Zone files: plait.names.zonefile against dnspython's reader, round trips, and errors."""
from __future__ import annotations

import base64
from pathlib import Path

import dns.message
import dns.rdataclass
import dns.zone
import pytest

from plait.names import (
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
    RR,
    RRSIG,
    SOA,
    SPF,
    SRV,
    SSHFP,
    TLSA,
    TXT,
    A,
    Message,
    Name,
    Opaque,
    RRType,
    ZoneFileError,
    load_zone,
    parse_zone,
)
from plait.names.rdata import HTTPS, SVCB, TSIG
from plait.names.zonefile import MAX_INCLUDE_DEPTH, rdata_from_text

KEY = base64.b64encode(bytes(range(64))).decode()

ZONE = rf"""; a zone with every feature of the format
$ORIGIN example.com.
$TTL 1h30m
@   IN  SOA ns1 hostmaster.example.com. (
            2024010101 ; serial
            2h         ; refresh
            15m        ; retry
            1w2d       ; expire
            300 )      ; minimum
    IN  NS  ns1
        NS  ns2.example.net.
    MX  10 mail
    MX  20 mail.example.net.
    TXT "v=spf1 -all"
    SPF "v=spf1 -all"
    3600 IN DNSKEY 257 3 13 ( {KEY[:40]}
                             {KEY[40:]} )
    NSEC3PARAM 1 0 10 AABBCCDD
ns1 IN 600 A 192.0.2.1
    600 IN AAAA 2001:db8::1
www 300 IN CNAME @
mail 86400 A 192.0.2.25
text TXT "say \"hi\"" "semi;colon (paren)" "\065\066\067" plain \; "back\\slash"
text HINFO "PC Intel" Linux
_sip._tcp SRV 10 60 5060 sip
sip A 192.0.2.5
naptr NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
naptr NAPTR 101 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .
rp RP hostmaster.example.com. text
afs AFSDB 1 afs-db
ssh SSHFP 4 2 0123456789ABCDEF0123456789abcdef0123456789ABCDEF 0123456789abcdef
_443._tcp.www TLSA 3 1 1 ( 0123456789ABCDEF0123456789ABCDEF
                           0123456789ABCDEF0123456789ABCDEF )
@ CAA 0 issue "letsencrypt.org"
  CAA 128 iodef "mailto:security@example.com"
sub NS ns.sub
sub DS 12345 13 2 ( 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF )
ns.sub A 192.0.2.53
sig RRSIG A 13 3 3600 20300101000000 20240101000000 12345 example.com. {KEY}
sig A 192.0.2.9
nsec NSEC next.example.com. A MX RRSIG NSEC TYPE65534
nsec3 NSEC3 1 1 12 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG
nsec3b NSEC3 1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR
dname DNAME example.net.
_dns SVCB 1 dns ( alpn=dot,doq port=853 ipv4hint=192.0.2.53
                 mandatory=port,alpn )
_dns SVCB 0 alias.example.net.
@ HTTPS 1 . alpn="h2,h3" no-default-alpn ech=AAQBAgME ipv6hint=2001:db8::1,2001:db8::2
svc HTTPS 2 svc2 key65000="a\,b" key9 alpn=h2
ptr.example.com. PTR www
opaque TYPE65534 \# 3 abcdef
opaque2 CLASS1 TYPE65000 \# 0
generic TYPE1 \# 4 C0000202
generic2 MX \# 8 000a 046d61696c 00
escaped\.dot A 192.0.2.77
$INCLUDE sub.inc included
$GENERATE 1-10/3 host-$ A 192.0.2.${{10}}
$GENERATE 0-2 ${{0,4,x}}.gen 120 IN CNAME target-${{16,0,X}}
$GENERATE 10-11 ${{0,3,n}}.rev PTR host$$$
$GENERATE 1-2 pad${{-1,3,d}} TXT v$
after A 192.0.2.99
"""

INCLUDED = """; included with origin included.example.com.
@ A 192.0.2.100
x 7200 TXT "inside"
  AAAA 2001:db8::100
$ORIGIN deeper.example.com.
y A 192.0.2.101
"""


def _plait_set(rrs: list[RR]) -> set[tuple[bytes, int, int, int, bytes]]:
    out = set()
    for rr in rrs:
        wire = Message(answers=(rr,)).to_wire()
        rrset = dns.message.from_wire(wire).answer[0]
        (rd,) = list(rrset)
        out.add((rr.name.wire.lower(), rr.rtype, rr.rclass, rr.ttl, rd.to_wire()))
    return out


def _dnspython_set(zone: dns.zone.Zone) -> set[tuple[bytes, int, int, int, bytes]]:
    out = set()
    for name, node in zone.nodes.items():
        for rdataset in node:
            for rd in rdataset:
                out.add((name.to_wire().lower(), int(rdataset.rdtype),
                         int(rdataset.rdclass), rdataset.ttl, rd.to_wire()))
    return out


def test_zone_equals_dnspython(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub.inc").write_text(INCLUDED)
    (tmp_path / "example.com.zone").write_text(ZONE)
    monkeypatch.chdir(tmp_path)  # dnspython opens $INCLUDE files from the current directory
    theirs = dns.zone.from_text(ZONE, "example.com.", relativize=False, allow_include=True)
    monkeypatch.chdir("/")  # plait finds them next to the including file
    rrs = load_zone(tmp_path / "example.com.zone")
    ours = _plait_set(rrs)
    assert len(ours) == len(rrs)
    assert ours == _dnspython_set(theirs)
    # Spot checks of what the comparison covers.
    by_name = {(str(rr.name), rr.rtype): rr for rr in rrs}
    soa = by_name["example.com.", RRType.SOA]
    assert soa.ttl == 5400
    assert soa.rdata == SOA(Name.from_text("ns1.example.com."),
                            Name.from_text("hostmaster.example.com."),
                            2024010101, 7200, 900, 9 * 86400, 300)
    assert by_name["text.example.com.", RRType.TXT].rdata == TXT(
        (b'say "hi"', b"semi;colon (paren)", b"ABC", b"plain", b";", b"back\\slash"))
    assert by_name["opaque.example.com.", 65534].rdata == Opaque(65534, b"\xab\xcd\xef")
    assert by_name["generic.example.com.", RRType.A].rdata == A("192.0.2.2")
    assert by_name["generic2.example.com.", RRType.MX].rdata == MX(10, Name.from_text("mail."))
    assert by_name["x.included.example.com.", RRType.TXT].ttl == 7200
    assert by_name["x.included.example.com.", RRType.AAAA].ttl == 5400
    assert ("y.deeper.example.com.", RRType.A) in by_name
    # the origin is restored after the $INCLUDE
    assert by_name["after.example.com.", RRType.A].ttl == 5400
    assert by_name["host-7.example.com.", RRType.A].rdata == A("192.0.2.17")
    assert by_name["0002.gen.example.com.", RRType.CNAME].rdata == CNAME(
        Name.from_text("target-12.example.com."))
    assert ("a.0.rev.example.com.", RRType.PTR) in by_name
    assert by_name["escaped\\.dot.example.com.", RRType.A].name.labels[0] == b"escaped.dot"
    assert by_name["example.com.", RRType.HTTPS].rdata == HTTPS(1, Name.from_text("."), (
        (1, (b"h2", b"h3")), (2, None), (5, b"\x00\x04\x01\x02\x03\x04"),
        (6, ("2001:db8::1", "2001:db8::2"))))
    assert by_name["svc.example.com.", RRType.HTTPS].rdata == HTTPS(
        2, Name.from_text("svc2.example.com."), ((1, (b"h2",)), (9, b""), (65000, b"a,b")))


def test_parse_zone_string_origin_and_include_relative_to_file(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "a.inc").write_text("a A 192.0.2.1\n$INCLUDE b.inc\n")
    (tmp_path / "inc" / "b.inc").write_text("b A 192.0.2.2\n")
    text = "$TTL 60\n$INCLUDE inc/a.inc\n"
    rrs = parse_zone(text, "example.org", filename=str(tmp_path / "z"))
    assert [str(rr) for rr in rrs] == ["a.example.org. 60 IN A 192.0.2.1",
                                       "b.example.org. 60 IN A 192.0.2.2"]


def test_ttl_rules() -> None:
    # no $TTL: the previous explicit TTL, and the SOA's minimum before any
    rrs = parse_zone("@ SOA ns hm 1 2 3 4 500\n  NS ns\nns 20 A 192.0.2.1\n  AAAA ::1\n",
                     "example.org.")
    assert [rr.ttl for rr in rrs] == [500, 500, 20, 20]
    # class and TTL in either order, units in any case
    a, b = parse_zone("a IN 1H A 192.0.2.1\nb 1d2M CH A 192.0.2.2\n", "example.org.")
    assert (a.ttl, a.rclass, b.ttl, b.rclass) == (3600, 1, 86520, 3)


SAMPLES = [
    A("192.0.2.1"), AAAA("2001:db8::1"), NS(Name.from_text("ns.example.")),
    CNAME(Name.from_text("t.example.")), DNAME(Name.from_text("d.example.")),
    PTR(Name.from_text("p.example.")),
    SOA(Name.from_text("ns.example."), Name.from_text("h\\.m.example."), 1, 2, 3, 4, 5),
    MX(10, Name.from_text("mx.example.")),
    TXT((b"a b", b'q"uo\\te', b"\x00\xff;()", b"")), SPF((b"v=spf1 -all",)),
    SRV(1, 2, 3, Name.from_text("srv.example.")),
    NAPTR(1, 2, b"S", b"SIP+D2U", b"!^.*$!x!", Name.from_text("r.example.")),
    HINFO(b"CPU x", b"OS"), RP(Name.from_text("m.example."), Name.from_text("t.example.")),
    AFSDB(1, Name.from_text("afs.example.")),
    SSHFP(1, 1, bytes(range(20))), TLSA(3, 1, 1, bytes(range(32))),
    CAA(0, b"issue", b"ca.example; x=\"y\""), DS(1, 13, 2, bytes(range(32))),
    DNSKEY(256, 3, 13, bytes(range(64))),
    RRSIG(RRType.A, 13, 2, 3600, 1893456000, 1704067200, 4321, Name.from_text("example."),
          bytes(range(64))),
    NSEC(Name.from_text("n.example."), (1, 15, 46, 47, 65534)), NSEC(Name.from_text("n."), ()),
    NSEC3(1, 1, 12, b"\xaa\xbb", bytes(range(20)), (1, 46)), NSEC3(1, 0, 0, b"", b"\x01", ()),
    NSEC3PARAM(1, 0, 10, b"\xaa"), NSEC3PARAM(1, 0, 0, b""),
    Opaque(65534, b"\xab\xcd"), Opaque(65535, b""),
    SVCB(0, Name.from_text("alias.example.")),
    SVCB(3, Name.from_text("."), ((0, (1,)), (1, (b"h2", b"a,b\\c")), (3, 853), (7, b"/q{?dns}"))),
    HTTPS(1, Name.from_text("s.example."), ((1, (b"h3",)), (2, None), (4, ("192.0.2.1",)),
                                            (5, b"\x00\x02ab"), (6, ("::1",)), (666, b"\x00 \""))),
    TSIG(Name.from_text("hmac-sha256."), 1700000000, 300, bytes(32), 1, 0),
    TSIG(Name.from_text("hmac-sha256."), 2**48 - 1, 0, b"", 65535, 18, b"\x01\x02\x03"),
]


def test_every_typed_class_has_a_sample() -> None:
    assert set(RDATA_CLASSES.values()) <= {type(s) for s in SAMPLES}


@pytest.mark.parametrize("rdata", SAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip(rdata: object) -> None:
    assert isinstance(rdata, (A, AAAA, NS, CNAME, DNAME, PTR, SOA, MX, TXT, SRV, NAPTR, HINFO,
                              RP, AFSDB, SSHFP, TLSA, CAA, DS, DNSKEY, RRSIG, NSEC, NSEC3,
                              NSEC3PARAM, SVCB, TSIG, Opaque))
    for rr in (RR.make("owner.example.", rdata, ttl=77),
               RR.make("w\\ eird\\046.example.", rdata, ttl=0, rclass=3)):
        again = RR.from_text(str(rr))
        assert again == rr
        # additional: the one section where every type may go (TSIG must)
        assert Message(additional=(again,)).to_wire() == Message(additional=(rr,)).to_wire()
    if not isinstance(rdata, Opaque):
        assert type(rdata).from_text(rdata.to_text()) == rdata
    assert rdata_from_text(rdata.type_code(), rdata.to_text()) == rdata


def test_rr_from_text_origin_and_default_ttl() -> None:
    rr = RR.from_text("www MX 5 mail", origin="example.com", default_ttl=30)
    assert rr == RR.make("www.example.com.", MX(5, Name.from_text("mail.example.com.")), ttl=30)
    with pytest.raises(ZoneFileError, match="no TTL"):
        RR.from_text("www.example. A 192.0.2.1")
    with pytest.raises(ZoneFileError, match="relative name"):
        RR.from_text("www 60 A 192.0.2.1")


ERRORS = [
    ("$ORIGIN example.com.\n$TTL 60\na A 192.0.2.1\nb A 192.0.2.256\n", 4, "IPv4"),
    ("$TTL 60\n\n\n$TTL 1x\n", 4, "bad TTL"),
    ("$TTL 60\na.example. A 192.0.2.1\n\nb.example. BOGUS 1\n", 4, "unknown type"),
    ("$TTL 60\na.example. MX (10\n\n mail.example. extra)\n", 4, "unexpected 'extra'"),
    ("$TTL 60\na.example. SOA ( ns.example. h.example.\n 1 2 3\n  x 5 )\n", 4, "expire"),
    ("$TTL 60\n\na.example. TXT \"open\n", 3, "unterminated"),
    ("$TTL 60\n\na.example. A ( 192.0.2.1\n\n", 3, "not closed"),
    ("$TTL 60\na.example. A 192.0.2.1 )\n", 2, "without '('"),
    ("$TTL 60\n  A 192.0.2.1\n", 2, "no owner"),
    ("a.example. A 192.0.2.1\n", 1, "no TTL"),
    ("$TTL 60\nwww A 192.0.2.1\n", 2, "relative name 'www' and no origin"),
    ("$TTL 60\n@ A 192.0.2.1\n", 2, "'@' and no origin"),
    ("$TTL 60\n$BOGUS x\n", 2, "unknown directive"),
    ("$TTL 60\n$ORIGIN\n", 2, "takes one name"),
    ("$TTL 60\n\n$INCLUDE /nonexistent/zone.inc\n", 3, "cannot read"),
    ("$ORIGIN e.\n$TTL 60\n$GENERATE 5-1 h$ A 192.0.2.$\n", 3, "range"),
    ("$ORIGIN e.\n$TTL 60\n$GENERATE 1-2 h${x} A 192.0.2.$\n", 3, "modifier"),
    ("$ORIGIN e.\n$TTL 60\n$GENERATE 1-2 h$\n", 3, "$GENERATE takes"),
    ("$TTL 60\na.example. TYPE65534 \\# 3 abcd\n", 2, "length says 3"),
    ("$TTL 60\na.example. TYPE65534 \\# 2 zzzz\n", 2, "hexadecimal"),
    ("$TTL 60\na.example. TYPE65534 abcd\n", 2, "RFC 3597"),
    ("$TTL 60\na.example. MX \\# 2 0001\n", 2, "generic data"),
    ("$TTL 60\na.example. MX 70000 mx.example.\n", 2, "16 bits"),
    ("$TTL 60\na.example. TXT \"\\999\"\n", 2, "escape"),
    ("$TTL 60\na.example. DNSKEY 256 3 13 !!!!\n", 2, "base64"),
    ("$TTL 60\na.example. RRSIG A 13 2 60 2030x 20240101000000 1 e. AAAA\n", 2, "expiration"),
    ("$TTL 60\na.example. NSEC n.example. A BOGUS\n", 2, "unknown type"),
    ("$TTL 60\na.example.\n", 2, "missing type"),
    ("$TTL 60\na.example. A\n", 2, "missing data"),
    ("$TTL 60\nx" + "a" * 64 + ".example. A 192.0.2.1\n", 2, "bad name"),
    ("$TTL 60\na.example. TXT \"" + "x" * 256 + "\"\n", 2, "255"),
    ("$TTL 60\n\na.example. SVCB 1 . port=53 port=54\n", 3, "given twice"),
    ("$TTL 60\na.example. SVCB 1 . bogus=1\n", 2, "unknown SVCB parameter key 'bogus'"),
    ("$TTL 60\na.example. SVCB 1 . key01=x\n", 2, "unknown SVCB parameter key"),
    ("$TTL 60\na.example. SVCB 1 . key65536=x\n", 2, "unknown SVCB parameter key"),
    ("$TTL 60\na.example. SVCB 1 . port=x\n", 2, "bad SVCB port"),
    ("$TTL 60\na.example. SVCB 1 . port=65536\n", 2, "bad SVCB port"),
    ("$TTL 60\na.example. SVCB 1 . alpn\n", 2, "needs a value"),
    ("$TTL 60\na.example. SVCB 1 . alpn=h2,,h3\n", 2, "1 to 255"),
    ("$TTL 60\na.example. SVCB 1 . alpn=h2\\\\x\n", 2, "bad escape"),
    ("$TTL 60\na.example. SVCB 1 . no-default-alpn\n", 2, "without alpn"),
    ("$TTL 60\na.example. SVCB 1 . alpn=h2 no-default-alpn=x\n", 2, "takes no value"),
    ("$TTL 60\na.example. SVCB 1 . mandatory=port\n", 2, "mandatory key 3"),
    ("$TTL 60\na.example. SVCB 1 . mandatory=mandatory\n", 2, "mandatory key 0"),
    ("$TTL 60\na.example. SVCB 1 . ipv4hint=192.0.2.1,::1\n", 2, "bad address"),
    ("$TTL 60\na.example. SVCB 1 . ipv6hint=192.0.2.1\n", 2, "bad address"),
    ("$TTL 60\na.example. SVCB 1 . ech=!!\n", 2, "base64"),
    ("$TTL 60\na.example. SVCB 0 . port=53\n", 2, "AliasMode"),
    ("$TTL 60\na.example. SVCB 1 . \"port=53\"\n", 2, "not key=value"),
    ("$TTL 60\na.example. SVCB 1 . key3=\\001\n", 2, "bad key3 value"),
    ("$TTL 60\na.example. TSIG hmac-sha256. 1 300 2 AAAA 1 NOERROR 0\n", 2, "MAC is 3 bytes"),
    ("$TTL 60\na.example. TSIG hmac-sha256. 1 300 0 \"\" 1 BOGUS 0\n", 2, "bad TSIG error"),
    ("$TTL 60\na.example. TSIG hmac-sha256. 281474976710656 3 0 \"\" 1 0 0\n", 2, "48 bits"),
    ("$TTL 60\na.example. TSIG hmac-sha256. 1 3 0 \"\" 1 0 2 AAAA\n", 2, "other data is 3"),
]


@pytest.mark.parametrize(("text", "line", "what"), ERRORS)
def test_errors(text: str, line: int, what: str) -> None:
    with pytest.raises(ZoneFileError) as info:
        parse_zone(text, filename="z.zone")
    assert info.value.line == line, str(info.value)
    assert what in str(info.value)
    assert str(info.value).startswith(f"z.zone:{line}: ")
    assert isinstance(info.value, ValueError)


def test_include_errors_name_the_included_file(tmp_path: Path) -> None:
    (tmp_path / "bad.inc").write_text("; fine\nok A 192.0.2.1\nbad A 192.0.2\n")
    (tmp_path / "main.zone").write_text("$ORIGIN e.\n$TTL 60\n$INCLUDE bad.inc\n")
    with pytest.raises(ZoneFileError) as info:
        load_zone(tmp_path / "main.zone")
    assert info.value.filename == str(tmp_path / "bad.inc")
    assert info.value.line == 3


def test_include_depth_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "loop.inc").write_text("$INCLUDE loop.inc\n")
    with pytest.raises(ZoneFileError, match=f"deeper than {MAX_INCLUDE_DEPTH}") as info:
        load_zone(tmp_path / "loop.inc", "e.")
    assert info.value.line == 1


def test_load_zone_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ZoneFileError, match="cannot read"):
        load_zone(tmp_path / "absent.zone")
